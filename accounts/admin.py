from django.contrib import admin

from accounts.models import User
from accounts.services import user_update


@admin.register(User)
class UserAdmin(admin.ModelAdmin):
    """Users. The role decides the admin rights (the database derives is_staff and the role
    group from it); the form writes through the user service like every other path."""

    list_display = ("email", "full_name", "role", "is_active", "is_staff", "last_login", "created_at")
    list_filter = ("role", "is_active")
    search_fields = ("email", "full_name")
    ordering = ("email",)
    readonly_fields = ("id", "created_at", "last_login", "password", "is_staff", "role_groups")
    fields = (
        "id",
        "email",
        "full_name",
        "role",
        "role_groups",
        "is_active",
        "is_superuser",
        "is_staff",
        "password",
        "last_login",
        "created_at",
    )

    @admin.display(description="admin groups (from the role)")
    def role_groups(self, obj):
        if obj is None or obj.pk is None:
            return "-"
        return ", ".join(obj.groups.order_by("name").values_list("name", flat=True)) or "none"

    def save_model(self, request, obj, form, change):
        user_update(user=obj, fields=form.changed_data if change else ())
