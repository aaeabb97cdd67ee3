"""The genealogy rules under simultaneous requests, on real PostgreSQL (row locks, not luck)."""

from __future__ import annotations

import json
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Sum
from django.test import Client

from accounts.models import User
from accounts.roles import Role
from lots.models import Lot, LotGenealogy
from tests.api_support import bearer

pytestmark = pytest.mark.django_db(transaction=True)


def _simultaneously(requests: list[tuple[str, dict]], headers: dict[str, str]) -> list[int]:
    """POST every (path, body) from its own thread, all released at once; the status codes."""
    barrier = threading.Barrier(len(requests))

    def send(path: str, body: dict) -> int:
        try:
            client = Client()
            barrier.wait(timeout=30)
            response = client.post(path, json.dumps(body), content_type="application/json", **headers)
            return response.status_code
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(requests)) as pool:
        return list(pool.map(lambda item: send(*item), requests))


@pytest.fixture
def operator_headers(settings):
    settings.THROTTLE_ENABLED = False
    return bearer(User.objects.create_user("op@flowviz.com", role=Role.OPERATOR))


def test_twenty_simultaneous_creations_of_one_code_give_one_201_and_409s(operator_headers):
    statuses = _simultaneously([("/api/lots", {"lot_code": "RACE-1"})] * 20, operator_headers)
    assert Counter(statuses) == {201: 1, 409: 19}
    assert Lot.objects.filter(lot_code="RACE-1").count() == 1


def test_simultaneous_new_lots_never_overdraw_a_parent(operator_headers):
    Lot.objects.create(lot_code="PARENT", weight_kg=Decimal("100.00"))
    requests = [
        ("/api/lots", {"lot_code": f"CHILD-{i}", "parents": [{"lot_code": "PARENT", "quantity_used_kg": 30}]})
        for i in range(10)
    ]
    statuses = _simultaneously(requests, operator_headers)
    assert Counter(statuses) == {201: 3, 409: 7}
    used = LotGenealogy.objects.filter(parent_lot__lot_code="PARENT").aggregate(total=Sum("quantity_used_kg"))
    assert used["total"] == Decimal("90.00")
    assert Lot.objects.count() == 1 + 3  # refused children were rolled back with their links


def test_simultaneous_links_to_existing_lots_never_overdraw_a_parent(operator_headers):
    Lot.objects.create(lot_code="PARENT", weight_kg=Decimal("100.00"))
    for i in range(10):
        Lot.objects.create(lot_code=f"CHILD-{i}")
    requests = [
        (f"/api/lots/CHILD-{i}/parents", {"parents": [{"lot_code": "PARENT", "quantity_used_kg": "40.00"}]})
        for i in range(10)
    ]
    statuses = _simultaneously(requests, operator_headers)
    assert Counter(statuses) == {201: 2, 409: 8}
    used = LotGenealogy.objects.filter(parent_lot__lot_code="PARENT").aggregate(total=Sum("quantity_used_kg"))
    assert used["total"] <= Decimal("100.00")


def test_simultaneous_opposite_links_never_make_a_cycle(operator_headers):
    Lot.objects.create(lot_code="A")
    Lot.objects.create(lot_code="B")
    requests = [
        ("/api/lots/A/parents", {"parents": [{"lot_code": "B"}]}),
        ("/api/lots/B/parents", {"parents": [{"lot_code": "A"}]}),
    ] * 5
    statuses = _simultaneously(requests, operator_headers)
    assert statuses.count(201) == 1
    assert LotGenealogy.objects.count() == 1


def test_linking_a_parent_to_a_lot_waits_for_a_qc_decision_about_that_lot():
    # A decision about a lot linked to no other retires only the lot's own cached answers
    # (lots.services.qc_decision_record): nothing may link to the lot before it commits. The
    # decision holds the lot's row FOR SHARE; adding a parent must wait for that row.
    from django.db import OperationalError, connections

    from lots.services import ParentRef, lot_parents_add

    operator = User.objects.create_user("op@flowviz.com", role=Role.OPERATOR)
    child = Lot.objects.create(lot_code="RAW-GOODS-IN-8")
    parent = Lot.objects.create(lot_code="RAW-SUPPLIER-8")
    deciding = connections.create_connection("default")
    try:
        with deciding.cursor() as cursor:
            cursor.execute("BEGIN")
            cursor.execute("SELECT 1 FROM lots WHERE id = %s FOR SHARE", [child.pk])
            with connection.cursor() as own:
                own.execute("SET lock_timeout = '300ms'")
            with pytest.raises(OperationalError, match="lock timeout"):
                lot_parents_add(
                    lot_code=child.lot_code, actor=operator, parents=[ParentRef(loc=(), lot_id=parent.pk)]
                )
            cursor.execute("ROLLBACK")
    finally:
        deciding.close()
        with connection.cursor() as own:
            own.execute("RESET lock_timeout")
    assert not LotGenealogy.objects.exists()
    lot_parents_add(lot_code=child.lot_code, actor=operator, parents=[ParentRef(loc=(), lot_id=parent.pk)])
    assert LotGenealogy.objects.filter(child_lot=child, parent_lot=parent).exists()
