"""The one identity: a FlowViz user logs in to the API and, for staff roles, to the admin."""

from __future__ import annotations

import uuid

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models import Value
from django.db.models.functions import Lower, Now
from django.utils import timezone

from accounts.roles import Role


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def with_email(self, email: str) -> models.QuerySet[User]:
        """The user with this email, case-insensitively: `LOWER(email) = LOWER(%s)`, which the
        unique index on LOWER(email) answers (`email__iexact` compares UPPER(...): a scan of
        the whole table on every login)."""
        return self.alias(email_lower=Lower("email")).filter(email_lower=Lower(Value(email)))

    def get_by_natural_key(self, username: str | None) -> User:
        return self.with_email(username or "").get()

    def _create_user(self, email: str, password: str | None, **extra: object) -> User:
        if not email:
            raise ValueError("A user needs an email address.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra: object) -> User:
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra: object) -> User:
        extra.setdefault("role", Role.ADMIN)
        extra["is_superuser"] = True
        return self._create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.TextField(unique=True)
    full_name = models.TextField(null=True, blank=True)
    role = models.TextField(choices=Role.choices, default=Role.VIEWER, db_default=Role.VIEWER)
    created_at = models.DateTimeField(default=timezone.now, db_default=Now())
    # Columns Django's auth needs; each has a database default so that rows inserted by the
    # legacy server (which names none of them) stay valid.
    password = models.CharField("password", max_length=128, default="!", db_default="!")
    is_active = models.BooleanField(default=True, db_default=True)
    is_superuser = models.BooleanField(
        "superuser status",
        default=False,
        db_default=False,
        help_text="Has every permission without them being assigned.",
    )
    # Derived from role (STAFF_ROLES) and is_superuser by a trigger on every INSERT and UPDATE
    # (migration accounts/0004), which also keeps the role groups in step; stored because
    # Django's admin reads the column. Never written by the application.
    is_staff = models.BooleanField(default=False, db_default=False, editable=False)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        db_table = "users"
        ordering = ["email"]
        constraints = [
            models.UniqueConstraint(Lower("email"), name="users_email_lower_uniq"),
            models.CheckConstraint(condition=models.Q(role__in=Role.values), name="users_role_check"),
        ]

    def __str__(self) -> str:
        return self.email

    def clean(self) -> None:
        super().clean()
        self.email = self.__class__.objects.normalize_email(self.email).lower()

    @property
    def has_password(self) -> bool:
        return bool(self.password) and self.has_usable_password()
