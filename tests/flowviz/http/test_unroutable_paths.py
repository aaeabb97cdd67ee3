"""Paths and queries that must reach nothing (issue 14, items 10, 11 and 12): a NUL character
and an encoded slash in a path are a JSON 404, a NUL in a query an empty result, never a 500
and never another resource. Sent over ASGI as uvicorn sends them (with the raw path)."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from accounts.roles import Role
from accounts.tokens import token_issue
from flowviz.demo.seed import demo_seed
from lots.models import Lot
from tests.api_support import asgi_request, bearer, demo_user, error_body

NOT_FOUND = error_body("Not Found")


def _asgi(raw_path: str, *, query: str = "", method: str = "GET", token: str | None = None):
    """One request through flowviz.asgi as uvicorn makes it: `path` decoded, `raw_path` as sent."""
    headers = {"Authorization": f"Bearer {token}"} if token is not None else None
    status, response_headers, body = asgi_request(raw_path, method=method, query=query, headers=headers)
    return status, response_headers.get("content-type", ""), body


@pytest.fixture
def viewer_token(transactional_db) -> str:
    demo_seed()
    user = demo_user(Role.ADMIN)
    return token_issue(user_id=str(user.pk), role=user.role)


@pytest.mark.parametrize(
    "raw_path",
    [
        "/api/lots/a%00b",
        "/api/lots/%00",
        "/api/traceability/MIX%00",
        "/api/traceability/MIX%00/graph",
        "/api/recall/MIX%00",
        "/api/lots/MIX%00/qc-decisions",
        "/api/jobs/%00",
        "/api/flows/%00",
    ],
)
def test_a_nul_character_in_a_path_is_a_json_404(viewer_token, raw_path):
    status, content_type, body = _asgi(raw_path, token=viewer_token)
    assert (status, json.loads(body)) == (404, NOT_FOUND)
    assert content_type.startswith("application/json")


def test_a_nul_character_in_the_lot_list_query_is_an_empty_list(viewer_token):
    status, _, body = _asgi("/api/lots", query="q=%00", token=viewer_token)
    assert (status, json.loads(body)) == (200, [])


def test_a_nul_character_in_another_query_parameter_is_a_4xx_not_a_500(viewer_token):
    for raw_path, query in [
        ("/api/traceability/MIX-BATCH-88/graph", "direction=%00"),
        ("/api/recall/MIX-BATCH-88", "format=%00"),
        ("/api/lots", "lot_type=%00"),
    ]:
        status, _, body = _asgi(raw_path, query=query, token=viewer_token)
        assert status == 422, (raw_path, query, body)


def test_an_encoded_slash_never_reaches_another_resource(viewer_token):
    # Decoded, this is /api/traceability/MIX-BATCH-88/graph: lot MIX-BATCH-88's graph.
    status, content_type, body = _asgi("/api/traceability/MIX-BATCH-88%2Fgraph", token=viewer_token)
    assert (status, json.loads(body)) == (404, NOT_FOUND)
    assert content_type.startswith("application/json")
    status, _, _ = _asgi("/api/traceability/MIX-BATCH-88%2fgraph", token=viewer_token)
    assert status == 404


@pytest.mark.parametrize(
    ("raw_path", "method"),
    [("/api/lots/a%2Fb", "GET"), ("/api/nope", "GET"), ("/api/lots/X", "DELETE"), ("/api/login", "GET")],
)
def test_unknown_paths_and_wrong_methods_are_json_over_asgi_too(viewer_token, raw_path, method):
    status, content_type, body = _asgi(raw_path, method=method, token=viewer_token)
    assert status in (404, 405)
    assert content_type.startswith("application/json")
    assert set(json.loads(body)) == {"detail", "error"}


@pytest.mark.django_db
def test_a_new_lot_code_with_a_slash_is_422(demo):
    response = Client().post(
        "/api/lots",
        json.dumps({"lot_code": "Z/graph"}),
        content_type="application/json",
        **bearer(demo_user(Role.ADMIN)),
    )
    assert response.status_code == 422
    assert response.json()["error"].startswith("lot_code:")
    assert not Lot.objects.filter(lot_code="Z/graph").exists()


def test_an_adopted_lot_code_with_a_slash_is_listed_by_the_q_query(viewer_token):
    # The legacy server accepted such codes; an adopted database may hold them.
    Lot.objects.bulk_create([Lot(lot_code="LEGACY/7")])
    status, _, body = _asgi("/api/lots", query="q=LEGACY%2F7", token=viewer_token)
    assert status == 200
    assert [lot["lot_code"] for lot in json.loads(body)] == ["LEGACY/7"]
