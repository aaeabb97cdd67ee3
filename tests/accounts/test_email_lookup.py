"""A user is found by email case-insensitively through the unique index on LOWER(email): the
login, the admin's login, account creation and the commands look users up this way."""

from __future__ import annotations

import pytest
from django.db import connection, transaction

from accounts.models import User
from accounts.roles import Role

pytestmark = pytest.mark.django_db


def test_an_email_matches_whatever_its_case():
    user = User.objects.create_user(email="Ada.Lovelace@example.com", password=None, role=Role.VIEWER)
    assert User.objects.with_email("ada.lovelace@EXAMPLE.com").get() == user
    assert User.objects.get_by_natural_key("ADA.LOVELACE@example.com") == user


def test_another_email_matches_nothing():
    User.objects.create_user(email="ada@example.com", password=None, role=Role.VIEWER)
    assert not User.objects.with_email("ada@example.org").exists()


def test_the_email_lookup_is_answered_by_the_lower_email_index():
    # With sequential scans priced out, the planner uses an index whenever the condition can
    # use one; `email__iexact` (UPPER(email) = UPPER(...)) could not, and scanned every user.
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")
        plan = User.objects.with_email("ada@example.com").explain()
    assert "users_email_lower_uniq" in plan, plan
