"""HTTP endpoints of the accounts app (mounted under /api by flowviz/api.py)."""

from __future__ import annotations

from asgiref.sync import sync_to_async
from django.http import HttpRequest
from ninja import Router
from ninja.errors import HttpError

from accounts.schemas import LoginIn, LoginOut
from accounts.services import InvalidCredentials, user_login
from flowviz.http.schemas import DetailOut
from flowviz.http.throttling import login_throttle

router = Router(tags=["accounts"])


@router.post(
    "/login",
    response={200: LoginOut, 401: DetailOut, 429: DetailOut},
    throttle=login_throttle,
    summary="Log in: email (+ password) → user and JWT",
)
async def login(request: HttpRequest, payload: LoginIn) -> dict:
    try:
        result = await sync_to_async(user_login)(email=payload.email, password=payload.password)
    except InvalidCredentials:
        raise HttpError(401, "Invalid credentials") from None
    return {"user": result.user, "token": result.token}
