"""Writes of user accounts. The admin, the commands and the API all go through these."""

from __future__ import annotations

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from accounts.models import Role, User


@transaction.atomic
def user_create(
    *, email: str, role: str = Role.VIEWER, password: str | None = None, full_name: str | None = None
) -> User:
    """A new user with `role` (and its admin group). Without a password the account has none.

    Raises ValidationError for a bad email, an unknown role, a taken email or a weak password.
    """
    user = User(email=User.objects.normalize_email(email).strip().lower(), role=role, full_name=full_name)
    try:
        validate_email(user.email)
    except ValidationError as error:
        raise ValidationError({"email": error.messages}) from error
    if User.objects.filter(email__iexact=user.email).exists():
        raise ValidationError({"email": f"A user with the email {user.email} already exists."})
    if password:
        validate_password(password, user)
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.full_clean()
    user.save()
    return user


@transaction.atomic
def user_set_role(*, user: User, role: str) -> User:
    """Change a user's role; `User.save()` moves the user to the role's admin group."""
    locked = User.objects.select_for_update().get(pk=user.pk)
    locked.role = role
    locked.full_clean()
    locked.save()
    user.role, user.is_staff = locked.role, locked.is_staff
    return locked
