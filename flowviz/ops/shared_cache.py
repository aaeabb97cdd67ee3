"""The default cache as one object per process.

`django.core.cache.cache` is a new backend object per asyncio task, i.e. per request under
ASGI (Django keeps cache connections in a context-local), and django-redis then builds a new
Valkey client object for it: about a tenth of a warm traceability read's CPU went into
building those. The backends are thread-safe (django-redis shares one connection pool per
server; LocMemCache locks), so the hot paths (cached reads, throttles) share one per process.
Replaced when a test overrides CACHES.
"""

from __future__ import annotations

import threading
from typing import Any

from django.core.cache import BaseCache, caches
from django.core.signals import setting_changed

_lock = threading.Lock()
_backend: BaseCache | None = None


def cache_backend() -> BaseCache:
    """The process's default-cache backend object (e.g. to ask which kind of cache it is)."""
    global _backend
    backend = _backend
    if backend is None:
        with _lock:
            if _backend is None:
                _backend = caches.create_connection("default")
            backend = _backend
    return backend


class _ProcessCache:
    """Delegates to the process's one default-cache backend."""

    def __getattr__(self, name: str) -> Any:
        return getattr(cache_backend(), name)


cache = _ProcessCache()


def _forget(*, setting: str, **kwargs: Any) -> None:
    global _backend
    if setting == "CACHES":
        with _lock:
            _backend = None


setting_changed.connect(_forget)
