"""PASSWORDLESS_LOGIN must not reach production unnoticed: `check --deploy` warns, a server
logs it once at start, and `changepassword` (the advice given) gives an account a password."""

from __future__ import annotations

import pytest
from django.contrib.auth.management.commands import changepassword
from django.core.management import call_command

from accounts.services import user_create, user_login
from tests.flowviz.test_deploy_settings import _production_env, _run

WARNING_TEXT = "PASSWORDLESS_LOGIN is on: every account without a password logs in by its email alone."


def test_check_deploy_warns_when_passwordless_login_is_on():
    env = {**_production_env(), "PASSWORDLESS_LOGIN": "true"}
    result = _run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], env)
    assert result.returncode != 0
    assert "(accounts.W001) " + WARNING_TEXT in result.stderr


def test_check_deploy_is_silent_about_it_when_passwordless_login_is_off():
    result = _run(["manage.py", "check", "--deploy"], {**_production_env(), "PASSWORDLESS_LOGIN": "false"})
    assert result.returncode == 0, result.stderr
    assert "accounts.W001" not in result.stdout + result.stderr


@pytest.mark.parametrize("entry_point", ["flowviz.asgi", "flowviz.wsgi"])
def test_a_server_process_logs_the_warning_once_at_start(entry_point):
    env = {**_production_env(), "PASSWORDLESS_LOGIN": "true", "LOG_FORMAT": "text"}
    result = _run(["-c", f"import {entry_point}, {entry_point}"], env)
    assert result.returncode == 0, result.stderr
    assert result.stderr.count(WARNING_TEXT) == 1
    assert " WARNING accounts " in result.stderr


def test_a_server_process_says_nothing_when_passwordless_login_is_off():
    result = _run(["-c", "import flowviz.asgi"], {**_production_env(), "PASSWORDLESS_LOGIN": "false"})
    assert result.returncode == 0, result.stderr
    assert "PASSWORDLESS_LOGIN" not in result.stderr


@pytest.mark.django_db
def test_changepassword_gives_an_account_without_a_password_one(monkeypatch, settings):
    settings.PASSWORDLESS_LOGIN = False
    user_create(email="legacy@example.com", role="OPERATOR")
    monkeypatch.setattr(changepassword.Command, "_get_pass", lambda self, prompt="": "a-new-long-pass-4471")
    call_command("changepassword", "legacy@example.com", stdout=None)
    assert user_login(email="legacy@example.com", password="a-new-long-pass-4471").user.has_password
