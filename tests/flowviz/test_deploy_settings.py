"""Production settings: `check --deploy` is clean with docker/.env.example, and dev still works."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys

import pytest
from django.test import Client, override_settings

from tests.flowviz.deploy_files import ROOT, compose, env_example, interpolate


def _production_env() -> dict[str, str]:
    """What an app container gets: docker/.env.example (secrets filled in) + the compose env."""
    values = env_example()
    values["SECRET_KEY"] = secrets.token_urlsafe(64)
    values["POSTGRES_PASSWORD"] = secrets.token_hex(24)
    app_env = compose()["services"]["api"]["environment"]
    env = {**values, **{key: interpolate(str(value), values) for key, value in app_env.items()}}
    env.pop("PROMETHEUS_MULTIPROC_DIR")  # a tmpfs in the container; not needed to run checks
    return env


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    # DATABASE_URL: this run's server (without it flowviz.settings would start the embedded one).
    base = {key: os.environ[key] for key in ("PATH", "HOME", "LANG", "DATABASE_URL") if key in os.environ}
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env={**base, "DJANGO_SETTINGS_MODULE": "flowviz.settings", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def _settings_of(env: dict[str, str], *names: str) -> dict:
    code = (
        "import json, django; django.setup(); from django.conf import settings; "
        f"print(json.dumps({{n: getattr(settings, n, None) for n in {list(names)!r}}}, default=str))"
    )
    result = _run(["-c", code], env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_check_deploy_has_no_warnings_with_the_production_env_of_env_example():
    result = _run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], _production_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_flags_a_production_env_without_https_redirect():
    env = {**_production_env(), "SECURE_SSL_REDIRECT": "false"}
    result = _run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], env)
    assert result.returncode != 0
    assert "security.W008" in result.stdout + result.stderr


def test_production_env_trusts_the_proxy_for_https_and_secures_cookies():
    values = _settings_of(
        _production_env(),
        "SECURE_PROXY_SSL_HEADER",
        "SECURE_SSL_REDIRECT",
        "SECURE_HSTS_SECONDS",
        "SESSION_COOKIE_SECURE",
        "CSRF_COOKIE_SECURE",
        "SECURE_CONTENT_TYPE_NOSNIFF",
        "X_FRAME_OPTIONS",
        "ALLOWED_HOSTS",
        "CORS_ALLOWED_ORIGINS",
        "LOG_FORMAT",
    )
    assert values["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert values["SECURE_SSL_REDIRECT"] is True
    assert values["SECURE_HSTS_SECONDS"] >= 31536000
    assert values["SESSION_COOKIE_SECURE"] is True and values["CSRF_COOKIE_SECURE"] is True
    assert values["SECURE_CONTENT_TYPE_NOSNIFF"] is True
    assert values["X_FRAME_OPTIONS"] == "DENY"
    assert values["ALLOWED_HOSTS"] == ["flowviz.example.com"]
    assert values["CORS_ALLOWED_ORIGINS"] == ["https://flowviz.example.com"]
    assert values["LOG_FORMAT"] == "json"


def test_debug_mode_of_make_run_serves_plain_http():
    values = _settings_of(
        {"DEBUG": "true"},
        "SECURE_SSL_REDIRECT",
        "SECURE_HSTS_SECONDS",
        "SESSION_COOKIE_SECURE",
        "LOG_FORMAT",
        "SECURE_PROXY_SSL_HEADER",
    )
    assert values == {
        "SECURE_SSL_REDIRECT": False,
        "SECURE_HSTS_SECONDS": 0,
        "SESSION_COOKIE_SECURE": False,
        "LOG_FORMAT": "text",
        "SECURE_PROXY_SSL_HEADER": None,
    }


def test_admin_url_path_comes_from_the_environment():
    code = "import django; django.setup(); from django.urls import reverse; print(reverse('admin:index'))"
    result = _run(["-c", code], {"DEBUG": "true", "ADMIN_URL": "/backoffice-7f3/"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "/backoffice-7f3/"


def test_invalid_metrics_allow_list_refuses_to_start():
    result = _run(
        ["-c", "import django; django.setup()"], {"DEBUG": "true", "METRICS_ALLOWED_IPS": "10.0.0.0/33"}
    )
    assert result.returncode != 0
    assert "METRICS_ALLOWED_IPS" in result.stderr


@pytest.mark.django_db
@override_settings(SECURE_SSL_REDIRECT=True)
def test_https_redirect_spares_health_probes_and_metrics_only():
    client = Client()
    assert client.get("/api/health").status_code == 200
    assert client.get("/metrics").status_code == 200
    redirected = client.get("/api/openapi.json")
    assert redirected.status_code == 301
    assert redirected["Location"].startswith("https://")


@override_settings(SECURE_SSL_REDIRECT=True, SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"))
def test_requests_forwarded_as_https_by_the_proxy_are_not_redirected():
    response = Client().get("/api/openapi.json", HTTP_X_FORWARDED_PROTO="https")
    assert response.status_code == 200
