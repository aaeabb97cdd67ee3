"""Queries on the event loop, for the one query every API request makes: authentication.

Run through Django's ORM, that query costs a trip to a worker thread and back (asgiref's
`sync_to_async`), a connection taken from and given back to Django's pool, and then, at the
end of the request, one more trip to close the response in that thread. Measured in-process
on a warm traceability read, the authentication query was half of the request's CPU; the
read itself (one Valkey round trip) a tenth. So the API's authentication runs its query here,
on a small psycopg `AsyncConnectionPool` of the worker's own event loop, and a request that
needs nothing else from the database (a warm cached read) never leaves the event loop.

- One pool per process, bound to the event loop of the first request the API's ASGI handler
  serves (a gunicorn/uvicorn worker has exactly one). Code running in another loop (asgiref's
  `async_to_sync`, a test's `asyncio.run`) is told `available()` is False and uses the ORM.
- Its size is DB_ASYNC_POOL_MAX_SIZE (2) per worker, beside Django's DB_POOL_MAX_SIZE: a
  worker holds at most the sum (README, "Configuration").
- Faults behave as on the ORM's path (flowviz/ops/postgresql/base.py): while the database
  breaker is open no connection is tried; a connection or query failure, or no answer within
  DB_POOL_TIMEOUT (DB_PROBE_TIMEOUT while the breaker is suspect; a frozen server included),
  trips the breaker and raises Django's OperationalError, which the API answers with 503 and
  Retry-After.
- The query is prepared server-side after its fifth run (psycopg's default: less parsing and
  planning in PostgreSQL), except behind PgBouncer in transaction mode (DB_DISABLE_SERVER_SIDE_CURSORS).
- DB_ASYNC_AUTH=false turns it off (the ORM path then serves every request).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Sequence
from typing import Any, TypeVar

import psycopg
import psycopg_pool
from django.conf import settings
from django.db import OperationalError, connections

from flowviz.ops.breakers import database_breaker

T = TypeVar("T")

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_pool: psycopg_pool.AsyncConnectionPool | None = None
_opening: asyncio.Future | None = None

# What Django passes to psycopg that is not a libpq connection parameter (or, for
# prepare_threshold, Django's None: set below).
_NOT_LIBPQ = frozenset({"cursor_factory", "context", "prepare_threshold"})


def loop_claim() -> None:
    """Give the pool to the running event loop, unless a loop has it already. Called by the
    API's ASGI handler (flowviz/http/asgi.py), so the server's own loop gets it, never a loop
    asgiref makes for one request (an idempotent write runs in one)."""
    global _loop
    if _loop is None and settings.DB_ASYNC_AUTH:
        with _lock:
            if _loop is None:
                _loop = asyncio.get_running_loop()


def available() -> bool:
    """Whether this code runs in the event loop the pool belongs to."""
    if not settings.DB_ASYNC_AUTH or _loop is None:
        return False
    try:
        return asyncio.get_running_loop() is _loop
    except RuntimeError:
        return False


def _connection_kwargs() -> dict[str, Any]:
    params = connections["default"].get_connection_params()
    kwargs = {key: value for key, value in params.items() if key not in _NOT_LIBPQ}
    kwargs["autocommit"] = True
    if connections["default"].settings_dict.get("DISABLE_SERVER_SIDE_CURSORS"):
        # Behind PgBouncer in transaction mode (README): no server-side prepared statements.
        kwargs["prepare_threshold"] = None
    return kwargs


async def _pool_get() -> psycopg_pool.AsyncConnectionPool:
    global _pool, _opening
    if _pool is None:
        # Built and published before the first await, so requests arriving together share one
        # pool; each waits for the same opening.
        _pool = psycopg_pool.AsyncConnectionPool(
            kwargs=_connection_kwargs(),
            min_size=1,
            max_size=max(1, settings.DB_ASYNC_POOL_MAX_SIZE),
            timeout=settings.DB_POOL_TIMEOUT,
            name="flowviz-async",
            open=False,
        )
        # No wait for the first connection: a database that is down is found (and the
        # breaker told) by the query, within its timeout.
        _opening = asyncio.ensure_future(_pool.open(wait=False))
    if _opening is not None and not _opening.done():
        await asyncio.shield(_opening)
    return _pool


async def fetch_one(sql: str, params: Sequence[Any]) -> tuple | None:
    """The first row of `sql` (or None), run on this event loop's pool. Only where
    `available()`; database failures raise Django's OperationalError (answered 503)."""
    if not database_breaker.usable():
        raise OperationalError(f"the database failed less than {database_breaker.retry_seconds}s ago")
    timeout = settings.DB_PROBE_TIMEOUT if database_breaker.suspect else settings.DB_POOL_TIMEOUT
    try:
        pool = await _pool_get()
        row = await _within(timeout, _fetch_one(pool, sql, params, timeout))
    except (psycopg.OperationalError, psycopg_pool.PoolTimeout, TimeoutError) as exc:
        database_breaker.failed("no answer on the event loop's pool; requests answer 503")
        raise OperationalError(str(exc) or "no answer from the database") from exc
    database_breaker.succeeded()
    return row


async def _fetch_one(
    pool: psycopg_pool.AsyncConnectionPool, sql: str, params: Any, timeout: float
) -> tuple | None:
    async with pool.connection(timeout=timeout) as connection:
        cursor = await connection.execute(sql, params)
        return await cursor.fetchone()


async def _within(timeout: float, query: Coroutine[Any, Any, T]) -> T:
    """`query`'s result, or TimeoutError after `timeout` seconds without waiting for it to wind
    down: a cancelled psycopg query first asks the server to cancel it and waits for that (up to
    10 s, from a frozen server never), which `asyncio.timeout` would make the request sit out.
    The cancelled query finishes in the background; its connection is then discarded."""
    task = asyncio.ensure_future(query)
    try:
        done, _ = await asyncio.wait((task,), timeout=timeout)
    except asyncio.CancelledError:  # the request itself was cancelled (client gone)
        task.cancel()
        task.add_done_callback(_ignore_outcome)
        raise
    if not done:
        task.cancel()
        task.add_done_callback(_ignore_outcome)
        raise TimeoutError(f"no answer from the database within {timeout}s")
    return task.result()


def _ignore_outcome(task: asyncio.Future) -> None:
    if not task.cancelled():
        task.exception()  # retrieved: asyncio would log it as never retrieved


async def pool_close() -> None:
    """Close the pool and free the loop (tests; a worker's pool ends with its process)."""
    global _pool, _loop, _opening
    pool, _pool, _opening = _pool, None, None
    if pool is not None:
        await pool.close()
    with _lock:
        _loop = None
