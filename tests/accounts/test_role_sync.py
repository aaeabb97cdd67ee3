"""is_staff and the role groups follow the role whichever way it is written (issue 14, item 17):
the database derives them (triggers of migration accounts/0004), so no path can leave them stale."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from django.urls import reverse

from accounts.models import User
from accounts.roles import ROLE_GROUPS, STAFF_ROLES, Role
from accounts.services import user_create
from tests.admin_support import user_with_role

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("role_groups")]


def _access(email: str) -> tuple[bool, list[str]]:
    user = User.objects.get(email=email)
    return user.is_staff, list(user.groups.values_list("name", flat=True))


def _expected(role: str) -> tuple[bool, list[str]]:
    return role in STAFF_ROLES, [ROLE_GROUPS[role]] if role in ROLE_GROUPS else []


@pytest.mark.parametrize("role", Role.values)
def test_a_role_set_by_queryset_update_gives_that_roles_access(role):
    # Also proves the database's role lists are those of accounts.roles, role by role.
    start = Role.VIEWER if role in STAFF_ROLES else Role.ADMIN
    user_create(email="q@example.com", role=start)
    User.objects.filter(email="q@example.com").update(role=role)
    assert _access("q@example.com") == _expected(role)


def test_a_save_whose_update_fields_omit_the_role_keeps_the_access_of_the_stored_role():
    user = user_create(email="u@example.com", role=Role.VIEWER)
    user.is_superuser = True
    user.save(update_fields=["is_superuser"])
    assert _access("u@example.com") == (True, [])
    User.objects.filter(pk=user.pk).update(is_superuser=False)
    assert _access("u@example.com") == (False, [])


def test_a_role_changed_by_update_fields_role_alone_moves_the_group():
    user = user_create(email="f@example.com", role=Role.AUDITOR)
    user.role = Role.MANAGER
    user.save(update_fields=["role"])
    assert _access("f@example.com") == (True, ["Manager"])


def test_a_user_inserted_by_raw_sql_like_the_legacy_server_gets_the_roles_access():
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO users (id, email, role) VALUES (%s, 'legacy-admin@example.com', 'ADMIN')",
            [uuid.uuid4()],
        )
    assert _access("legacy-admin@example.com") == (True, ["Admin"])


def test_a_group_that_is_not_a_role_group_stays_when_the_role_changes():
    from django.contrib.auth.models import Group

    user = user_create(email="g@example.com", role=Role.MANAGER)
    user.groups.add(Group.objects.create(name="Night shift"))
    User.objects.filter(pk=user.pk).update(role=Role.AUDITOR)
    assert sorted(_access("g@example.com")[1]) == ["Auditor", "Night shift"]


def test_a_user_added_in_the_admin_form_gets_the_roles_access(client):
    client.force_login(user_with_role(Role.ADMIN))
    form = {"email": "New@Example.com", "role": Role.AUDITOR, "is_active": "on"}
    response = client.post(reverse("admin:accounts_user_add"), form)
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert _access("new@example.com") == (True, ["Auditor"])


def test_a_superuser_flag_set_in_the_admin_form_makes_the_user_staff(client):
    client.force_login(user_with_role(Role.ADMIN))
    target = user_create(email="sup@example.com", role=Role.VIEWER)
    response = client.post(
        reverse("admin:accounts_user_change", args=[target.pk]),
        {"email": "sup@example.com", "role": Role.VIEWER, "is_active": "on", "is_superuser": "on"},
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert _access("sup@example.com") == (True, [])


def test_a_superuser_made_by_createsuperuser_is_staff_and_an_admin():
    from django.core.management import call_command

    call_command("createsuperuser", email="root@example.com", interactive=False, verbosity=0)
    assert _access("root@example.com") == (True, ["Admin"])
