"""Fixtures of the traceability tests: hand-built genealogies, tokens, Celery configuration."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from kombu import pools as kombu_pools

from accounts.roles import Role
from flowviz.celery import app as celery_app
from lots.models import Lot, LotGenealogy, LotType
from tests.api_support import bearer, demo_user


@pytest.fixture
def celery_conf() -> Iterator:
    """Set Celery configuration values for one test; the previous values come back after it."""
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
    kombu_pools.reset()  # kombu's process-wide producer pools, keyed by broker connection
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


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
