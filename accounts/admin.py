from django.contrib import admin

from accounts.models import User


@admin.register(User)
class UserAdmin(admin.ModelAdmin):
    list_display = ("email", "full_name", "role", "is_active", "last_login", "created_at")
    list_filter = ("role", "is_active")
    search_fields = ("email", "full_name")
    ordering = ("email",)
    readonly_fields = ("id", "created_at", "last_login", "password", "is_staff")
    fields = (
        "id",
        "email",
        "full_name",
        "role",
        "is_active",
        "is_superuser",
        "is_staff",
        "password",
        "last_login",
        "created_at",
    )
