"""Rate limits shared by every API process through the Django cache (Valkey in production).

A counter per (scope, client, window): the first request of a window creates it with
`cache.add` (with an expiry), every request then takes a ticket with `cache.incr`.
Both are single atomic commands on Valkey/Redis (INCR), so N simultaneous requests get N
distinct ticket numbers and exactly `limit` of them pass; the in-process cache does the same
under its lock. django-ninja's built-in throttles read, then write the history (not atomic),
which is fine for fairness but not for the login limit, a security control.

The client is the authenticated user when there is one (auth runs before throttles), else the
IP address (X-Forwarded-For is only trusted for `NUM_PROXIES` hops).

Valkey unreachable: the fairness limits (read, write, traceability) fail open, but the login
limit is a security control, so it is then counted in the process's own memory instead: at
most `limit * processes` logins get through per window, never an unlimited number.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache.backends.locmem import LocMemCache
from django.http import HttpRequest
from ninja.throttling import BaseThrottle

from flowviz.ops.cache_guard import cache_failed, cache_usable
from flowviz.ops.proxies import client_ip
from flowviz.ops.shared_cache import cache

logger = logging.getLogger(__name__)

_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}

# Scopes still counted, per process, while the shared cache is unreachable.
FAIL_CLOSED_SCOPES = frozenset({"login"})
# The per-process counters of those scopes (LocMemCache: add and incr are atomic under its lock).
_local_counters = LocMemCache("flowviz-throttle-fallback", {"OPTIONS": {"MAX_ENTRIES": 10_000}})


@dataclass(frozen=True)
class Rate:
    limit: int
    period_seconds: int


def rate_parse(rate: str) -> Rate:
    """`"10/m"` → Rate(10, 60). Periods: s, m, h, d (also `sec`, `min`, ...: first letter counts)."""
    count, _, period = rate.partition("/")
    try:
        limit = int(count)
        seconds = _PERIODS[period.strip().lower()[:1]]
    except (ValueError, KeyError) as exc:
        raise ValueError(f"Invalid rate {rate!r}; expected N/s, N/m, N/h or N/d") from exc
    if limit < 0:
        raise ValueError(f"Invalid rate {rate!r}; the count must not be negative")
    return Rate(limit, seconds)


def throttle_hit(*, scope: str, ident: str, rate: Rate, now: float | None = None) -> float | None:
    """Count one request; None when allowed, else the seconds to wait before retrying.

    A sliding window estimated from two fixed windows: the previous window's count weighs
    in for the part of it still inside the last `period` seconds, so a client cannot pass
    `limit` requests at the end of one window and `limit` more at the start of the next.
    """
    now = time.time() if now is None else now
    period = rate.period_seconds
    window = int(now // period)
    key = f"throttle:{scope}:{ident}:{window}"
    previous_key = f"throttle:{scope}:{ident}:{window - 1}"
    counts = None
    if cache_usable():
        try:
            counts = _count(cache, key=key, previous_key=previous_key, period=period)
        except Exception:
            # A dead cache must not take the API down with it: stop trying for a moment (this
            # runs on the event loop) and fall back below, loudly.
            cache_failed("rate limits; login limit counted per process, other limits off")
    if counts is None:
        if scope not in FAIL_CLOSED_SCOPES:
            return None
        counts = _count(_local_counters, key=key, previous_key=previous_key, period=period)
    count, previous = counts
    elapsed = now - window * period
    to_window_end = period - elapsed
    if count > rate.limit:
        return max(to_window_end, 1.0)
    still_counted = previous * (1 - elapsed / period)
    excess = still_counted + count - rate.limit
    if excess <= 0:
        return None
    # The previous window's weight drops by previous/period per second.
    return max(min(excess * period / previous, to_window_end), 1.0)


def _count(store, *, key: str, previous_key: str, period: int) -> tuple[int, int]:
    """Take a ticket in this window's counter; (ticket number, previous window's count)."""
    # The counter lives two windows (+1 s of clock skew) so the next window can read it.
    ttl = 2 * period + 1
    backend = getattr(store, "client", None)
    if hasattr(backend, "get_client"):  # django-redis (Valkey): one round trip, not three
        return _count_valkey(store, key=key, previous_key=previous_key, ttl=ttl)
    store.add(key, 0, timeout=ttl)
    try:
        count = store.incr(key)
    except ValueError:  # evicted between add and incr: count from here
        store.add(key, 1, timeout=2 * period + 1)
        count = 1
    return count, int(store.get(previous_key) or 0)


def _count_valkey(store, *, key: str, previous_key: str, ttl: int) -> tuple[int, int]:
    # The three commands of `_count` in one MULTI/EXEC: one round trip (this runs on the event
    # loop for every throttled request), and the INCR can never find the key gone and create
    # it without an expiry. django-redis stores integers unencoded, so `incr` and `get` of the
    # cache API read these counters as usual.
    pipe = store.client.get_client(write=True).pipeline(transaction=True)
    counter = store.client.make_key(key)
    pipe.set(counter, 0, ex=ttl, nx=True)
    pipe.incr(counter)
    pipe.get(store.client.make_key(previous_key))
    _, count, previous = pipe.execute()
    return int(count), int(previous or 0)


def throttle_fallback_reset() -> None:
    """Forget the per-process counters (tests)."""
    _local_counters.clear()


def client_ident(request: HttpRequest) -> str:
    user = getattr(request, "auth", None)
    user_id = getattr(user, "pk", None)
    if user_id is not None:
        return f"user:{user_id}"
    return f"ip:{client_ip(request)}"


class ScopeThrottle(BaseThrottle):
    """The throttle of an endpoint group; its rate is `settings.THROTTLE_RATES[scope]`."""

    def __init__(self, scope: str):
        self.scope = scope
        # ninja asks wait() right after allow_request(); kept per thread for sync workers.
        self._last = threading.local()

    def allow_request(self, request: HttpRequest) -> bool:
        self._last.wait = None
        if not settings.THROTTLE_ENABLED:
            return True
        rate = rate_parse(settings.THROTTLE_RATES[self.scope])
        wait = throttle_hit(scope=self.scope, ident=client_ident(request), rate=rate)
        self._last.wait = wait
        return wait is None

    def wait(self) -> float | None:
        wait = getattr(self._last, "wait", None)
        return None if wait is None else float(math.ceil(wait))


login_throttle = ScopeThrottle("login")
traceability_throttle = ScopeThrottle("traceability")
write_throttle = ScopeThrottle("write")
read_throttle = ScopeThrottle("read")
