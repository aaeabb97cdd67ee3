"""The client's address behind the trusted reverse proxies (NUM_PROXIES)."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    """The client's address, trusting X-Forwarded-For only for NUM_PROXIES hops (rate limits,
    the /metrics allow-list)."""
    remote = request.META.get("REMOTE_ADDR", "") or "unknown"
    proxies = settings.NUM_PROXIES
    if proxies > 0:
        forwarded = [p.strip() for p in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if p.strip()]
        if forwarded:
            # The address the nearest trusted proxy saw; earlier entries are client-supplied.
            return forwarded[-min(proxies, len(forwarded))]
    return remote
