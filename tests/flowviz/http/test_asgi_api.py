"""The ASGI entry point: /api requests take the short middleware chain, the rest the full one."""

from __future__ import annotations

import asyncio
import time

import pytest
from django.test import override_settings

from flowviz.http.asgi import api_middleware
from tests.api_support import asgi_request


def _asgi_get(
    path: str, headers: dict[str, str] | None = None, method: str = "GET"
) -> tuple[int, dict, bytes]:
    return asgi_request(path, method=method, headers=headers)


def test_api_chain_skips_the_browser_session_middleware():
    chain = api_middleware()
    assert "django.contrib.sessions.middleware.SessionMiddleware" not in chain
    assert "django.middleware.csrf.CsrfViewMiddleware" not in chain
    assert "corsheaders.middleware.CorsMiddleware" in chain


def test_api_chain_keeps_middleware_it_does_not_know(settings):
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, "tests.flowviz.some.RequestMetricsMiddleware"]
    assert api_middleware()[-1] == "tests.flowviz.some.RequestMetricsMiddleware"


def test_health_over_asgi_keeps_the_security_headers():
    status, headers, body = _asgi_get("/api/health")
    assert status == 200
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert body.startswith(b'{"status":"ok"')


def test_protected_endpoint_over_asgi_is_401_with_www_authenticate():
    status, headers, body = _asgi_get("/api/lots")
    assert status == 401
    assert headers["www-authenticate"] == "Bearer"
    assert body == b'{"detail":"Not authenticated","error":"Not authenticated"}'


@pytest.mark.parametrize(
    ("method", "path", "status"), [("GET", "/api/nope", 404), ("DELETE", "/api/lots/X", 405)]
)
def test_unknown_paths_and_wrong_methods_over_asgi_are_json(method, path, status):
    answered, headers, body = _asgi_get(path, method=method)
    assert answered == status
    assert headers["content-type"].startswith("application/json")
    assert b'"error":' in body and b'"detail":' in body


@pytest.mark.django_db(transaction=True)
def test_the_session_cookie_authenticates_over_asgi():
    from accounts.roles import Role
    from accounts.tokens import token_issue
    from flowviz.demo.seed import demo_seed
    from tests.api_support import demo_user

    demo_seed()
    user = demo_user(Role.VIEWER)
    cookie = f"flowviz_token={token_issue(user_id=str(user.pk), role=user.role)}"
    status, _, body = _asgi_get("/api/traceability/MIX-BATCH-88", {"Cookie": cookie})
    assert status == 200, body
    assert b'"central"' in body


@override_settings(CORS_ALLOWED_ORIGINS=["https://app.example"])
def test_cors_preflight_over_asgi():
    status, headers, _ = _asgi_get(
        "/api/lots",
        {"Origin": "https://app.example", "Access-Control-Request-Method": "POST"},
        method="OPTIONS",
    )
    assert status == 200
    assert headers["access-control-allow-origin"] == "https://app.example"
    assert headers["access-control-allow-credentials"] == "true"


@pytest.mark.django_db(transaction=True)
def test_admin_over_asgi_still_has_sessions_and_csrf():
    status, headers, _ = _asgi_get("/admin/login/")
    assert status == 200
    assert "csrftoken" in headers.get("set-cookie", "")


@pytest.mark.django_db(transaction=True)
def test_database_request_over_asgi_gives_its_pooled_connection_back():
    # The fast path closes the response inline when the request did no thread work; a
    # request that used the database must still return its connection to the pool.
    from django.db import connection

    from accounts.roles import Role
    from accounts.tokens import token_issue
    from flowviz.demo.seed import demo_seed
    from tests.api_support import demo_user

    demo_seed()
    user = demo_user(Role.OPERATOR)
    token = token_issue(user_id=str(user.pk), role=user.role)
    pool = connection.pool
    if pool is None:
        pytest.skip("DB_POOL=false: persistent connections, no pool to give a connection back to")

    def in_use() -> int:
        stats = pool.get_stats()
        return stats["pool_size"] - stats["pool_available"]

    def settled_in_use() -> int:
        # The pool counts a connection it is still opening in the background (growing towards
        # min_size) as not available yet: wait for that to finish instead of reading it as held.
        deadline = time.monotonic() + 5
        value = in_use()
        while time.monotonic() < deadline:
            time.sleep(0.05)
            value, previous = in_use(), value
            if value == previous:
                return value
        return value

    before = settled_in_use()
    for _ in range(3):
        status, _, _ = _asgi_get("/api/lots", {"Authorization": f"Bearer {token}"})
        assert status == 200
    assert settled_in_use() == before


def test_an_api_path_is_resolved_once_and_then_looked_up(monkeypatch):
    from django.urls.resolvers import URLResolver

    _asgi_get("/api/health")  # resolved now, or by an earlier test
    walks = []
    real_resolve = URLResolver.resolve

    def resolve(self, path):
        walks.append(path)
        return real_resolve(self, path)

    monkeypatch.setattr(URLResolver, "resolve", resolve)
    status, _, _ = _asgi_get("/api/health")
    assert status == 200
    assert walks == []


def test_an_unknown_api_path_is_not_remembered():
    from flowviz.http.asgi import _resolved

    before = _resolved.cache_info().currsize
    for attempt in range(3):
        assert _asgi_get(f"/api/no-such-route-{attempt}")[0] == 404
    assert _resolved.cache_info().currsize == before


def test_request_signal_receivers_run_for_a_request_served_on_the_event_loop():
    # The loop sends request_started/request_finished without Django's receivers for the
    # thread's database connections; any other receiver still hears both, in each request.
    from django.core import signals

    heard = []

    def started(sender, **named):
        heard.append(("started", named["scope"]["path"]))

    def finished(sender, **named):
        heard.append(("finished", sender.__name__))

    signals.request_started.connect(started)
    signals.request_finished.connect(finished)
    try:
        assert _asgi_get("/api/health")[0] == 200
    finally:
        signals.request_started.disconnect(started)
        signals.request_finished.disconnect(finished)
    assert heard == [("started", "/api/health"), ("finished", "APIASGIHandler")]


def test_a_response_closed_on_the_event_loop_runs_every_closer_even_after_one_fails():
    from django.http import HttpResponse

    from flowviz.http.asgi import _close_on_the_loop

    closed = []

    def failing() -> None:
        raise OSError("already gone")

    response = HttpResponse(b"x")
    response._resource_closers.extend([failing, lambda: closed.append("file")])
    asyncio.run(_close_on_the_loop(response))
    assert closed == ["file"]
    assert response.closed
    assert response._resource_closers == []
