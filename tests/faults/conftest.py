"""Fixtures of the fault tests: a Valkey (redis-server) of the test's own, started and killed
by the test, and the production cache configuration pointed at it."""

from __future__ import annotations

import os

import pytest
from django.test import override_settings

from flowviz.env import valkey_cache_config
from tests.faults.servers import REDIS_SERVER, RedisServer


@pytest.fixture
def valkey_server():
    """A redis-server of this test's own on a spare port; skipped (with the reason) without one."""
    if REDIS_SERVER is None:
        pytest.skip("redis-server is not installed: the fault tests start their own")
    server = RedisServer().start()
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
