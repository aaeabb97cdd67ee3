"""`manage.py seed_demo` writes the data model's demo data and is idempotent."""

from __future__ import annotations

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command

from accounts.models import User
from lots.models import Lot, LotGenealogy
from tests.api_support import post_json


def _counts() -> tuple[int, int, int]:
    return User.objects.count(), Lot.objects.count(), LotGenealogy.objects.count()


def _snapshot() -> list:
    users = list(User.objects.order_by("email").values_list("id", "email", "role", "password"))
    lots = list(Lot.objects.order_by("lot_code").values_list("id", "lot_code", "weight_kg", "created_at"))
    links = list(LotGenealogy.objects.order_by("id").values_list("id", "quantity_used_kg", "linked_at"))
    return [users, lots, links]


@pytest.mark.django_db
def test_seed_demo_creates_the_documented_users_lots_and_links():
    call_command("seed_demo", stdout=StringIO())
    assert _counts() == (5, 4, 3)
    admin = User.objects.get(email="admin@flowviz.com")
    assert (str(admin.id), admin.full_name, admin.role) == (
        "00000000-0000-0000-0000-000000000001",
        "System Admin",
        "ADMIN",
    )
    assert str(User.objects.get(email="operator@flowviz.com").id) == "00000000-0000-0000-0000-000000000002"
    mix = Lot.objects.get(lot_code="MIX-BATCH-88")
    assert (str(mix.id), mix.lot_type, mix.weight_kg) == (
        "22222222-2222-2222-2222-222222222201",
        "MIX",
        Decimal("540.00"),
    )
    links = {
        (link.parent_lot.lot_code, link.child_lot.lot_code, link.quantity_used_kg)
        for link in LotGenealogy.objects.select_related("parent_lot", "child_lot")
    }
    assert links == {
        ("RAW-BEEF-001", "MIX-BATCH-88", Decimal("500.00")),
        ("RAW-SPICE-001", "MIX-BATCH-88", Decimal("40.00")),
        ("MIX-BATCH-88", "FG-DONER-X1", Decimal("530.00")),
    }


@pytest.mark.django_db
def test_seed_demo_twice_changes_nothing():
    call_command("seed_demo", stdout=StringIO())
    first = _snapshot()
    call_command("seed_demo", stdout=StringIO())
    assert _snapshot() == first


@pytest.mark.django_db
def test_seed_demo_users_have_no_usable_password_by_default():
    call_command("seed_demo", stdout=StringIO())
    assert not any(user.has_usable_password() for user in User.objects.all())


@pytest.mark.django_db
def test_seed_demo_password_option_gives_every_demo_user_that_password():
    call_command("seed_demo", "--password", "factory-floor-42", stdout=StringIO())
    assert all(user.check_password("factory-floor-42") for user in User.objects.all())
    repeated = _snapshot()
    call_command("seed_demo", "--password", "factory-floor-42", stdout=StringIO())
    assert _snapshot() == repeated


@pytest.mark.django_db
def test_seed_demo_no_password_takes_the_demo_users_passwords_away_again():
    call_command("seed_demo", "--password", "factory-floor-42", stdout=StringIO())
    out = StringIO()
    call_command("seed_demo", "--no-password", stdout=out)
    assert not any(user.has_usable_password() for user in User.objects.all())
    assert "0 passwords set, 5 removed." in out.getvalue()


@pytest.mark.django_db
def test_seed_demo_no_password_leaves_other_users_passwords_alone():
    call_command("seed_demo", "--password", "factory-floor-42", stdout=StringIO())
    User.objects.create_user("ops@example.com", "ops-own-password-1")
    call_command("seed_demo", "--no-password", stdout=StringIO())
    assert User.objects.get(email="ops@example.com").check_password("ops-own-password-1")


@pytest.mark.django_db
def test_after_seed_demo_no_password_the_frontend_logs_the_demo_users_in_by_email_again(client, settings):
    settings.PASSWORDLESS_LOGIN = True
    call_command("seed_demo", "--password", "factory-floor-42", stdout=StringIO())
    assert post_json(client, "/api/login", {"email": "operator@flowviz.com"}).status_code == 401
    call_command("seed_demo", "--no-password", stdout=StringIO())
    assert post_json(client, "/api/login", {"email": "operator@flowviz.com"}).status_code == 200
