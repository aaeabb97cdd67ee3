"""A shorter middleware chain for /api requests under ASGI.

Django runs each classic (`MiddlewareMixin`) middleware's hooks in a worker thread when it
serves asynchronously: two thread hops per middleware and request. The browser-session
middleware (sessions, CSRF, auth, messages) does nothing for the bearer-token API, so /api
requests skip it (`settings.API_SKIPPED_MIDDLEWARE`); the header-only middleware whose hooks
never do I/O (security, common, X-Frame-Options) runs inline on the event loop. Every other
middleware in `settings.MIDDLEWARE` (e.g. one added for request metrics) is kept, in order.
The admin and everything else keep the full chain.

Django also gives every request a fresh one-thread executor for its thread-sensitive work
(the ORM) and joins the thread afterwards; starting and joining an OS thread per request was
a third of the event loop's time in a py-spy profile. /api requests borrow a one-thread
executor from a pool instead and give it back, so threads (and their pooled database
connection, returned at request end as always) are reused.

Two more thread hops per request are saved (see `APIASGIHandler.handle`): the
`request_started` receivers run inline, and so does the response's `close()` (which sends
`request_finished`) when the request did no work in its thread. Sent on the event loop, the
two signals skip Django's receivers that act on the calling thread's database connections
(`_send_on_the_loop`).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import inspect
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.conf import settings
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers import base
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.db import DEFAULT_DB_ALIAS, close_old_connections, connection, reset_queries
from django.dispatch import Signal
from django.middleware.clickjacking import XFrameOptionsMiddleware
from django.middleware.common import CommonMiddleware
from django.middleware.security import SecurityMiddleware
from django.urls import ResolverMatch, get_resolver, set_script_prefix

from flowviz.ops import async_db

T = TypeVar("T")


class _InlineHooks:
    """Run process_request/process_response on the event loop (they are CPU-only here)."""

    async def __acall__(self, request):
        response = None
        if hasattr(self, "process_request"):
            response = self.process_request(request)
        response = response or await self.get_response(request)
        if hasattr(self, "process_response"):
            response = self.process_response(request, response)
        return response


class InlineSecurityMiddleware(_InlineHooks, SecurityMiddleware):
    pass


class InlineCommonMiddleware(_InlineHooks, CommonMiddleware):
    pass


class InlineXFrameOptionsMiddleware(_InlineHooks, XFrameOptionsMiddleware):
    pass


INLINE_VARIANTS = {
    "django.middleware.security.SecurityMiddleware": f"{__name__}.InlineSecurityMiddleware",
    "django.middleware.common.CommonMiddleware": f"{__name__}.InlineCommonMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware": f"{__name__}.InlineXFrameOptionsMiddleware",
}


def api_middleware() -> list[str]:
    skipped = set(getattr(settings, "API_SKIPPED_MIDDLEWARE", ()))
    return [INLINE_VARIANTS.get(path, path) for path in settings.MIDDLEWARE if path not in skipped]


class _SettingsWithMiddleware:
    def __init__(self, wrapped: Any, middleware: list[str]):
        self._wrapped = wrapped
        self.MIDDLEWARE = middleware

    def __getattr__(self, name: str) -> Any:
        return getattr(self._wrapped, name)


# asgiref >= 3.10 lets the caller own a context's executor.
_CONTEXT_TAKES_EXECUTOR = "executor" in inspect.signature(ThreadSensitiveContext).parameters


# Set while a call that hands its database connection back before returning is submitted.
_releases_connection: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "flowviz_releases_connection", default=False
)


class _RequestExecutor(ThreadPoolExecutor):
    """The one-thread executor of a request; remembers whether the request used it in a way
    that may have left a database connection open in its thread."""

    used = False

    def submit(self, fn, /, *args, **kwargs):
        if not _releases_connection.get():
            self.used = True
        return super().submit(fn, *args, **kwargs)


def _released(fn: Callable[..., T], args: tuple, kwargs: dict[str, Any]) -> T:
    try:
        return fn(*args, **kwargs)
    finally:
        # Back to the pool now (as request_finished would), unless a transaction of the
        # request's (an idempotent write runs whole in one, and its own submit already marked
        # the executor used) is still using it.
        if not connection.in_atomic_block:
            connection.close()


def _connections_pooled() -> bool:
    # Without the pool (DB_POOL=false: persistent connections, e.g. behind PgBouncer) the
    # thread keeps its connection, and request_finished must run in that thread to check it
    # (CONN_MAX_AGE, a broken connection): no early release, Django's closing trip.
    # From the settings: `connections[...]` on the event loop builds a new connection object
    # for every request's context.
    return bool(settings.DATABASES[DEFAULT_DB_ALIAS].get("OPTIONS", {}).get("pool"))


async def db_call(fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """`await sync_to_async(fn)(*args, **kwargs)` for a handler's database work, giving the
    connection back to the pool as soon as `fn` returns (what `request_finished` would do at
    the end of the request): the response is then closed without one more thread hop. A
    request that calls twice takes a pooled connection twice, which costs less than the hop."""
    if not _connections_pooled():
        return await sync_to_async(fn)(*args, **kwargs)
    token = _releases_connection.set(True)
    try:
        return await sync_to_async(_released)(fn, args, kwargs)
    finally:
        _releases_connection.reset(token)


# Django's receivers of request_started/request_finished that act on the calling thread's
# database connections. The event loop's thread never holds one (the ORM refuses to run there;
# the authentication pool is psycopg's own), so there they only walk an empty list: a twentieth
# of a warm read's CPU in a GIL-only py-spy profile, both signals together.
_THREAD_CONNECTION_RECEIVERS = (reset_queries, close_old_connections)


async def _send_on_the_loop(signal: Signal, sender: Any, **named: Any) -> None:
    """`signal.send(sender, **named)` from the event loop's thread, without the receivers that
    only act on this thread's database connections; every other receiver runs, in order."""
    sync_receivers, async_receivers = signal._live_receivers(sender)
    for receiver in sync_receivers:
        if receiver not in _THREAD_CONNECTION_RECEIVERS:
            receiver(signal=signal, sender=sender, **named)
    if async_receivers:
        await asyncio.gather(
            *(receiver(signal=signal, sender=sender, **named) for receiver in async_receivers)
        )


async def _close_on_the_loop(response) -> None:
    """`response.close()` (Django 5.2's `HttpResponseBase.close`) with `request_finished` sent
    by `_send_on_the_loop`."""
    for closer in response._resource_closers:
        with contextlib.suppress(Exception):  # as Django: a failing closer does not stop the rest
            closer()
    response._resource_closers.clear()
    response.closed = True
    await _send_on_the_loop(signals.request_finished, response._handler_class)


@functools.lru_cache(maxsize=4096)
def _resolved(urlconf: str, path: str) -> ResolverMatch:
    # Resolver404 is raised, not cached: unknown paths cannot fill the cache.
    return get_resolver(urlconf).resolve(path)


class APIASGIHandler(ASGIHandler):
    def __init__(self) -> None:
        super().__init__()
        self._idle_executors: deque[_RequestExecutor] = deque()
        self._current_executor: contextvars.ContextVar[_RequestExecutor | None] = contextvars.ContextVar(
            "flowviz_api_executor", default=None
        )

    async def __call__(self, scope, receive, send) -> None:
        async_db.loop_claim()  # the server's loop gets the authentication pool
        if not _CONTEXT_TAKES_EXECUTOR:
            return await super().__call__(scope, receive, send)
        try:
            executor = self._idle_executors.pop()
        except IndexError:
            executor = _RequestExecutor(max_workers=1, thread_name_prefix="flowviz-api")
        executor.used = False
        token = self._current_executor.set(executor)
        try:
            async with ThreadSensitiveContext(executor=executor):
                await self.handle(scope, receive, send)
        finally:
            self._current_executor.reset(token)
            self._idle_executors.append(executor)

    async def handle(self, scope, receive, send) -> None:
        """Django's `ASGIHandler.handle` with two thread hops fewer per request.

        Django sends `request_started` and closes the response (which sends
        `request_finished`) in the request's worker thread, because their receivers
        (`close_old_connections`, `reset_queries`) act on the calling thread's database
        connections. At request start that thread holds none (it returned its connection
        when its previous request finished) and the event loop thread never has one, so
        `request_started` runs inline; the close runs inline too unless the request ran
        something in its worker thread (then a connection may be open there: hop, as Django).
        """
        executor = self._current_executor.get()
        if executor is None:
            return await super().handle(scope, receive, send)
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        set_script_prefix(get_script_prefix(scope))
        await _send_on_the_loop(signals.request_started, self.__class__, scope=scope)
        request, error_response = self.create_request(scope, body_file)
        if request is None:
            body_file.close()
            await self.send_response(error_response, send)
            await self._close(error_response, executor)
            return

        async def process_request(request, send):
            response = await self.run_get_response(request)
            # The client may disconnect while the response is sent.
            with contextlib.suppress(asyncio.CancelledError):
                await self.send_response(response, send)
            return response

        # As Django does: a client disconnect cancels the request's processing.
        tasks = [
            asyncio.create_task(self.listen_for_disconnect(receive)),
            asyncio.create_task(process_request(request, send)),
        ]
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in tasks:
            if task.done():
                try:
                    task.result()
                except RequestAborted:
                    pass
                except AssertionError:
                    body_file.close()
                    raise
            else:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        try:
            response = tasks[1].result()
        except asyncio.CancelledError:
            if executor.used:
                await signals.request_finished.asend(sender=self.__class__)
            else:
                await _send_on_the_loop(signals.request_finished, self.__class__)
        else:
            await self._close(response, executor)
        body_file.close()

    def resolve_request(self, request) -> ResolverMatch:
        """Django's, remembered per path: resolving an /api path tries every API route in turn
        and records each one tried (for the debug 404 page), a fifth of a health check's CPU
        in a profile. The URLconf does not change while the process runs; the match is only
        read (its kwargs are copied into the view's call)."""
        if hasattr(request, "urlconf"):
            return super().resolve_request(request)
        match = _resolved(settings.ROOT_URLCONF, request.path_info)
        request.resolver_match = match
        return match

    @staticmethod
    async def _close(response, executor: _RequestExecutor) -> None:
        if executor.used:
            await sync_to_async(response.close)()
        else:
            await _close_on_the_loop(response)

    def load_middleware(self, is_async: bool = False) -> None:
        # BaseHandler.load_middleware reads settings.MIDDLEWARE; show it the API list instead.
        # Runs once, when the handler is built at startup.
        real_settings = base.settings
        base.settings = _SettingsWithMiddleware(real_settings, api_middleware())
        try:
            super().load_middleware(is_async=is_async)
        finally:
            base.settings = real_settings


def with_api_fast_path(django_application: ASGIHandler, prefix: str = "/api/") -> Any:
    """An ASGI app sending HTTP requests under `prefix` to the short chain, the rest as before."""
    api_application = APIASGIHandler()

    async def application(scope, receive, send):
        if scope["type"] == "http" and scope.get("path", "").startswith(prefix):
            return await api_application(scope, receive, send)
        return await django_application(scope, receive, send)

    return application
