"""The role matrix of the eleven Flow Editor endpoints (contract section 10)."""

from __future__ import annotations

import itertools
import json
import uuid
from collections.abc import Callable

import pytest
from django.test import Client

from accounts.roles import Role
from flowviz.production import services
from tests.api_support import bearer, demo_user, error_body
from tests.flowviz.production.flow_support import FLOW_NAME, flow_published, flow_with_draft, line_graph

ALL = set(Role.values)
EDITORS = {"ADMIN", "MANAGER", "OPERATOR"}
PUBLISHERS = {"ADMIN", "MANAGER"}


def _forkable() -> uuid.UUID:
    """A flow with a published version 1 and no draft (its draft 2 archived)."""
    flow_id = flow_published()
    services.flow_version_archive(flow_id=flow_id, version_num=2)
    return flow_id


# name → (method, path for a flow id, body, how the flow is made, roles allowed, success status)
ENDPOINTS: dict[str, tuple[str, str, object, Callable[[], uuid.UUID], set[str], int]] = {
    "list": ("get", "/api/flows", None, flow_with_draft, ALL, 200),
    "create": ("post", "/api/flows", {"name": FLOW_NAME}, flow_with_draft, EDITORS, 201),
    "detail": ("get", "/api/flows/{id}", None, flow_with_draft, ALL, 200),
    "delete": ("delete", "/api/flows/{id}", None, flow_with_draft, PUBLISHERS, 204),
    "versions": ("get", "/api/flows/{id}/versions", None, flow_with_draft, ALL, 200),
    "version": ("get", "/api/flows/{id}/versions/1", None, flow_with_draft, ALL, 200),
    "draft": ("get", "/api/flows/{id}/versions/latest/draft", None, flow_with_draft, ALL, 200),
    "update": (
        "put",
        "/api/flows/{id}/versions/1",
        {"graph_schema": line_graph()},
        flow_with_draft,
        EDITORS,
        200,
    ),
    "publish": ("post", "/api/flows/{id}/versions/1/publish", None, flow_with_draft, PUBLISHERS, 200),
    "fork": ("post", "/api/flows/{id}/versions/1/fork", None, _forkable, EDITORS, 201),
    "archive": ("post", "/api/flows/{id}/versions/1/archive", None, flow_with_draft, PUBLISHERS, 200),
}


def call(name: str, headers: dict[str, str]):
    method, path, body, make_flow, _, _ = ENDPOINTS[name]
    url = path.format(id=make_flow())
    if body is None:
        return getattr(Client(), method)(url, **headers)
    return getattr(Client(), method)(url, json.dumps(body), content_type="application/json", **headers)


def test_the_matrix_covers_the_eleven_endpoints():
    assert len(ENDPOINTS) == 11


@pytest.mark.parametrize(("endpoint", "role"), list(itertools.product(sorted(ENDPOINTS), Role.values)))
def test_role_matrix(demo, endpoint, role):
    allowed, success = ENDPOINTS[endpoint][4], ENDPOINTS[endpoint][5]
    response = call(endpoint, bearer(demo_user(role)))
    if role in allowed:
        assert response.status_code == success, response.content
    else:
        assert response.status_code == 403
        message = "Requires one of: " + ", ".join(r for r in Role.values if r in allowed)
        assert response.json() == error_body(message)


@pytest.mark.parametrize("endpoint", sorted(ENDPOINTS))
def test_no_token_is_401(demo, endpoint):
    response = call(endpoint, {})
    assert response.status_code == 401
    assert response.json() == error_body("Not authenticated")
    assert response["WWW-Authenticate"] == "Bearer"
