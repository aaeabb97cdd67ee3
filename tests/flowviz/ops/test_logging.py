"""Request logs: one JSON line per request with the request id; tracebacks kept; no secrets."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from asgiref.sync import async_to_sync
from django.conf import settings
from django.test import AsyncClient, Client

from flowviz.ops.logging import JsonFormatter, RequestIdFilter
from tests.db_support import database_url

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def log_lines():
    """Everything logged during the test, formatted by the production JSON formatter."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    previous_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    lines: list[str] = []
    yield lambda: lines or lines.extend(stream.getvalue().splitlines()) or lines
    root.removeHandler(handler)
    root.setLevel(previous_level)


def _request_lines(lines: list[str]) -> list[dict]:
    return [entry for entry in map(json.loads, lines) if entry["logger"] == "flowviz.request"]


def test_json_is_the_log_format_with_debug_off():
    assert settings.LOG_FORMAT == "json"
    assert settings.LOGGING["handlers"]["console"]["formatter"] == "json"


def test_each_request_logs_one_json_line_with_its_request_id(log_lines):
    response = Client().get("/api/health?verbose=1", HTTP_X_REQUEST_ID="req-7f3a-0001")
    assert response["X-Request-ID"] == "req-7f3a-0001"
    (entry,) = _request_lines(log_lines())
    assert entry["method"] == "GET"
    assert entry["path"] == "/api/health"
    assert entry["status"] == 200
    assert entry["request_id"] == "req-7f3a-0001"
    assert entry["user_id"] is None
    assert isinstance(entry["duration_ms"], float) and entry["duration_ms"] >= 0


def test_a_silenced_request_logger_writes_no_line_and_the_request_id_ends_with_the_request(log_lines):
    from flowviz.ops.logging import request_id_var

    request_logger = logging.getLogger("flowviz.request")
    previous = request_logger.level
    request_logger.setLevel(logging.WARNING)
    try:
        response = Client().get("/api/health", HTTP_X_REQUEST_ID="req-quiet-1")
    finally:
        request_logger.setLevel(previous)
    assert response["X-Request-ID"] == "req-quiet-1"
    assert _request_lines(log_lines()) == []
    assert request_id_var.get() is None


def test_async_requests_echo_the_request_id(log_lines):
    response = async_to_sync(AsyncClient().get)("/api/health", headers={"X-Request-ID": "async-42"})
    assert response["X-Request-ID"] == "async-42"
    assert [entry["request_id"] for entry in _request_lines(log_lines())] == ["async-42"]


def test_a_request_id_is_generated_when_none_is_sent(log_lines):
    response = Client().get("/api/health")
    assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"])
    (entry,) = _request_lines(log_lines())
    assert entry["request_id"] == response["X-Request-ID"]


def test_an_unsafe_incoming_request_id_is_replaced():
    forged = 'x" ,"status": 200}\n{"level": "INFO'
    response = Client().get("/api/health", HTTP_X_REQUEST_ID=forged)
    assert response["X-Request-ID"] != forged
    assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"])


@pytest.mark.django_db
def test_the_request_log_names_the_signed_in_user(log_lines):
    from accounts.models import User
    from accounts.roles import Role

    user = User.objects.create(email="ops-admin@example.com", role=Role.ADMIN)
    client = Client()
    client.force_login(user)
    assert client.get(f"/{settings.ADMIN_URL}").status_code == 200
    (entry,) = _request_lines(log_lines())
    assert entry["user_id"] == str(user.pk)


@pytest.mark.urls("tests.flowviz.ops.urls_failing")
def test_an_error_is_logged_with_its_traceback_and_request_id(log_lines):
    response = Client(raise_request_exception=False).get("/fail", HTTP_X_REQUEST_ID="err-1")
    assert response.status_code == 500
    entries = [json.loads(line) for line in log_lines()]
    errors = [entry for entry in entries if "exc_info" in entry]
    assert errors, entries
    assert "Traceback (most recent call last)" in errors[0]["exc_info"]
    assert "ValueError: boom in the view" in errors[0]["exc_info"]
    assert errors[0]["request_id"] == "err-1"
    (request_entry,) = _request_lines(log_lines())
    assert (request_entry["status"], request_entry["level"]) == (500, "ERROR")


@pytest.mark.django_db
def test_tokens_and_passwords_never_reach_the_logs(log_lines):
    from accounts.models import User
    from accounts.roles import Role
    from accounts.tokens import token_issue

    user = User.objects.create(email="ops-operator@example.com", role=Role.OPERATOR)
    token = token_issue(user_id=str(user.pk), role=user.role)
    client = Client()
    client.get("/api/health", HTTP_AUTHORIZATION=f"Bearer {token}")
    client.get(f"/api/lots?access_token={token}", HTTP_AUTHORIZATION=f"Bearer {token}")
    client.post(
        "/api/login",
        data=json.dumps({"email": user.email, "password": "correct horse battery staple"}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    text = "\n".join(log_lines())
    assert len(_request_lines(log_lines())) == 3
    assert token not in text
    assert "correct horse battery staple" not in text
    assert "Bearer" not in text
    # Django's own "Not Found" lines still say which request they were about.
    not_found = [json.loads(line) for line in log_lines() if '"django.request"' in line]
    assert not_found and all(entry["request_id"] for entry in not_found)
    assert all(entry["request"] in {"GET /api/lots", "POST /api/login"} for entry in not_found)


@pytest.mark.django_db
def test_runserver_logs_each_request_and_each_django_warning_once():
    # `make run` serves with runserver, whose own access line ("django.server") repeated the
    # request log's line for every request.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        "DEBUG": "true",
        "DATABASE_URL": database_url(),
        "DJANGO_SETTINGS_MODULE": "flowviz.settings",
    }
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/api/health?probe=1", timeout=5
                ) as answer:
                    assert answer.status == 200
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        # Django's own warning for a page it does not have: once too.
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/no-such-page", timeout=5)
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=30)
    lines = output.splitlines()
    health_lines = [line for line in lines if "/api/health" in line]
    assert len(health_lines) == 1, output
    assert "flowviz.request" in health_lines[0]
    assert len([line for line in lines if "Not Found: /no-such-page" in line]) == 1, output


def test_generated_request_ids_are_unique_and_a_forked_worker_draws_its_own(monkeypatch):
    from flowviz.ops import logging as request_logging

    ids = {request_logging._request_id_new() for _ in range(1000)}
    assert len(ids) == 1000
    monkeypatch.setattr(request_logging.os, "getpid", lambda: -1)  # as in a forked worker
    forked = request_logging._request_id_new()
    assert re.fullmatch(r"[0-9a-f]{32}", forked)
    assert forked[:16] not in {known[:16] for known in ids}
