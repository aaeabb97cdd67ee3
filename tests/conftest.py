"""Shared fixtures and the service markers.

Every test runs on PostgreSQL: the one DATABASE_URL names, or the throwaway embedded cluster
tests/settings.py starts without it. `redis` tests need a real Valkey/Redis (REDIS_URL) and
are skipped without it; .ci/run runs the suite once against PostgreSQL 15 + Redis and once on
the embedded default.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

# The browser tests drive Debian's chromium through its chromedriver (never downloaded).
CHROMEDRIVER = "/usr/bin/chromedriver"


def pytest_collection_modifyitems(config, items):
    needs_redis = pytest.mark.skip(reason="needs Redis/Valkey: runs in the REDIS_URL pass")
    needs_browser = pytest.mark.skip(
        reason=f"needs headless Chromium: {CHROMEDRIVER} is missing "
        "(apt-get install chromium chromium-driver)"
    )
    for item in items:
        if "redis" in item.keywords and not os.environ.get("REDIS_URL"):
            item.add_marker(needs_redis)
        if "browser" in item.keywords and not os.path.exists(CHROMEDRIVER):
            item.add_marker(needs_browser)


@pytest.fixture(autouse=True, scope="session")
def _orm_authentication_in_the_test_process() -> None:
    # The API's event-loop pool (flowviz/ops/async_db.py) belongs to one long-lived loop, a
    # server worker's; tests here run each ASGI request in a loop of its own. The servers
    # tests start keep it on; tests/flowviz/ops/test_async_db.py turns it on for itself.
    from django.conf import settings

    settings.DB_ASYNC_AUTH = False


@pytest.fixture
def demo(db):
    """The demo seed of the data model."""
    from flowviz.demo.seed import demo_seed

    demo_seed()
    return demo_seed


@pytest.fixture(autouse=True)
def _clear_cache():
    from django.core.cache import cache

    from flowviz.http.throttling import throttle_fallback_reset
    from flowviz.ops.breakers import broker_breaker, database_breaker
    from flowviz.ops.cache_guard import cache_reset

    cache_reset()
    broker_breaker.reset()
    database_breaker.reset()
    throttle_fallback_reset()

    # delete_pattern honours this run's key prefix, so other runs sharing the server are untouched.
    if hasattr(cache, "delete_pattern"):
        cache.delete_pattern("*")
    else:
        cache.clear()
    yield
    cache_reset()
    broker_breaker.reset()
    database_breaker.reset()


@pytest.fixture
def role_groups(db):
    """The admin role groups (made by a data migration; re-made here after a flush)."""
    from accounts.roles import role_groups_sync

    role_groups_sync()


@pytest.fixture
def celery_conf() -> Iterator:
    """Set Celery configuration values for one test; the previous values come back after it."""
    from flowviz.celery import app as celery_app

    saved: dict[str, object] = {}

    def apply(**values: object) -> None:
        for name, value in values.items():
            saved.setdefault(name, celery_app.conf.get(name))
            celery_app.conf[name] = value
        if "broker_url" in values:
            _forget_broker_connections()

    yield apply
    for name, value in saved.items():
        celery_app.conf[name] = value
    if "broker_url" in saved:
        _forget_broker_connections()


def _forget_broker_connections() -> None:
    """Publishing reuses the app's pooled broker connections; a test that changes the broker
    URL (which production never does at run time) must not publish on the old one."""
    from kombu import pools as kombu_pools

    from flowviz.celery import app as celery_app

    kombu_pools.reset()  # kombu's process-wide producer pools, keyed by broker connection
    celery_app._pool = None
    celery_app.amqp._producer_pool = None
