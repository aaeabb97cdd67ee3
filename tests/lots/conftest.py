"""Fixtures of the traceability tests: hand-built genealogies, tokens, inline tasks."""

from __future__ import annotations

from decimal import Decimal

import pytest

from accounts.roles import Role
from lots.models import Lot, LotGenealogy, LotType
from tests.api_support import bearer, demo_user


@pytest.fixture(autouse=True)
def _inline_tasks(celery_conf) -> None:
    # Writes in these tests queue genealogy refreshes; they run inline unless a test that is
    # about the broker says otherwise, so no task outlives its test in a shared queue.
    celery_conf(task_always_eager=True)


def genealogy(links: list[tuple[str, str]], *, lot_types: dict[str, str] | None = None) -> dict[str, Lot]:
    """Lots named in `links` (parent, child) with 100 kg each, linked with 10 kg per link."""
    lot_types = lot_types or {}
    codes = sorted({code for link in links for code in link} | set(lot_types))
    lots = {
        code: Lot.objects.create(
            lot_code=code, lot_type=lot_types.get(code, LotType.MIX), weight_kg=Decimal("100.00")
        )
        for code in codes
    }
    for parent, child in links:
        LotGenealogy.objects.create(
            parent_lot=lots[parent], child_lot=lots[child], quantity_used_kg=Decimal("10.00")
        )
    return lots


@pytest.fixture
def headers(demo):
    """Authorization headers of a demo user by role: headers(Role.VIEWER)."""

    def for_role(role: str = Role.VIEWER) -> dict[str, str]:
        return bearer(demo_user(role))

    return for_role


def cache_hit_queries() -> int:
    """Queries a cached traceability answer costs: with Valkey, the read of the cache generation
    from PostgreSQL (lots/cache.py); with the in-process cache, none."""
    from django.core.cache import caches
    from django.core.cache.backends.locmem import LocMemCache

    return 0 if isinstance(caches["default"], LocMemCache) else 1
