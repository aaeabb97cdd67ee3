"""Fixtures of the fault tests: a Valkey (redis-server) of the test's own, started and killed
by the test, and the production cache configuration pointed at it."""

from __future__ import annotations

import os

import pytest
from django.test import override_settings

from flowviz.env import valkey_cache_config
from tests.faults.servers import REDIS_SERVER, RedisServer


@pytest.fixture(autouse=True)
def _inline_tasks(celery_conf) -> None:
    # Writes queue graph refreshes; inline unless a test about the broker says otherwise, so no
    # task lands in a shared queue that nothing consumes.
    celery_conf(task_always_eager=True)


def _own_redis(**options) -> RedisServer:
    if REDIS_SERVER is None:
        pytest.skip("redis-server is not installed: the fault tests start their own")
    return RedisServer(**options).start()


@pytest.fixture
def valkey_server():
    """A redis-server of this test's own on a spare port; skipped (with the reason) without one."""
    server = _own_redis()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def persistent_valkey_server():
    """Like `valkey_server`, with an append-only file: a restart keeps every key."""
    server = _own_redis(persistent=True)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def broker_server(celery_conf, monkeypatch):
    """A redis-server of this test's own as the Celery broker; tasks really published to it."""
    server = _own_redis()
    # Celery reads CELERY_BROKER_URL from the environment before its configuration.
    monkeypatch.setenv("CELERY_BROKER_URL", server.url(1))
    celery_conf(task_always_eager=False, broker_url=server.url(1))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def valkey_cache(valkey_server):
    """The Django cache on `valkey_server`, configured exactly as settings.py configures Valkey."""
    config = valkey_cache_config(valkey_server.url(0), key_prefix=f"flowviz-fault-{os.getpid()}")
    with override_settings(CACHES={"default": config}):
        yield valkey_server


@pytest.fixture
def persistent_valkey_cache(persistent_valkey_server):
    """The Django cache on `persistent_valkey_server`, configured as settings.py configures Valkey."""
    config = valkey_cache_config(persistent_valkey_server.url(0), key_prefix=f"flowviz-fault-{os.getpid()}")
    with override_settings(CACHES={"default": config}):
        yield persistent_valkey_server
