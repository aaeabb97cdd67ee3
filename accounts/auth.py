"""API authentication and role checks, defined once and used by every protected endpoint.

`roles(...)` gives the `auth=` object of an endpoint: it decodes the token, loads the user
from the database (role and is_active come from the database, never from the token, so a
demoted or deactivated user loses access at once) and checks the role.

The token comes from the `Authorization: Bearer` header or, for a request sent without that
header, from the browser-session cookie that `POST /api/login` sets (contract, "browser
session"): the frontend's older screens call `fetch('/api/...')` with no header. A cookie is
sent by the browser whoever made the page, so a write (POST/PUT/PATCH/DELETE) authenticated
by the cookie alone must come from the site itself: its `Origin` (or, without one, its
`Referer`) is the request's own scheme and host or one of `ALLOWED_ORIGINS`, else 403. The
cookie is also `SameSite=Strict` (browsers do not send it cross-site at all); the origin
check is the server-side half. A bearer request needs no such check: another site cannot
make a browser attach a header.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Awaitable
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.db import connection
from django.http import HttpRequest, HttpResponse
from ninja.errors import AuthorizationError
from ninja.security import HttpBearer

from accounts.models import User
from accounts.roles import Role
from accounts.tokens import InvalidToken, token_decode
from flowviz.http.asgi import db_call
from flowviz.ops import async_db
from flowviz.ops.models import CACHE_GENERATION_ROW, CacheGeneration

ROLE_ORDER: tuple[str, ...] = tuple(Role.values)

# Every protected request runs this; written out once instead of built by the ORM each time
# (query building was a fifth of a request's CPU in py-spy). Only the columns auth needs;
# the others are deferred (loaded on access, which no API path does). The same query reads
# the traceability cache generation (flowviz/ops/models.py): a cached read needs it, and read
# here it costs no query and no thread hop of its own.
_ACTIVE_USER_SQL = (
    "SELECT {pk}, {role}, {active}, (SELECT value FROM {generation} WHERE id = %s) "
    "FROM {table} WHERE {pk} = %s AND {active}"
).format(
    table=User._meta.db_table,
    pk=User._meta.pk.column,
    role=User._meta.get_field("role").column,
    active=User._meta.get_field("is_active").column,
    generation=CacheGeneration._meta.db_table,
)


_ACTIVE_USER_FIELDS = (User._meta.pk.attname, "role", "is_active")


def active_user(user_id: uuid.UUID) -> User | None:
    """The active user with this id (pk, role and is_active loaded), or None.

    The user also carries `cache_generation`: the cache generation read in the same query."""
    key = User._meta.pk.get_db_prep_value(user_id, connection)
    with connection.cursor() as cursor:
        cursor.execute(_ACTIVE_USER_SQL, [CACHE_GENERATION_ROW, key])
        row = cursor.fetchone()
    return None if row is None else _user_from_row(row)


async def active_user_async(user_id: uuid.UUID) -> User | None:
    """`active_user` run on the event loop's own pool (only where `async_db.available()`)."""
    row = await async_db.fetch_one(_ACTIVE_USER_SQL, [CACHE_GENERATION_ROW, user_id])
    return None if row is None else _user_from_row(row)


def _user_from_row(row: tuple) -> User:
    # from_db, as the ORM would load it: a raw queryset spent more CPU on its machinery.
    user = User.from_db("default", _ACTIVE_USER_FIELDS, row[:3])
    user.cache_generation = row[3] or 0
    return user


def request_cache_generation(request: HttpRequest) -> int | None:
    """The cache generation read when the request was authenticated (None: not read)."""
    return getattr(getattr(request, "auth", None), "cache_generation", None)


class RoleNotAllowed(Exception):
    """Authenticated, but the user's role may not use this endpoint (403)."""

    def __init__(self, allowed: tuple[str, ...]):
        self.allowed = allowed
        super().__init__("Requires one of: " + ", ".join(allowed))


class CrossSiteRefused(AuthorizationError):
    """A write authenticated by the session cookie alone, not sent by the site itself (403)."""

    def __init__(self) -> None:
        super().__init__(403, "Cross-site request refused")


# The browser-session cookie (contract, "browser session").
AUTH_COOKIE_NAME = "flowviz_token"
AUTH_COOKIE_PATH = "/api"
# Every other method (POST, PUT, PATCH, DELETE) is a write.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def auth_cookie_set(response: HttpResponse, token: str) -> None:
    """Give the browser the token as the session cookie (lives as long as the token)."""
    response.set_cookie(
        AUTH_COOKIE_NAME,
        token,
        max_age=settings.JWT_EXPIRE_MINUTES * 60,
        path=AUTH_COOKIE_PATH,
        secure=settings.AUTH_COOKIE_SECURE,
        httponly=True,
        samesite="Strict",
    )


def auth_cookie_clear(response: HttpResponse) -> None:
    response.delete_cookie(AUTH_COOKIE_NAME, path=AUTH_COOKIE_PATH, samesite="Strict")


def _origin(value: str) -> str:
    parts = urlsplit(value.strip())
    return f"{parts.scheme}://{parts.netloc}".lower() if parts.scheme and parts.netloc else ""


def request_from_the_site(request: HttpRequest) -> bool:
    """Whether the request's Origin (or, without one, Referer) is the site or an allowed origin."""
    source = request.headers.get("Origin") or request.headers.get("Referer") or ""
    origin = _origin(source)
    if not origin:  # absent, "null" (sandboxed or privacy-stripped), or not a URL
        return False
    allowed = {_origin(allowed) for allowed in settings.CORS_ALLOWED_ORIGINS}
    with contextlib.suppress(DisallowedHost):  # a host outside ALLOWED_HOSTS is not the site
        allowed.add(f"{request.scheme}://{request.get_host()}".lower())
    return origin in allowed


class JWTAuth(HttpBearer):
    """The bearer token, or the session cookie when the request has no Authorization header."""

    openapi_description = (
        "The token from POST /api/login, as `Authorization: Bearer <token>`; a browser may "
        "instead send the `flowviz_token` cookie that the login sets (writes then need an "
        "Origin or Referer of the site itself)."
    )

    def __init__(self, allowed_roles: tuple[str, ...] = ROLE_ORDER):
        super().__init__()
        # Kept in the enum's order so the 403 message is stable.
        self.allowed_roles = tuple(r for r in ROLE_ORDER if r in allowed_roles)

    def __call__(self, request: HttpRequest) -> Awaitable[User | None] | None:
        if self.header in request.headers:
            return super().__call__(request)
        token = request.COOKIES.get(AUTH_COOKIE_NAME) if settings.AUTH_COOKIE else None
        if not token:
            return None
        if request.method not in SAFE_METHODS and not request_from_the_site(request):
            raise CrossSiteRefused()
        return self.authenticate(request, token)

    async def authenticate(self, request: HttpRequest, token: str) -> User | None:
        try:
            claims = token_decode(token)
            user_id = uuid.UUID(str(claims["sub"]))
        except (InvalidToken, ValueError, KeyError):
            return None
        if async_db.available():
            # On the event loop: no thread hop (flowviz/ops/async_db.py).
            user = await active_user_async(user_id)
        else:
            user = await db_call(active_user, user_id)
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
