"""The default cache shared by a whole process (flowviz/ops/shared_cache.py)."""

from __future__ import annotations

import asyncio
import contextvars
from concurrent.futures import ThreadPoolExecutor

from django.core.cache import caches
from django.test import override_settings

from flowviz.ops import shared_cache
from flowviz.ops.shared_cache import cache


def _backend() -> object:
    return shared_cache.cache_backend()


def test_every_thread_and_task_uses_the_same_backend_object():
    async def in_a_task() -> object:
        return _backend()

    with ThreadPoolExecutor(4) as pool:
        from_threads = set(map(id, pool.map(lambda _: _backend(), range(8))))
    from_tasks = {id(asyncio.run(in_a_task())) for _ in range(3)}
    assert from_threads == from_tasks == {id(_backend())}


def test_django_gives_each_request_context_a_backend_of_its_own_which_is_why_this_exists():
    # Under ASGI every request runs in a context of its own, where `caches` starts empty.
    first = contextvars.Context().run(lambda: caches["default"])
    second = contextvars.Context().run(lambda: caches["default"])
    assert first is not second


def test_it_reads_and_writes_the_configured_default_cache():
    cache.set("shared-cache-probe", b"value", timeout=30)
    assert caches["default"].get("shared-cache-probe") == b"value"


def test_overriding_caches_gives_a_new_backend_and_restoring_them_another():
    before = _backend()
    with override_settings(CACHES={"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}):
        cache.set("shared-cache-probe", b"value")
        assert cache.get("shared-cache-probe") is None
    assert _backend() is not before


def test_valkey_replies_are_parsed_by_the_compiled_parser():
    # valkey[libvalkey] (pyproject.toml): an MGET's reply parsed in C cost 27-33 us of CPU
    # against 44-45 us in valkey's Python parser (measured on the bench machine).
    from valkey.connection import DefaultParser
    from valkey.utils import LIBVALKEY_AVAILABLE

    assert LIBVALKEY_AVAILABLE
    assert DefaultParser.__name__ == "_LibvalkeyParser"
