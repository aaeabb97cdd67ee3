"""Shared fixtures and the service markers.

Every test runs on PostgreSQL: the one DATABASE_URL names, or the throwaway embedded cluster
tests/settings.py starts without it. `redis` tests need a real Valkey/Redis (REDIS_URL) and
are skipped without it; .ci/run runs the suite once against PostgreSQL 15 + Redis and once on
the embedded default.
"""

from __future__ import annotations

import os

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
    from flowviz.ops.cache_guard import cache_reset

    cache_reset()
    throttle_fallback_reset()

    # delete_pattern honours this run's key prefix, so other runs sharing the server are untouched.
    if hasattr(cache, "delete_pattern"):
        cache.delete_pattern("*")
    else:
        cache.clear()
    yield
    cache_reset()


@pytest.fixture
def role_groups(db):
    """The admin role groups (made by a data migration; re-made here after a flush)."""
    from accounts.roles import role_groups_sync

    role_groups_sync()
