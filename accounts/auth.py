"""API authentication and role checks, defined once and used by every protected endpoint.

`roles(...)` gives the `auth=` object of an endpoint: it decodes the bearer token, loads the
user from the database (role and is_active come from the database, never from the token,
so a demoted or deactivated user loses access at once) and checks the role.
"""

from __future__ import annotations

import uuid

from asgiref.sync import sync_to_async
from django.db import connection
from django.http import HttpRequest
from ninja.security import HttpBearer

from accounts.models import User
from accounts.roles import Role
from accounts.tokens import InvalidToken, token_decode

ROLE_ORDER: tuple[str, ...] = tuple(Role.values)

# Every protected request runs this; written out once instead of built by the ORM each time
# (query building was a fifth of a request's CPU in py-spy). Only the columns auth needs;
# the others are deferred (loaded on access, which no API path does).
_ACTIVE_USER_SQL = "SELECT {pk}, {role}, {active} FROM {table} WHERE {pk} = %s AND {active}".format(
    table=User._meta.db_table,
    pk=User._meta.pk.column,
    role=User._meta.get_field("role").column,
    active=User._meta.get_field("is_active").column,
)


def active_user(user_id: uuid.UUID) -> User | None:
    """The active user with this id (pk, role and is_active loaded), or None."""
    key = User._meta.pk.get_db_prep_value(user_id, connection)
    return next(iter(User.objects.raw(_ACTIVE_USER_SQL, [key])), None)


class RoleNotAllowed(Exception):
    """Authenticated, but the user's role may not use this endpoint (403)."""

    def __init__(self, allowed: tuple[str, ...]):
        self.allowed = allowed
        super().__init__("Requires one of: " + ", ".join(allowed))


class JWTAuth(HttpBearer):
    def __init__(self, allowed_roles: tuple[str, ...] = ROLE_ORDER):
        super().__init__()
        # Kept in the enum's order so the 403 message is stable.
        self.allowed_roles = tuple(r for r in ROLE_ORDER if r in allowed_roles)

    async def authenticate(self, request: HttpRequest, token: str) -> User | None:
        try:
            claims = token_decode(token)
            user_id = uuid.UUID(str(claims["sub"]))
        except (InvalidToken, ValueError, KeyError):
            return None
        user = await sync_to_async(active_user)(user_id)
        if user is None:
            return None
        request.user = user
        if user.role not in self.allowed_roles:
            raise RoleNotAllowed(self.allowed_roles)
        return user


def roles(*allowed: str) -> JWTAuth:
    """Auth for an endpoint open to the given roles (all roles when none are given)."""
    return JWTAuth(tuple(allowed) or ROLE_ORDER)


any_role = roles()
