"""Writes of user accounts: creating them, changing roles, logging in (verify, upgrade an old
hash, stamp last_login, issue a token). The admin, the commands and the API all go through these."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import User
from accounts.roles import Role
from accounts.tokens import token_issue


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
    if User.objects.with_email(user.email).exists():
        raise ValidationError({"email": f"A user with the email {user.email} already exists."})
    if password:
        validate_password(password, user)
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.full_clean()
    user.save()
    _derived_access_read(user)
    return user


def _derived_access_read(user: User) -> None:
    # is_staff and the role group are written by the database's triggers (migration
    # accounts/0004) from role and is_superuser: read back what they made of this write.
    user.refresh_from_db(fields=["is_staff"])


@transaction.atomic
def user_set_role(*, user: User, role: str) -> User:
    """Change a user's role; the database moves the user to the role's admin group."""
    locked = User.objects.select_for_update().get(pk=user.pk)
    locked.role = role
    locked.full_clean()
    locked.save(update_fields=["role"])
    _derived_access_read(locked)
    user.role, user.is_staff = locked.role, locked.is_staff
    return locked


# What the admin's user form may change (is_staff and the groups follow role and is_superuser).
USER_EDITABLE_FIELDS = frozenset({"email", "full_name", "role", "is_active", "is_superuser"})


@transaction.atomic
def user_update(*, user: User, fields: Iterable[str]) -> User:
    """Save `user` (an instance carrying the new values): the `fields` that changed, or the
    whole row for a new instance (the admin's add form). The admin's user form writes here.

    Raises ValidationError for a bad value, ValueError for a field not editable this way.
    """
    changed = set(fields)
    if unknown := changed - USER_EDITABLE_FIELDS:
        raise ValueError(f"not editable here: {sorted(unknown)}")
    user.full_clean()
    if user._state.adding:
        user.save(force_insert=True)
    elif changed:
        user.save(update_fields=changed)
    _derived_access_read(user)
    return user


class InvalidCredentials(Exception):
    """One error for unknown email, wrong or missing password and inactive account."""


@dataclass(frozen=True)
class LoginResult:
    user: User
    token: str


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return make_password("flowviz-dummy-password-for-timing")


def _burn_a_hash_check(password: str | None) -> None:
    # Unknown email, inactive user: spend the time a real check would, so response time does
    # not tell which accounts exist.
    check_password(password or "", _dummy_hash())


def _password_matches(user: User, password: str) -> bool:
    try:
        # check_password re-hashes with the preferred hasher (BCryptSHA256) when the stored
        # hash is older, e.g. a legacy `bcrypt$$2b$...` hash: upgraded on first login.
        return user.check_password(password)
    except ValueError:
        # bcrypt >= 5 refuses passwords over 72 bytes for plain (legacy) bcrypt hashes: such a
        # password cannot be the one the hash was made from, so it is simply wrong.
        return False


# Every login runs these two; written out once instead of built by the ORM each time (query
# building and the model's save were over half of a passwordless login's CPU). The lookup is
# `User.objects.with_email`'s (LOWER(email) = LOWER(%s): the unique index on LOWER(email)).
_USER_FIELDS = [field.attname for field in User._meta.concrete_fields]
_USER_BY_EMAIL_SQL = "SELECT {columns} FROM {table} WHERE LOWER({email}) = LOWER(%s)".format(
    columns=", ".join(field.column for field in User._meta.concrete_fields),
    table=User._meta.db_table,
    email=User._meta.get_field("email").column,
)
_LAST_LOGIN_SQL = "UPDATE {table} SET {last_login} = %s WHERE {pk} = %s".format(
    table=User._meta.db_table,
    last_login=User._meta.get_field("last_login").column,
    pk=User._meta.pk.column,
)


def _user_with_email(email: str) -> User | None:
    with connection.cursor() as cursor:
        cursor.execute(_USER_BY_EMAIL_SQL, [email])
        row = cursor.fetchone()
    return None if row is None else User.from_db(connection.alias, _USER_FIELDS, row)


def user_login(*, email: str, password: str | None) -> LoginResult:
    """Authenticate by email (+ password) and return the user with a fresh access token."""
    user = _user_with_email(email.strip())
    if user is None or not user.is_active:
        _burn_a_hash_check(password)
        raise InvalidCredentials
    if user.has_password:
        if password is None:
            _burn_a_hash_check(password)
            raise InvalidCredentials
        if not _password_matches(user, password):
            raise InvalidCredentials
    elif not settings.PASSWORDLESS_LOGIN:
        # No usable password and passwordless (demo) login is off: nothing can prove identity.
        _burn_a_hash_check(password)
        raise InvalidCredentials
    user.last_login = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(_LAST_LOGIN_SQL, [user.last_login, user.pk])
    return LoginResult(user=user, token=token_issue(user_id=str(user.pk), role=user.role))
