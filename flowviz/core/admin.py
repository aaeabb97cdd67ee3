"""Admin building blocks shared by the apps' admins."""

from __future__ import annotations


class ReadOnlyAdminMixin:
    """For a ModelAdmin of a record nobody edits here (an audit log, a drill): it is listed and
    viewed, never added, changed or deleted, superusers included."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
