"""A HOLD racing consumptions of a descendant, on real PostgreSQL with real transactions: a HOLD
that commits first blocks every later consumption of any descendant.

How commit order is checked, not timing. Consumers hold HOLDS_LOCK shared from before they
check a parent until they commit; the HOLD holds it exclusive from before its walk until it
commits. So every consumption either commits before the HOLD's walk starts, or starts its
check after the HOLD committed. Two facts tell which, read from the database afterwards:

- the walk sees only what committed before it: a consumption that succeeded must be among
  the lots the HOLD made suspect (its new lot is a descendant of the held lot). A consumption
  committing after the walk's snapshot - a lost race - would leave its lot out;
- timestamps taken inside the locked sections: a new lot's created_at is taken after its
  parent checks passed and the HOLD's decided_at after it got the exclusive lock, both inside
  the lock; every successful consumption's created_at must be before the HOLD's decided_at.

And every refused consumption names the parent and the held lot (it ran after the HOLD).
"""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client

from accounts.models import User
from accounts.roles import Role
from lots.models import Lot, LotSuspicion, LotType
from quality.models import QcDecision
from tests.api_support import bearer
from tests.lots.conftest import genealogy

pytestmark = pytest.mark.django_db(transaction=True)

CONSUMERS = 20


def test_a_hold_racing_twenty_consumptions_of_a_descendant_wins_by_commit_order(settings):
    settings.THROTTLE_ENABLED = False
    operator = bearer(User.objects.create_user("op@flowviz.com", role=Role.OPERATOR))
    auditor = bearer(User.objects.create_user("qa@flowviz.com", role=Role.AUDITOR))
    lots = genealogy([("RAW", "MIX"), ("MIX", "SKW")], lot_types={"RAW": LotType.RAW, "SKW": LotType.SKW})
    Lot.objects.filter(lot_code="SKW").update(weight_kg=Decimal("1000.00"))
    barrier = threading.Barrier(CONSUMERS + 1)

    def post(path: str, body: dict, headers: dict[str, str]) -> tuple[int, dict]:
        try:
            client = Client()
            barrier.wait(timeout=30)
            response = client.post(path, json.dumps(body), content_type="application/json", **headers)
            return response.status_code, response.json()
        finally:
            connection.close()

    def consume(index: int) -> tuple[int, dict]:
        body = {"lot_code": f"FG-{index:02d}", "parents": [{"lot_code": "SKW", "quantity_used_kg": "1.00"}]}
        return post("/api/lots", body, operator)

    def hold() -> tuple[int, dict]:
        body = {"lot_id": str(lots["RAW"].pk), "decision": "HOLD", "notes": "Listeria on the supplier's line"}
        return post("/api/qc-decisions", body, auditor)

    with ThreadPoolExecutor(max_workers=CONSUMERS + 1) as pool:
        consumptions = [pool.submit(consume, index) for index in range(CONSUMERS)]
        held = pool.submit(hold)
        results = [future.result() for future in consumptions]
        assert held.result()[0] == 201

    decided_at = QcDecision.objects.get(lot=lots["RAW"]).decided_at
    succeeded = [body["lot_code"] for status, body in results if status == 201]
    refused = [body["detail"] for status, body in results if status == 409]
    assert len(succeeded) + len(refused) == CONSUMERS, results
    assert refused == ["Parent lot SKW is suspect: made from RAW (HOLD)"] * len(refused)
    suspect = set(
        LotSuspicion.objects.filter(held_lot=lots["RAW"]).values_list("suspect_lot__lot_code", flat=True)
    )
    assert suspect == {"MIX", "SKW", *succeeded}
    for created_at in Lot.objects.filter(lot_code__in=succeeded).values_list("created_at", flat=True):
        assert created_at < decided_at
    # And from now on no consumption of a descendant gets through.
    later = Client().post(
        "/api/lots",
        json.dumps({"lot_code": "FG-LATE", "parents": [{"lot_code": "SKW"}]}),
        content_type="application/json",
        **operator,
    )
    assert later.status_code == 409
