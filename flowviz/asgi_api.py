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
"""

from __future__ import annotations

import inspect
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from asgiref.sync import ThreadSensitiveContext
from django.conf import settings
from django.core.handlers import base
from django.core.handlers.asgi import ASGIHandler
from django.middleware.clickjacking import XFrameOptionsMiddleware
from django.middleware.common import CommonMiddleware
from django.middleware.security import SecurityMiddleware


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


class APIASGIHandler(ASGIHandler):
    def __init__(self) -> None:
        super().__init__()
        self._idle_executors: deque[ThreadPoolExecutor] = deque()

    async def __call__(self, scope, receive, send) -> None:
        if not _CONTEXT_TAKES_EXECUTOR:
            return await super().__call__(scope, receive, send)
        try:
            executor = self._idle_executors.pop()
        except IndexError:
            executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="flowviz-api")
        try:
            async with ThreadSensitiveContext(executor=executor):
                await self.handle(scope, receive, send)
        finally:
            self._idle_executors.append(executor)

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
