"""What Django sees on an adopted legacy database, printed as JSON for test_adopt_legacy.py.

Run as `python -m tests.flowviz.adopted_db_probe CHECK ARGS...` with DATABASE_URL pointing at the
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

    from accounts.models import Role, User
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


CHECKS = {"login": login, "lot": lot, "orm_write": orm_write}


def main(argv: list[str]) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django

    django.setup()
    check, *args = argv
    print(json.dumps(CHECKS[check](*args)))


if __name__ == "__main__":
    main(sys.argv[1:])
