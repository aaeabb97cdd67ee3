"""The contract's role matrix and every way a bearer token can be bad."""

from __future__ import annotations

import base64
import itertools
import json
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from django.conf import settings as django_settings
from django.test import Client

from accounts.models import User
from accounts.roles import Role
from accounts.tokens import token_issue
from tests.api_support import bearer, demo_user, error_body

FG_ID = "33333333-3333-3333-3333-333333333301"
ALL = set(Role.values)
_codes = itertools.count()


def _new_lot_body():
    return {"lot_code": f"MATRIX-{next(_codes)}"}


def _parents_body():
    return {"parents": [{"lot_code": f"MATRIX-PARENT-{next(_codes)}"}]}


# (method, path, body factory, roles allowed) — the contract, sections 3-6.
ENDPOINTS = {
    "lots_list": ("get", "/api/lots", None, ALL),
    "lot_detail": ("get", "/api/lots/MIX-BATCH-88", None, ALL),
    "lot_create": ("post", "/api/lots", _new_lot_body, {"ADMIN", "MANAGER", "OPERATOR"}),
    "lot_parents": ("post", "/api/lots/FG-DONER-X1/parents", _parents_body, {"ADMIN", "MANAGER", "OPERATOR"}),
    "qc_create": (
        "post",
        "/api/qc-decisions",
        lambda: {"lot_id": FG_ID, "decision": "PASS"},
        {"ADMIN", "MANAGER", "AUDITOR", "OPERATOR"},
    ),
    "qc_list": ("get", "/api/lots/MIX-BATCH-88/qc-decisions", None, ALL),
    "traceability": ("get", "/api/traceability/MIX-BATCH-88", None, ALL),
}


def call(name: str, headers: dict[str, str]):
    method, path, body, _ = ENDPOINTS[name]
    client = Client()
    if method == "get":
        return client.get(path, **headers)
    return client.post(path, json.dumps(body()), content_type="application/json", **headers)


def _required_message(allowed: set[str]) -> str:
    return "Requires one of: " + ", ".join(r for r in Role.values if r in allowed)


@pytest.mark.parametrize(("endpoint", "role"), list(itertools.product(sorted(ENDPOINTS), Role.values)))
def test_role_matrix(demo, endpoint, role):
    allowed = ENDPOINTS[endpoint][3]
    response = call(endpoint, bearer(demo_user(role)))
    if role in allowed:
        # Allowed through auth; the parents call may still fail on its made-up parent (422).
        assert response.status_code in (200, 201, 422), response.content
        if response.status_code == 422:
            assert endpoint == "lot_parents"
    else:
        assert response.status_code == 403
        assert response.json() == error_body(_required_message(allowed))


def _assert_not_authenticated(response) -> None:
    assert response.status_code == 401
    assert response.json() == error_body("Not authenticated")
    assert response["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize("endpoint", sorted(ENDPOINTS))
def test_no_token_is_401_with_www_authenticate(demo, endpoint):
    _assert_not_authenticated(call(endpoint, {}))


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _claims(user: User, **changes) -> dict:
    now = datetime.now(UTC)
    claims = {
        "sub": str(user.pk),
        "role": user.role,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=5)).timestamp()),
    }
    claims.update(changes)
    return claims


BAD_TOKENS = {
    "garbage": lambda user: "not-a-jwt",
    "empty_segments": lambda user: "..",
    "expired": lambda user: token_issue(
        user_id=str(user.pk), role=user.role, now=datetime.now(UTC) - timedelta(hours=2)
    ),
    "other_key": lambda user: jwt.encode(_claims(user), "another-key-" * 4, algorithm="HS256"),
    "alg_none": lambda user: f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(_claims(user))}.",
    "other_algorithm": lambda user: jwt.encode(_claims(user), django_settings.JWT_SECRET, algorithm="HS512"),
    "no_exp": lambda user: jwt.encode(
        {k: v for k, v in _claims(user).items() if k != "exp"}, django_settings.JWT_SECRET, algorithm="HS256"
    ),
    "sub_not_a_uuid": lambda user: jwt.encode(
        _claims(user, sub="admin"), django_settings.JWT_SECRET, algorithm="HS256"
    ),
}


@pytest.mark.parametrize("kind", sorted(BAD_TOKENS))
def test_bad_token_is_401(demo, kind):
    token = BAD_TOKENS[kind](demo_user(Role.ADMIN))
    _assert_not_authenticated(call("lots_list", {"HTTP_AUTHORIZATION": f"Bearer {token}"}))


def test_a_token_accepted_before_is_refused_once_it_expires(demo, monkeypatch):
    user = demo_user(Role.ADMIN)
    token = jwt.encode(_claims(user), django_settings.JWT_SECRET, algorithm="HS256")
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    assert call("lots_list", headers).status_code == 200
    later = datetime.now(UTC) + timedelta(minutes=6)
    monkeypatch.setattr("accounts.tokens.time.time", later.timestamp)
    _assert_not_authenticated(call("lots_list", headers))


def test_a_token_accepted_before_is_refused_once_the_secret_changes(demo, settings):
    headers = bearer(demo_user(Role.ADMIN))
    assert call("lots_list", headers).status_code == 200
    settings.JWT_SECRET = "a-rotated-secret-" * 4
    _assert_not_authenticated(call("lots_list", headers))


def test_non_bearer_authorization_scheme_is_401(demo):
    _assert_not_authenticated(call("lots_list", {"HTTP_AUTHORIZATION": "Basic YWRtaW46YWRtaW4="}))


def test_token_of_a_deleted_user_is_401(demo):
    user = User.objects.create_user("gone@flowviz.com", role=Role.ADMIN)
    headers = bearer(user)
    user.delete()
    _assert_not_authenticated(call("lots_list", headers))


def test_token_of_a_deactivated_user_is_401(demo):
    user = demo_user(Role.OPERATOR)
    headers = bearer(user)
    user.is_active = False
    user.save()
    _assert_not_authenticated(call("lots_list", headers))


def test_user_demoted_after_the_token_was_issued_loses_write_access_at_once(demo):
    user = demo_user(Role.OPERATOR)
    headers = bearer(user)
    assert call("lot_create", headers).status_code == 201
    user.role = Role.VIEWER
    user.save()
    response = call("lot_create", headers)
    assert response.status_code == 403
    assert response.json() == error_body("Requires one of: ADMIN, MANAGER, OPERATOR")


def test_role_claim_in_the_token_is_not_trusted(demo):
    viewer = demo_user(Role.VIEWER)
    forged_role = jwt.encode(_claims(viewer, role="ADMIN"), django_settings.JWT_SECRET, algorithm="HS256")
    response = call("lot_create", {"HTTP_AUTHORIZATION": f"Bearer {forged_role}"})
    assert response.status_code == 403


def test_health_needs_no_token():
    assert Client().get("/api/health").status_code == 200
