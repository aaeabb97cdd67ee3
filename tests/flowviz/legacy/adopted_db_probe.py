"""What Django sees on an adopted legacy database, printed as JSON for test_adopt_legacy.py.

Run as `python -m tests.flowviz.legacy.adopted_db_probe CHECK ARGS...` with DATABASE_URL pointing at the
adopted database: the default connection is then that database, as it is for the real server,
so `authenticate()` and the ORM run exactly as they would in production.
"""

from __future__ import annotations

import json
import os
import sys


def login(email: str, password: str) -> dict:
    from django.contrib.auth import authenticate

    from accounts.models import User

    before = User.objects.get(email__iexact=email).password
    user = authenticate(email=email, password=password)
    after = User.objects.get(email__iexact=email).password
    return {
        "authenticated": user is not None,
        "algorithm_before": before.split("$", 1)[0],
        "algorithm_after": after.split("$", 1)[0],
    }


def lot(code: str) -> dict:
    from lots.models import Lot

    found = Lot.objects.get(lot_code=code)
    return {
        "lot_type": found.lot_type,
        "weight_kg": str(found.weight_kg),
        "temperature_c": str(found.temperature_c),
        "parents": sorted(
            [link.parent_lot.lot_code, str(link.quantity_used_kg)]
            for link in found.parent_links.select_related("parent_lot")
        ),
        "children": sorted(link.child_lot.lot_code for link in found.child_links.select_related("child_lot")),
        "decisions": sorted(d.decision for d in found.qc_decisions.all()),
    }


def orm_write() -> dict:
    """A user, a lot, a link and a QC decision written through the ORM, in one transaction."""
    from decimal import Decimal

    from django.db import transaction

    from accounts.models import User
    from accounts.roles import Role
    from lots.models import Lot, LotGenealogy
    from quality.models import QcDecision

    with transaction.atomic():
        user = User.objects.create_user("new.operator@factory.example", "a-new-password", role=Role.OPERATOR)
        parent = Lot.objects.get(lot_code="RAW-BEEF-001")
        child = Lot.objects.create(
            lot_code="SKW-ORM-1", lot_type="SKW", weight_kg=Decimal("12.5"), operator=user
        )
        LotGenealogy.objects.create(parent_lot=parent, child_lot=child, quantity_used_kg=Decimal("12.5"))
        QcDecision.objects.create(lot=child, decision="PASS", operator=user, temperature_c=Decimal("-1.5"))
    return {"user_id": str(user.id), "lot_id": str(child.id), "staff": user.is_staff}


def api_session(email: str, password: str, lot_code: str) -> dict:
    """Through the HTTP API (Django's test client, the full request chain): log in with the
    legacy password, then read a lot, its one-step traceability and its graph."""
    import json as json_module

    from django.test import Client
    from django.test.utils import setup_test_environment

    setup_test_environment()  # lets the test client's host through ALLOWED_HOSTS
    client = Client()
    login_response = client.post(
        "/api/login",
        json_module.dumps({"email": email, "password": password}),
        content_type="application/json",
    )
    result: dict = {"login_status": login_response.status_code}
    if login_response.status_code != 200:
        return result
    auth = {"HTTP_AUTHORIZATION": f"Bearer {login_response.json()['token']}"}
    lot_response = client.get(f"/api/lots/{lot_code}", **auth)
    trace_response = client.get(f"/api/traceability/{lot_code}", **auth)
    graph_response = client.get(f"/api/traceability/{lot_code}/graph", **auth)
    trace = trace_response.json()
    return {
        **result,
        "user_email": login_response.json()["user"]["email"],
        "lot_status": lot_response.status_code,
        "lot": lot_response.json(),
        "traceability_status": trace_response.status_code,
        "parents": [p["lot_code"] for p in trace["parents"]],
        "children": [c["lot_code"] for c in trace["children"]],
        "graph_status": graph_response.status_code,
        "graph_nodes": sorted(n["lot"]["lot_code"] for n in graph_response.json()["nodes"]),
    }


CHECKS = {"login": login, "lot": lot, "orm_write": orm_write, "api_session": api_session}


def main(argv: list[str]) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django

    django.setup()
    check, *args = argv
    print(json.dumps(CHECKS[check](*args)))


if __name__ == "__main__":
    main(sys.argv[1:])
