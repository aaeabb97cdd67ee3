"""A per-process circuit breaker for optional uses of the shared cache (Valkey).

Rate limits and cached reads fall back when Valkey is unreachable, but each attempt still
waits for the socket timeout, and the rate limit runs on the event loop, so a dead Valkey
would stall every request of a worker. After one failure these callers skip the cache for
`CACHE_RETRY_SECONDS`, then try again. Invalidation never uses the breaker: it always tries.
"""

from __future__ import annotations

import logging
import time

from django.conf import settings

logger = logging.getLogger(__name__)

_skip_until = 0.0


def cache_usable() -> bool:
    """False while a recent failure says the cache is down."""
    return time.monotonic() >= _skip_until


def cache_failed(what: str) -> None:
    """Record a failure of the cache; logged once per outage window, with the traceback."""
    global _skip_until
    if cache_usable():
        logger.warning(
            "cache unavailable (%s); skipped for %ss", what, settings.CACHE_RETRY_SECONDS, exc_info=True
        )
    _skip_until = time.monotonic() + settings.CACHE_RETRY_SECONDS


def cache_reset() -> None:
    """Forget past failures (tests, or after a known recovery)."""
    global _skip_until
    _skip_until = 0.0
