from django.contrib import admin

from accounts.models import User


@admin.register(User)
class UserAdmin(admin.ModelAdmin):
    """Users. The role decides the admin rights: saving a new role moves the user's group."""

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
