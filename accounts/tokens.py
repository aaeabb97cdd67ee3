"""JWT access tokens (PyJWT). The accepted algorithm is pinned on decode and `exp` is required."""

from __future__ import annotations

import functools
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from django.conf import settings


class InvalidToken(Exception):
    """The token is missing, malformed, expired, or not signed by us."""


def token_issue(*, user_id: str, role: str, now: datetime | None = None) -> str:
    issued_at = now or datetime.now(UTC)
    payload = {
        "sub": str(user_id),
        "role": role,
        "iat": int(issued_at.timestamp()),
        "exp": int((issued_at + timedelta(minutes=settings.JWT_EXPIRE_MINUTES)).timestamp()),
    }
    return jwt.encode(payload, settings.JWT_SECRET, algorithm=settings.JWT_ALGORITHM)


def token_decode(token: str) -> dict[str, Any]:
    """The token's claims, once its signature and claims are checked; InvalidToken otherwise.

    A token that passed is remembered (per process, by secret, algorithm and token): its
    signature cannot change, so a repeat only needs its expiry checked again. PyJWT's own
    checks cost ~30 us per request, every character of the token checked in Python."""
    claims = _verified(settings.JWT_SECRET, settings.JWT_ALGORITHM, token)
    if claims["exp"] <= time.time():
        raise InvalidToken("Signature has expired")
    return dict(claims)


@functools.lru_cache(maxsize=4096)
def _verified(secret: str, algorithm: str, token: str) -> dict[str, Any]:
    # A refused token raises, and is not remembered.
    try:
        return jwt.decode(
            token,
            secret,
            # Only our configured algorithm; never "none", never one chosen by the token.
            algorithms=[algorithm],
            options={"require": ["exp", "iat", "sub"]},
        )
    except jwt.PyJWTError as exc:
        raise InvalidToken(str(exc)) from exc
