"""POST /api/login: bcrypt through Django's hashers, passwordless demo mode, JWT, one 401 body."""

from __future__ import annotations

import bcrypt
import jwt
import pytest
from django.conf import settings as django_settings
from django.test import Client

from accounts import services
from accounts.models import User
from accounts.roles import Role
from tests.api_support import error_body, post_json

PASSWORD = "correct horse battery staple"


@pytest.fixture
def member(db) -> User:
    return User.objects.create_user("member@flowviz.com", PASSWORD, full_name="Mia Member", role=Role.MANAGER)


def login(body, **extra):
    return post_json(Client(), "/api/login", body, **extra)


def test_login_with_the_right_password_returns_the_user_and_a_token(member):
    response = login({"email": "member@flowviz.com", "password": PASSWORD})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"user", "token"}
    assert body["user"]["id"] == str(member.pk)
    assert body["user"]["role"] == "MANAGER"


def test_user_shape_has_exactly_the_six_contract_keys(member):
    user = login({"email": "member@flowviz.com", "password": PASSWORD}).json()["user"]
    assert set(user) == {"id", "email", "full_name", "role", "created_at", "last_login"}
    assert user["created_at"].endswith("Z") and user["last_login"].endswith("Z")


def test_login_stamps_last_login_in_the_database(member):
    assert member.last_login is None
    answered = login({"email": "member@flowviz.com", "password": PASSWORD}).json()["user"]["last_login"]
    member.refresh_from_db()
    assert member.last_login is not None
    assert answered.startswith(member.last_login.strftime("%Y-%m-%dT%H:%M:%S"))


def test_login_finds_the_email_whatever_its_case(member):
    assert login({"email": "  MEMBER@FlowViz.com ", "password": PASSWORD}).status_code == 200


def test_login_token_is_a_jwt_with_sub_role_iat_and_exp(member):
    token = login({"email": "member@flowviz.com", "password": PASSWORD}).json()["token"]
    claims = jwt.decode(token, django_settings.JWT_SECRET, algorithms=["HS256"])
    assert claims["sub"] == str(member.pk)
    assert claims["role"] == "MANAGER"
    assert claims["exp"] - claims["iat"] == django_settings.JWT_EXPIRE_MINUTES * 60


def test_login_stores_the_login_time(member):
    assert member.last_login is None
    login({"email": "member@flowviz.com", "password": PASSWORD})
    member.refresh_from_db()
    assert member.last_login is not None


def test_login_email_is_case_insensitive(member):
    assert login({"email": "Member@FlowViz.com", "password": PASSWORD}).status_code == 200


def test_wrong_password_is_401_invalid_credentials(member):
    response = login({"email": "member@flowviz.com", "password": "wrong"})
    assert response.status_code == 401
    assert response.json() == error_body("Invalid credentials")


def test_missing_password_for_an_account_with_one_is_401(member, settings):
    settings.PASSWORDLESS_LOGIN = True
    response = login({"email": "member@flowviz.com"})
    assert response.status_code == 401
    assert response.json() == error_body("Invalid credentials")


def test_unknown_email_gets_the_same_401_body(db):
    response = login({"email": "nobody@flowviz.com", "password": "whatever"})
    assert response.status_code == 401
    assert response.json() == error_body("Invalid credentials")


def test_inactive_account_gets_the_same_401_body(member):
    member.is_active = False
    member.save()
    response = login({"email": "member@flowviz.com", "password": PASSWORD})
    assert response.status_code == 401
    assert response.json() == error_body("Invalid credentials")


def test_unknown_email_still_spends_a_password_check(db, monkeypatch):
    checks = []
    real_check = services.check_password

    def counting_check(password, encoded, *args, **kwargs):
        checks.append(encoded)
        return real_check(password, encoded, *args, **kwargs)

    monkeypatch.setattr(services, "check_password", counting_check)
    login({"email": "nobody@flowviz.com", "password": "whatever"})
    assert len(checks) == 1
    assert checks[0].startswith("bcrypt_sha256$")


def test_passwordless_account_logs_in_by_email_when_the_setting_is_on(demo, settings):
    settings.PASSWORDLESS_LOGIN = True
    response = login({"email": "operator@flowviz.com"})
    assert response.status_code == 200
    assert response.json()["user"]["id"] == "00000000-0000-0000-0000-000000000002"


def test_passwordless_account_is_refused_when_the_setting_is_off(demo, settings):
    settings.PASSWORDLESS_LOGIN = False
    response = login({"email": "operator@flowviz.com"})
    assert response.status_code == 401
    assert response.json() == error_body("Invalid credentials")


def _legacy_user(password: bytes) -> User:
    user = User.objects.create_user("legacy@flowviz.com", role=Role.OPERATOR)
    # How a legacy `$2b$` hash from auth.users.encrypted_password is carried over.
    user.password = "bcrypt$" + bcrypt.hashpw(password, bcrypt.gensalt(rounds=4)).decode()
    user.save()
    return user


def test_legacy_bcrypt_hash_verifies_and_is_upgraded_on_login(db):
    user = _legacy_user(b"legacy-secret")
    response = login({"email": "legacy@flowviz.com", "password": "legacy-secret"})
    assert response.status_code == 200
    user.refresh_from_db()
    assert user.password.startswith("bcrypt_sha256$")
    assert user.check_password("legacy-secret")


def test_password_over_72_bytes_against_a_legacy_hash_is_401_not_500(db):
    _legacy_user(b"legacy-secret")
    response = login({"email": "legacy@flowviz.com", "password": "x" * 100})
    assert response.status_code == 401
    assert response.json() == error_body("Invalid credentials")


def test_password_over_72_bytes_works_with_the_sha256_hasher(db):
    long_password = "é" * 80  # 160 bytes in UTF-8
    User.objects.create_user("long@flowviz.com", long_password)
    assert login({"email": "long@flowviz.com", "password": long_password}).status_code == 200
    assert login({"email": "long@flowviz.com", "password": long_password[:-1]}).status_code == 401


def test_malformed_email_is_422_naming_email(db):
    response = login({"email": "not-an-email", "password": "x"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "payload", "email"]


def test_missing_email_is_422(db):
    response = login({"password": "x"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "payload", "email"]


def test_unknown_field_in_login_is_422(db):
    response = login({"email": "a@b.co", "password": "x", "is_superuser": True})
    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] == "extra_forbidden"


@pytest.mark.parametrize("body", ["{not json", "[1, 2]", '"a string"', "null", "12"])
def test_login_body_that_is_not_a_json_object_is_4xx_with_detail(db, body):
    response = login(body)
    assert 400 <= response.status_code < 500
    assert "detail" in response.json()


def test_huge_password_is_422_before_any_hashing(member):
    response = login({"email": "member@flowviz.com", "password": "p" * 100_000})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "payload", "password"]


def test_wrong_type_for_email_is_422(db):
    assert login({"email": 42}).status_code == 422
