"""The browser session (contract, "browser session"): the login's cookie authenticates requests
sent without an Authorization header; a write authenticated by it alone must come from the site.
"""

from __future__ import annotations

import json

import pytest
from django.test import Client

from accounts.roles import Role
from lots.models import Lot
from tests.api_support import DEMO_EMAILS, bearer, demo_user, error_body, post_json

COOKIE = "flowviz_token"
SITE = "http://testserver"  # the test client's own scheme and host
FRONTEND = "https://frontend.example"
CROSS_SITE = error_body("Cross-site request refused")


@pytest.fixture
def passwordless(demo, settings):
    settings.PASSWORDLESS_LOGIN = True
    settings.THROTTLE_ENABLED = False


def _logged_in(role: str = Role.OPERATOR) -> Client:
    client = Client()
    response = post_json(client, "/api/login", {"email": DEMO_EMAILS[role]})
    assert response.status_code == 200
    return client


def _create_lot(client: Client, lot_code: str, **headers: str):
    return client.post(
        "/api/lots", json.dumps({"lot_code": lot_code}), content_type="application/json", **headers
    )


def test_login_sets_the_token_as_a_cookie_with_every_attribute(passwordless, settings):
    settings.AUTH_COOKIE_SECURE = True
    response = post_json(Client(), "/api/login", {"email": DEMO_EMAILS[Role.OPERATOR]})
    cookie = response.cookies[COOKIE]
    assert cookie.value == response.json()["token"]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Strict"
    assert cookie["path"] == "/api"
    assert cookie["secure"] is True
    assert cookie["max-age"] == settings.JWT_EXPIRE_MINUTES * 60


def test_a_cookie_only_get_is_authenticated(passwordless):
    response = _logged_in(Role.VIEWER).get("/api/traceability/MIX-BATCH-88")
    assert response.status_code == 200
    assert response.json()["central"]["lot_code"] == "MIX-BATCH-88"


def test_a_cookie_only_post_from_the_site_itself_is_201(passwordless):
    response = _create_lot(_logged_in(), "COOKIE-1", HTTP_ORIGIN=SITE)
    assert response.status_code == 201
    assert Lot.objects.filter(lot_code="COOKIE-1").exists()


def test_a_cookie_only_post_with_the_site_as_referer_and_no_origin_is_201(passwordless):
    response = _create_lot(_logged_in(), "COOKIE-2", HTTP_REFERER=f"{SITE}/register-lot?x=1")
    assert response.status_code == 201


def test_a_cookie_only_post_from_an_allowed_origin_is_201(passwordless, settings):
    settings.CORS_ALLOWED_ORIGINS = [FRONTEND]
    response = _create_lot(_logged_in(), "COOKIE-3", HTTP_ORIGIN=FRONTEND)
    assert response.status_code == 201


@pytest.mark.parametrize(
    "headers",
    [
        {"HTTP_ORIGIN": "https://evil.example"},
        {"HTTP_ORIGIN": "null"},
        {"HTTP_ORIGIN": "https://testserver"},  # same host, other scheme
        {"HTTP_REFERER": "https://evil.example/page"},
        {},
    ],
    ids=["foreign_origin", "null_origin", "other_scheme", "foreign_referer", "neither"],
)
def test_a_cookie_only_post_not_from_the_site_is_403_and_writes_nothing(passwordless, headers):
    response = _create_lot(_logged_in(), "CROSS-1", **headers)
    assert response.status_code == 403
    assert response.json() == CROSS_SITE
    assert not Lot.objects.filter(lot_code="CROSS-1").exists()


def test_a_foreign_origin_is_refused_even_when_the_referer_is_the_site(passwordless):
    response = _create_lot(_logged_in(), "CROSS-2", HTTP_ORIGIN="https://evil.example", HTTP_REFERER=SITE)
    assert response.status_code == 403


def test_a_bearer_post_needs_no_origin(demo):
    response = _create_lot(Client(), "BEARER-1", **bearer(demo_user(Role.OPERATOR)))
    assert response.status_code == 201


def test_an_authorization_header_wins_over_the_cookie(passwordless):
    client = _logged_in(Role.ADMIN)
    response = client.get("/api/lots", HTTP_AUTHORIZATION="Bearer not-a-jwt")
    assert response.status_code == 401


def test_logout_clears_the_cookie(passwordless):
    client = _logged_in()
    response = client.post("/api/logout", HTTP_ORIGIN=SITE)
    assert response.status_code == 204
    assert response.content == b""
    cleared = response.cookies[COOKIE]
    assert cleared.value == ""
    assert cleared["max-age"] == 0
    assert cleared["path"] == "/api"
    assert client.get("/api/lots").status_code == 401


def test_a_deactivated_users_cookie_is_401(passwordless):
    client = _logged_in()
    user = demo_user(Role.OPERATOR)
    user.is_active = False
    user.save()
    response = client.get("/api/lots")
    assert response.status_code == 401
    assert response.json() == error_body("Not authenticated")


def test_a_demoted_users_cookie_loses_write_access_at_once(passwordless):
    client = _logged_in()
    user = demo_user(Role.OPERATOR)
    user.role = Role.VIEWER
    user.save()
    response = _create_lot(client, "DEMOTED-1", HTTP_ORIGIN=SITE)
    assert response.status_code == 403
    assert response.json() == error_body("Requires one of: ADMIN, MANAGER, OPERATOR")


def test_with_auth_cookie_off_login_sets_no_cookie(passwordless, settings):
    settings.AUTH_COOKIE = False
    response = post_json(Client(), "/api/login", {"email": DEMO_EMAILS[Role.OPERATOR]})
    assert response.status_code == 200
    assert COOKIE not in response.cookies


def test_with_auth_cookie_off_the_cookie_is_ignored(passwordless, settings):
    client = _logged_in()
    settings.AUTH_COOKIE = False
    assert client.get("/api/lots").status_code == 401


def _flow_write(client: Client, method: str, flow_id, **headers: str):
    if method == "put":
        body = json.dumps({"graph_schema": {"nodes": [], "edges": []}})
        return client.put(
            f"/api/flows/{flow_id}/versions/1", body, content_type="application/json", **headers
        )
    return client.delete(f"/api/flows/{flow_id}", **headers)


@pytest.mark.parametrize("method", ["put", "delete"])
def test_every_write_method_with_the_cookie_alone_needs_the_sites_origin(passwordless, method):
    from flowviz.production.models import FlowDefinition
    from tests.flowviz.production.flow_support import flow_with_draft

    flow_id = flow_with_draft()
    client = _logged_in(Role.MANAGER)
    refused = _flow_write(client, method, flow_id, HTTP_ORIGIN="https://evil.example")
    assert (refused.status_code, refused.json()) == (403, CROSS_SITE)
    assert FlowDefinition.objects.get(pk=flow_id).versions.get().graph_schema["nodes"]
    allowed = _flow_write(client, method, flow_id, HTTP_ORIGIN=SITE)
    assert allowed.status_code == {"put": 200, "delete": 204}[method]
