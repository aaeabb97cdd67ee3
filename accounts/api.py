"""HTTP endpoints of the accounts app (mounted under /api by flowviz/api.py)."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from ninja import Router, Status
from ninja.errors import HttpError

from accounts.auth import auth_cookie_clear, auth_cookie_set
from accounts.schemas import LoginIn, LoginOut
from accounts.services import InvalidCredentials, user_login
from flowviz.http.asgi import db_call
from flowviz.http.schemas import DetailOut
from flowviz.http.throttling import login_throttle

router = Router(tags=["accounts"])


@router.post(
    "/login",
    response={200: LoginOut, 401: DetailOut, 429: DetailOut},
    throttle=login_throttle,
    summary="Log in: email (+ password) → user and JWT",
    description=(
        "Also sets the token as the browser-session cookie `flowviz_token` (HttpOnly, "
        "SameSite=Strict, Path=/api; Secure unless DEBUG; as long-lived as the token) unless "
        "AUTH_COOKIE is off."
    ),
)
async def login(request: HttpRequest, payload: LoginIn, response: HttpResponse) -> dict:
    try:
        result = await db_call(user_login, email=payload.email, password=payload.password)
    except InvalidCredentials:
        raise HttpError(401, "Invalid credentials") from None
    if settings.AUTH_COOKIE:
        auth_cookie_set(response, result.token)
    return {"user": result.user, "token": result.token}


@router.post(
    "/logout",
    response={204: None},
    summary="Log out of the browser session: clears the session cookie",
    description=(
        "Needs no token (an expired session can still be left). The token itself stays valid "
        "until it expires: a client holding it as a bearer token just forgets it."
    ),
)
async def logout(request: HttpRequest, response: HttpResponse) -> Status:
    auth_cookie_clear(response)
    return Status(204, None)
