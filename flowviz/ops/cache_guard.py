"""A per-process circuit breaker for the shared cache (Valkey).

Rate limits and cached reads fall back when Valkey is unreachable, but each attempt still
waits for the socket timeout, and the rate limit runs on the event loop, so a dead Valkey
would stall every request of a worker. After one failure these callers skip the cache for
`CACHE_RETRY_SECONDS`, then try again. Invalidations skipped or lost meanwhile are made up
for by the cache generation kept in PostgreSQL (lots/cache.py).
"""

from __future__ import annotations

import logging

from flowviz.ops.breakers import CircuitBreaker

logger = logging.getLogger(__name__)

cache_breaker = CircuitBreaker("cache", retry_setting="CACHE_RETRY_SECONDS", logger=logger)


def cache_usable() -> bool:
    """False while a recent failure says the cache is down."""
    return cache_breaker.usable()


def cache_failed(what: str) -> None:
    """Record a failure of the cache; logged once per outage window, with the traceback."""
    cache_breaker.failed(what)


def cache_reset() -> None:
    """Forget past failures (tests, or after a known recovery)."""
    cache_breaker.reset()
