"""The roles, and what each may do in the admin, expressed as Django groups and permissions.

A user's `role` is the source of truth; triggers on the `users` table (migration
accounts/0004) derive `is_staff` and the user's role group from it on every INSERT and UPDATE,
so every way of changing a role (admin form, command, API, `QuerySet.update`, raw SQL, the
legacy server) gives the same admin rights. The groups themselves are created by the data migration
accounts/0002_role_groups, which calls `role_groups_sync` with the historical app registry.
accounts.models imports this module, never the other way round.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.apps import apps as global_apps
from django.db import models

if TYPE_CHECKING:
    from django.apps.registry import Apps


class Role(models.TextChoices):
    ADMIN = "ADMIN", "Admin"
    MANAGER = "MANAGER", "Manager"
    AUDITOR = "AUDITOR", "Auditor"
    OPERATOR = "OPERATOR", "Operator"
    VIEWER = "VIEWER", "Viewer"


# Roles that may sign in to the Django admin; what they may do there comes from groups.
STAFF_ROLES = frozenset({Role.ADMIN, Role.MANAGER, Role.AUDITOR})

# The role → group name. OPERATOR and VIEWER have no group: they have no admin at all.
ROLE_GROUPS: dict[str, str] = {
    Role.ADMIN: "Admin",
    Role.MANAGER: "Manager",
    Role.AUDITOR: "Auditor",
}

# Managers configure the factory: full rights on the configuration models...
MANAGER_EDITS = [
    ("flowviz", "scenario"),
    ("flowviz", "stream"),
    ("flowviz", "phase"),
    ("quality", "qcgate"),
    ("flowviz", "productionrun"),
    # Flow Editor designs; published and archived versions stay read-only in the admin.
    ("flowviz", "flowdefinition"),
    ("flowviz", "flowversion"),
]
# ...and read the production record.
MANAGER_VIEWS = [
    ("lots", "lot"),
    ("lots", "lotgenealogy"),
    ("lots", "recalldrill"),
    ("quality", "qcdecision"),
]


def _permission_ids(apps: Apps, *, models: list[tuple[str, str]], actions: tuple[str, ...]) -> list[int]:
    permission_model = apps.get_model("auth", "Permission")
    wanted = {(app_label, f"{action}_{model}") for app_label, model in models for action in actions}
    rows = permission_model.objects.filter(
        content_type__app_label__in={app_label for app_label, _ in models}
    ).values_list("id", "content_type__app_label", "codename")
    return [pk for pk, app_label, codename in rows if (app_label, codename) in wanted]


def role_groups_sync(apps: Apps = global_apps) -> None:
    """Create or update the three role groups with exactly their permissions (idempotent).

    Django creates permissions after migrations (post_migrate), so they are created here
    first, for every installed app, from the current model definitions.
    """
    from django.contrib.auth.management import create_permissions

    for app_config in global_apps.get_app_configs():
        create_permissions(app_config, verbosity=0, apps=apps)

    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")
    everything = list(permission_model.objects.values_list("id", flat=True))
    view_everything = list(
        permission_model.objects.filter(codename__startswith="view_").values_list("id", flat=True)
    )
    manager = _permission_ids(
        apps, models=MANAGER_EDITS, actions=("add", "change", "delete", "view")
    ) + _permission_ids(apps, models=MANAGER_VIEWS, actions=("view",))

    for name, permission_ids in (
        (ROLE_GROUPS[Role.ADMIN], everything),
        (ROLE_GROUPS[Role.MANAGER], manager),
        (ROLE_GROUPS[Role.AUDITOR], view_everything),
    ):
        group, _ = group_model.objects.get_or_create(name=name)
        group.permissions.set(permission_ids)
