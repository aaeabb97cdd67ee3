"""Structured logs: one JSON line per request, a request id on every line, tracebacks kept.

`RequestLogMiddleware` takes the request id from `X-Request-ID` (or makes one), echoes it in
the response header and logs method, path, status, duration and user id when the request
ends. Nothing else about the request is logged: no headers (Authorization carries tokens),
no bodies, no query string (legacy clients put tokens there).
"""

from __future__ import annotations

import contextvars
import itertools
import json
import logging
import os
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import orjson
from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponse
from django.utils.functional import SimpleLazyObject, empty

REQUEST_ID_HEADER = "X-Request-ID"
# An incoming id is reused only if it is short and plain, so it cannot forge log lines.
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)

request_logger = logging.getLogger("flowviz.request")

# Attributes every LogRecord has; anything else on a record came from `extra=` and is logged.
_RECORD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the `extra` fields, traceback."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _RECORD_ATTRS and not key.startswith("_"):
                entry[key] = _loggable(value)
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack_info"] = self.formatStack(record.stack_info)
        try:
            return orjson.dumps(entry, default=str).decode()
        except TypeError:  # an int past 64 bits
            return json.dumps(entry, default=str, ensure_ascii=False)


def _loggable(value: Any) -> Any:
    """Plain values as they are; a request as method and path only (its repr has the query
    string, which may carry a token); anything else by its type name, never its repr."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, HttpRequest):
        return f"{value.method} {value.path}"
    if isinstance(value, list | tuple) and all(isinstance(item, str | int | float) for item in value):
        return list(value)
    return f"<{type(value).__name__}>"


class RequestIdFilter(logging.Filter):
    """Puts the current request id on every record logged while a request is handled."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            # django.request logs after the middleware has finished, with the request attached.
            request = getattr(record, "request", None)
            record.request_id = getattr(request, "request_id", None) or request_id_var.get()
        return True


def request_id_from(request: HttpRequest) -> str:
    # From META: request.headers would copy every header first.
    incoming = request.META.get("HTTP_X_REQUEST_ID", "")
    if _SAFE_REQUEST_ID.match(incoming):
        return incoming
    return _request_id_new()


_id_source: tuple[int, str, itertools.count] | None = None


def _request_id_new() -> str:
    """A new id, unique across processes and restarts: 16 random hex digits drawn once per
    process, then a counter. A uuid4 per request read the OS's random source on the event
    loop, a system call that also gave up the GIL to the request threads."""
    global _id_source
    source = _id_source
    if source is None or source[0] != os.getpid():  # first use, or a forked worker
        source = _id_source = (os.getpid(), secrets.token_hex(8), itertools.count())
    return f"{source[1]}{next(source[2]):016x}"


def _user_id(request: HttpRequest) -> str | None:
    # The API's bearer auth sets request.auth (and request.user) to the loaded user. The
    # session's lazy request.user is read only if already evaluated: evaluating it here would
    # hit the database, and from async code would be refused.
    user = getattr(request, "auth", None)
    if user is None:
        user = request.__dict__.get("user")
        if isinstance(user, SimpleLazyObject):
            user = None if user._wrapped is empty else user._wrapped
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return str(user.pk)


class RequestLogMiddleware:
    """Outermost middleware: request id in and out, one log line per request."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]):
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> HttpResponse | Awaitable[HttpResponse]:
        if self.is_async:
            return self._acall(request)
        request_id, token, started = self._begin(request)
        status = 500
        try:
            response = self.get_response(request)
            status = response.status_code
            response[REQUEST_ID_HEADER] = request_id
            return response
        finally:
            self._end(request, request_id, token, started, status)

    async def _acall(self, request: HttpRequest) -> HttpResponse:
        request_id, token, started = self._begin(request)
        status = 500
        try:
            response = await self.get_response(request)
            status = response.status_code
            response[REQUEST_ID_HEADER] = request_id
            return response
        finally:
            self._end(request, request_id, token, started, status)

    @staticmethod
    def _begin(request: HttpRequest) -> tuple[str, contextvars.Token, float]:
        request_id = request_id_from(request)
        request.request_id = request_id
        return request_id, request_id_var.set(request_id), time.perf_counter()

    @staticmethod
    def _end(
        request: HttpRequest, request_id: str, token: contextvars.Token, started: float, status: int
    ) -> None:
        duration_ms = round((time.perf_counter() - started) * 1000, 2)
        level = logging.ERROR if status >= 500 else logging.INFO
        try:
            if request_logger.isEnabledFor(level):
                request_logger.handle(_request_record(request, request_id, level, status, duration_ms))
        finally:
            request_id_var.reset(token)


def _request_record(
    request: HttpRequest, request_id: str, level: int, status: int, duration_ms: float
) -> logging.LogRecord:
    # makeRecord + handle is what Logger.log does, less its walk up the stack for the caller's
    # file and line (no formatter of ours prints them): a quarter of the line's cost in a
    # GIL-only py-spy profile of the health check.
    return request_logger.makeRecord(
        request_logger.name,
        level,
        __file__,
        0,
        "%s %s %s %.2fms",
        (request.method, request.path, status, duration_ms),
        None,
        func="RequestLogMiddleware",
        extra={
            "method": request.method,
            "path": request.path,
            "status": status,
            "duration_ms": duration_ms,
            "user_id": _user_id(request),
            "request_id": request_id,
        },
    )
