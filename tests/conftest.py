"""Shared fixtures and the service markers.

`postgres` tests need DATABASE_URL to point at PostgreSQL and `redis` tests need REDIS_URL;
.ci/run runs the suite once against both services and once on the embedded default.
"""

from __future__ import annotations

import os

import pytest
from django.db import connection

# The browser tests drive Debian's chromium through its chromedriver (never downloaded).
CHROMEDRIVER = "/usr/bin/chromedriver"


def _on_postgres() -> bool:
    return connection.vendor == "postgresql"


def pytest_collection_modifyitems(config, items):
    needs_pg = pytest.mark.skip(reason="needs PostgreSQL: runs in the DATABASE_URL=postgres:// pass")
    needs_redis = pytest.mark.skip(reason="needs Redis/Valkey: runs in the REDIS_URL pass")
    needs_browser = pytest.mark.skip(
        reason=f"needs headless Chromium: {CHROMEDRIVER} is missing "
        "(apt-get install chromium chromium-driver)"
    )
    for item in items:
        if "postgres" in item.keywords and not _on_postgres():
            item.add_marker(needs_pg)
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

    from flowviz.ops.cache_guard import cache_reset

    cache_reset()

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
