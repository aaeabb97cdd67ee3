"""`manage.py create_user`: accounts for operations, with the role's admin rights."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.models import User

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.usefixtures("role_groups")


@pytest.mark.django_db
def test_create_user_with_a_password_gives_a_login_and_the_role_group():
    out = StringIO()
    call_command(
        "create_user", "Ops@Example.com", "--role", "MANAGER", "--password", "long-enough-pw-1", stdout=out
    )
    user = User.objects.get(email="ops@example.com")
    assert user.check_password("long-enough-pw-1")
    assert (user.role, user.is_staff, list(user.groups.values_list("name", flat=True))) == (
        "MANAGER",
        True,
        ["Manager"],
    )
    assert "Created ops@example.com (MANAGER, with admin access)" in out.getvalue()


@pytest.mark.django_db
def test_create_user_reads_the_password_from_standard_input():
    call_command(
        "create_user",
        "aud@example.com",
        "--role",
        "AUDITOR",
        "--password-stdin",
        stdin=StringIO("from-stdin-pass-22\n"),
        stdout=StringIO(),
    )
    assert User.objects.get(email="aud@example.com").check_password("from-stdin-pass-22")


@pytest.mark.django_db
def test_create_user_without_a_password_makes_an_account_with_none():
    call_command("create_user", "op@example.com", "--role", "OPERATOR", stdout=StringIO())
    user = User.objects.get(email="op@example.com")
    assert (user.has_usable_password(), user.is_staff, user.groups.count()) == (False, False, 0)


@pytest.mark.django_db
def test_create_user_refuses_a_taken_email():
    call_command("create_user", "dup@example.com", "--role", "VIEWER", stdout=StringIO())
    with pytest.raises(CommandError, match=re.escape("A user with the email dup@example.com already exists")):
        call_command("create_user", "DUP@example.com", "--role", "ADMIN", stdout=StringIO())
    assert User.objects.get(email="dup@example.com").role == "VIEWER"


@pytest.mark.django_db
def test_create_user_refuses_a_weak_password_and_a_bad_email():
    with pytest.raises(CommandError, match="password: This password is too short"):
        call_command(
            "create_user", "weak@example.com", "--role", "VIEWER", "--password", "abc", stdout=StringIO()
        )
    with pytest.raises(CommandError, match="email: Enter a valid email address"):
        call_command("create_user", "not-an-email", "--role", "VIEWER", stdout=StringIO())
    assert User.objects.count() == 0


def test_create_user_with_an_unknown_role_exits_non_zero():
    result = subprocess.run(
        [sys.executable, "manage.py", "create_user", "x@example.com", "--role", "BOSS"],
        cwd=ROOT,
        env={
            "PATH": "/usr/bin:/bin",
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            "DATABASE_URL": os.environ["DATABASE_URL"],
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "invalid choice: 'BOSS'" in result.stderr
