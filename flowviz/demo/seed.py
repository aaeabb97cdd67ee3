"""The demo data of the data model (users, lots, genealogy, a scenario), written idempotently."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from django.db import transaction

from accounts.models import User
from accounts.roles import Role
from flowviz.production.models import Scenario
from flowviz.production.services import CONFIG_META_KEY, scenario_activate, scenario_import
from lots.models import Lot, LotGenealogy, LotType

DEMO_USERS = [
    ("00000000-0000-0000-0000-000000000001", "admin@flowviz.com", "System Admin", Role.ADMIN),
    ("00000000-0000-0000-0000-000000000002", "operator@flowviz.com", "John Operator", Role.OPERATOR),
    ("00000000-0000-0000-0000-000000000003", "manager@flowviz.com", "Maria Manager", Role.MANAGER),
    ("00000000-0000-0000-0000-000000000004", "auditor@flowviz.com", "Anna Auditor", Role.AUDITOR),
    ("00000000-0000-0000-0000-000000000005", "viewer@flowviz.com", "Victor Viewer", Role.VIEWER),
]

DEMO_LOTS = [
    ("11111111-1111-1111-1111-111111111101", "RAW-BEEF-001", LotType.RAW, "500.0"),
    ("11111111-1111-1111-1111-111111111102", "RAW-SPICE-001", LotType.RAW, "50.0"),
    ("22222222-2222-2222-2222-222222222201", "MIX-BATCH-88", LotType.MIX, "540.0"),
    ("33333333-3333-3333-3333-333333333301", "FG-DONER-X1", LotType.FG, "530.0"),
]

DEMO_LINKS = [
    ("RAW-BEEF-001", "MIX-BATCH-88", "500.0"),
    ("RAW-SPICE-001", "MIX-BATCH-88", "40.0"),
    ("MIX-BATCH-88", "FG-DONER-X1", "530.0"),
]


@dataclass
class SeedResult:
    users_created: int = 0
    lots_created: int = 0
    links_created: int = 0
    passwords_set: int = 0
    passwords_removed: int = 0
    scenarios_created: int = 0


# The project's own small scenario, in the frontend's scenario file format.
DEMO_SCENARIO_FILE = Path(__file__).resolve().parent / "demo-scenario.json"


def demo_scenario_data() -> dict:
    return json.loads(DEMO_SCENARIO_FILE.read_text(encoding="utf-8"))


@transaction.atomic
def demo_seed(*, password: str | None = None, remove_passwords: bool = False) -> SeedResult:
    """Create what is missing of the demo data; existing rows are left as they are.

    `password`: give every demo user this password (the admin needs one). `remove_passwords`:
    take the demo users' passwords away again, back to email-only login (what the frontend's
    demo needs, with PASSWORDLESS_LOGIN on).
    """
    if password and remove_passwords:
        raise ValueError("give a password or remove the passwords, not both")
    result = SeedResult()
    for user_id, email, full_name, role in DEMO_USERS:
        user = User.objects.with_email(email).first()
        if user is None:
            user = User(id=uuid.UUID(user_id), email=email, full_name=full_name, role=role)
            user.set_unusable_password()
            result.users_created += 1
            if password:
                user.set_password(password)
                result.passwords_set += 1
            user.full_clean()
            user.save()
        elif password and not user.check_password(password):
            user.set_password(password)
            user.save(update_fields=["password"])
            result.passwords_set += 1
        elif remove_passwords and user.has_usable_password():
            user.set_unusable_password()
            user.save(update_fields=["password"])
            result.passwords_removed += 1

    lots_by_code: dict[str, Lot] = {}
    for lot_id, code, lot_type, weight in DEMO_LOTS:
        lot, created = Lot.objects.get_or_create(
            lot_code=code,
            defaults={"id": uuid.UUID(lot_id), "lot_type": lot_type, "weight_kg": Decimal(weight)},
        )
        lots_by_code[code] = lot
        result.lots_created += int(created)

    for parent_code, child_code, quantity in DEMO_LINKS:
        _, created = LotGenealogy.objects.get_or_create(
            parent_lot=lots_by_code[parent_code],
            child_lot=lots_by_code[child_code],
            defaults={"quantity_used_kg": Decimal(quantity)},
        )
        result.links_created += int(created)

    # The demo scenario is imported once; a manager's later edits to it are kept.
    data = demo_scenario_data()
    scenario = Scenario.objects.filter(
        **{f"config__{CONFIG_META_KEY}__id": data["meta"]["id"]}, version=data["meta"]["version"]
    ).first()
    if scenario is None:
        scenario = scenario_import(data=data)
        result.scenarios_created += 1
    if not Scenario.objects.filter(is_active=True).exists():
        scenario_activate(scenario_id=scenario.pk)
    return result
