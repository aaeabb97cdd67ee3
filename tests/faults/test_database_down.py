"""Issue 14, fault 7: with PostgreSQL unreachable (the test cuts it off behind a proxy of its own)
the API answers 503 `Service unavailable` with Retry-After, at once once the database is known
to be down, instead of a 500 after the pool's whole timeout; and recovers by itself. The same
with PostgreSQL frozen (the proxy keeps the connections open and forwards nothing, as SIGSTOP
would): the authentication query on the event loop's pool gives up after DB_POOL_TIMEOUT."""

from __future__ import annotations

import json
import time

import pytest
from django.conf import settings
from django.db import connection

from accounts.roles import Role
from tests.api_support import bearer, demo_user, error_body
from tests.faults.servers import ApiServer, TcpProxy, http, postgres_upstream

POOL_TIMEOUT = 3
RETRY_SECONDS = 2


def _database_url(port: int) -> str:
    s = connection.settings_dict
    password = f":{s['PASSWORD']}" if s["PASSWORD"] else ""
    return f"postgres://{s['USER']}{password}@127.0.0.1:{port}/{s['NAME']}"


@pytest.fixture
def proxied_server(transactional_db):
    proxy = TcpProxy(postgres_upstream(connection.settings_dict)).start()
    server = ApiServer(
        {
            "DATABASE_URL": _database_url(proxy.port),
            "REDIS_URL": "",
            "CELERY_BROKER_URL": "",
            "DB_POOL_TIMEOUT": str(POOL_TIMEOUT),
            "DB_RETRY_SECONDS": str(RETRY_SECONDS),
        }
    )
    try:
        server.start()
        yield server, proxy
    finally:
        server.stop()
        proxy.stop()


def _timed_get(url: str, headers: dict) -> tuple[int, float, dict, bytes]:
    started = time.monotonic()
    status, response_headers, body = http("GET", url, headers=headers)
    return status, time.monotonic() - started, response_headers, body


def _lots_reader(proxied_server) -> tuple:
    """The proxy, and a timed GET /api/lots as a viewer through it."""
    server, proxy = proxied_server
    headers = {"Authorization": bearer(demo_user(Role.VIEWER))["HTTP_AUTHORIZATION"]}
    return proxy, lambda: _timed_get(f"{server.url}/api/lots", headers)


def _assert_service_unavailable(answers: list[tuple[int, float, dict, bytes]], count: int) -> None:
    assert [status for status, *_ in answers] == [503] * count
    assert all(json.loads(body) == error_body("Service unavailable") for *_, body in answers)


def test_requests_answer_503_with_retry_after_at_once_while_the_database_is_down(demo, proxied_server):
    proxy, get_lots = _lots_reader(proxied_server)
    assert get_lots()[0] == 200
    proxy.stop()
    answers = [get_lots() for _ in range(6)]
    _assert_service_unavailable(answers, 6)
    assert all(int(response_headers["retry-after"]) >= 1 for _, _, response_headers, _ in answers)
    seconds = [elapsed for _, elapsed, *_ in answers]
    # Finding out takes at most two requests: one whose pooled connection died under it (or
    # that waited the pool's timeout), then one probe of DB_PROBE_TIMEOUT that opens the breaker.
    assert sum(seconds[:2]) < POOL_TIMEOUT + settings.DB_PROBE_TIMEOUT + 2, seconds
    assert max(seconds[2:]) < 0.5, seconds  # known down: at once


def test_requests_succeed_again_soon_after_the_database_returns(demo, proxied_server):
    proxy, get_lots = _lots_reader(proxied_server)
    proxy.stop()
    assert get_lots()[0] == 503
    proxy.start()
    deadline = time.monotonic() + RETRY_SECONDS + POOL_TIMEOUT + 5
    status = get_lots()[0]
    while status != 200 and time.monotonic() < deadline:
        time.sleep(0.2)
        status = get_lots()[0]
    assert status == 200


def test_requests_answer_503_within_the_pool_timeout_while_the_database_is_frozen(demo, proxied_server):
    proxy, get_lots = _lots_reader(proxied_server)
    assert get_lots()[0] == 200
    proxy.freeze()
    try:
        answers = [get_lots() for _ in range(4)]
    finally:
        proxy.thaw()
    _assert_service_unavailable(answers, 4)
    seconds = [elapsed for _, elapsed, *_ in answers]
    assert seconds[0] < POOL_TIMEOUT + 2, seconds  # the frozen query gave up
    assert max(seconds[1:]) < 0.5, seconds  # known down: at once
    deadline = time.monotonic() + RETRY_SECONDS + POOL_TIMEOUT + 5
    status = get_lots()[0]
    while status != 200 and time.monotonic() < deadline:
        time.sleep(0.2)
        status = get_lots()[0]
    assert status == 200
