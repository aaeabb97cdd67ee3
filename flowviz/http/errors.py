"""Every error the API can meet, mapped once to its status and its body.

Every error body has `detail` and `error` (contract, "errors"): the typed client shows
`detail`, the frontend's older screens read `error` (the legacy server's key) and crash
without it. For 422, `detail` is the list of validation errors and `error` one line naming
the first offending field (`lot_code: Field required`, `parents[0].lot_code: ...`).

Services stay HTTP-free: they raise flowviz.core.errors (Conflict, FieldInvalid, Refused),
Django's Http404 / DoesNotExist, or let the database's IntegrityError through; auth raises
ninja's AuthenticationError or accounts.auth.RoleNotAllowed / CrossSiteRefused (an HttpError);
ninja raises HttpError (400 unparsable body, 429) and ValidationError (422). `install_error_handlers`
registers one handler for each on the NinjaAPI (flowviz/api.py calls it).

What never reaches a handler of the NinjaAPI (a path under /api/ that matches no route, a
method the route does not take, Django's own 400/403/500 pages) is answered in the same
shape by `ApiErrorBodyMiddleware`; the admin and everything outside /api/ keep Django's pages.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable, Sequence
from http import HTTPStatus
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.core.exceptions import ObjectDoesNotExist, RequestDataTooBig
from django.db import IntegrityError, InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from accounts.auth import RoleNotAllowed
from flowviz.core.errors import Conflict, FieldInvalid, Refused, constraint_conflict, violated_constraint
from flowviz.http.parsers import BodyRejected
from flowviz.http.renderers import json_dumps
from flowviz.ops.breakers import database_breaker

logger = logging.getLogger("flowviz.api")

API_PREFIX = "/api/"
INTERNAL_ERROR = "Internal server error"
SERVICE_UNAVAILABLE = "Service unavailable"
# Messages of the statuses Django answers by itself, where they differ from HTTP's phrase.
_DJANGO_ERROR_MESSAGES = {500: INTERNAL_ERROR, 413: "Request body too large"}
# The parts of a validation error's `loc` that say where the value came from, not which field.
_SOURCES = frozenset({"body", "query", "path", "header", "cookie", "form", "file"})


def error_body(message: str) -> dict[str, str]:
    """The body of every error but a validation error: `detail` and `error`, the same text."""
    return {"detail": message, "error": message}


def field_path(loc: Sequence[str | int]) -> str:
    """A validation error's field as one readable path: `parents[0].lot_code`.

    The source (`body`, `query`, ...) is left out, and for the body the name of the view's
    body parameter too (`["body", "payload", "lot_code"]` → `lot_code`).
    """
    parts = list(loc)
    if parts and parts[0] in _SOURCES:
        source = parts.pop(0)
        if source == "body" and parts:
            parts.pop(0)
        if not parts:
            return str(source)
    path = ""
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def validation_body(errors: list[dict[str, Any]]) -> dict[str, Any]:
    """A 422 body: the errors as Pydantic reports them, and one line naming the first field."""
    first = errors[0] if errors else {"loc": ["body"], "msg": "Invalid request"}
    return {"detail": errors, "error": f"{field_path(first.get('loc') or ['body'])}: {first.get('msg', '')}"}


def install_error_handlers(api: NinjaAPI) -> None:
    """Register the error → response mapping on `api`."""

    def answer(request: HttpRequest, status: int, message: str) -> HttpResponse:
        return api.create_response(request, error_body(message), status=status)

    def not_authenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        response = answer(request, 401, "Not authenticated")
        response["WWW-Authenticate"] = "Bearer"
        return response

    def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        # ninja's own: 400 "Cannot parse request body", 429 (Retry-After is added by ninja);
        # ninja wraps what our body parser refused (flowviz/http/parsers.py) in its 400.
        if isinstance(exc.__cause__, BodyRejected):
            return body_rejected(request, exc.__cause__)
        return answer(request, exc.status_code, str(exc))

    def body_rejected(request: HttpRequest, exc: BodyRejected) -> HttpResponse:
        if exc.errors:
            return api.create_response(request, validation_body(exc.errors), status=exc.status)
        return answer(request, exc.status, exc.message)

    def validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
        return api.create_response(request, validation_body(exc.errors), status=422)

    def field_invalid(request: HttpRequest, exc: FieldInvalid) -> HttpResponse:
        return api.create_response(request, validation_body([exc.as_error()]), status=422)

    def unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
        # The traceback goes to the log only; the client gets a fixed body.
        logger.exception("Unhandled error on %s %s", request.method, request.path)
        return answer(request, 500, INTERNAL_ERROR)

    def integrity_error(request: HttpRequest, exc: IntegrityError) -> HttpResponse:
        # A contract constraint the services did not pre-check (a race they lost) is the 409
        # the contract names; any other violated constraint is a bug or a schema the code does
        # not know: a 500, logged with its traceback.
        conflict = constraint_conflict(exc)
        if conflict is None:
            logger.error(
                "integrity error outside the contract (constraint %s) on %s %s",
                violated_constraint(exc),
                request.method,
                request.path,
                exc_info=exc,
            )
            return answer(request, 500, INTERNAL_ERROR)
        logger.info(
            "conflict on %s %s: constraint %s", request.method, request.path, violated_constraint(exc)
        )
        return answer(request, 409, conflict.message)

    def database_unavailable(request: HttpRequest, exc: Exception) -> HttpResponse:
        # The database is down or restarting (no connection, or one that died under the query):
        # a documented 503 the client may retry, not a 500. The breaker makes the next
        # connection attempt quick (flowviz/ops/postgresql/base.py).
        database_breaker.suspected()
        logger.warning("database unavailable on %s %s: %s", request.method, request.path, exc)
        response = answer(request, 503, SERVICE_UNAVAILABLE)
        wait = database_breaker.remaining() or database_breaker.retry_seconds
        response["Retry-After"] = str(max(1, math.ceil(wait)))
        return response

    handlers: dict[type[Exception], Callable[[HttpRequest, Any], HttpResponse]] = {
        AuthenticationError: not_authenticated,
        HttpError: http_error,
        BodyRejected: body_rejected,
        ValidationError: validation_error,
        RoleNotAllowed: lambda request, exc: answer(request, 403, str(exc)),
        Http404: lambda request, exc: answer(request, 404, str(exc) or "Not Found"),
        ObjectDoesNotExist: lambda request, exc: answer(request, 404, "Not Found"),
        Refused: lambda request, exc: answer(request, 400, exc.message),
        Conflict: lambda request, exc: answer(request, 409, exc.message),
        FieldInvalid: field_invalid,
        IntegrityError: integrity_error,
        OperationalError: database_unavailable,
        InterfaceError: database_unavailable,
        RequestDataTooBig: lambda request, exc: answer(request, 413, "Request body too large"),
        Exception: unexpected,
    }
    for error, handler in handlers.items():
        api.add_exception_handler(error, handler)


def _is_json(response: HttpResponse) -> bool:
    return response.get("Content-Type", "").startswith("application/json")


def api_error_response(response: HttpResponse) -> HttpResponse:
    """The JSON error body in place of a Django error page (the status and `Allow` are kept)."""
    status = response.status_code
    try:
        message = _DJANGO_ERROR_MESSAGES.get(status) or HTTPStatus(status).phrase
    except ValueError:  # a status HTTP has no name for
        message = "Error"
    replacement = HttpResponse(
        json_dumps(error_body(message)), status=status, content_type="application/json"
    )
    for header in ("Allow", "WWW-Authenticate", "Retry-After"):
        if header in response:
            replacement[header] = response[header]
    return replacement


def raw_path(request: HttpRequest) -> str | None:
    """The request's path as the client sent it, still percent-encoded, when the server says.

    ASGI servers (uvicorn) give it as `raw_path`; gunicorn's WSGI workers as `RAW_URI`, uWSGI
    as `REQUEST_URI`. Django's own `path` is already decoded: `%2F` there is a plain `/`.
    """
    scope = getattr(request, "scope", None)
    if scope is not None and scope.get("raw_path") is not None:
        return scope["raw_path"].decode("latin-1")
    uri = request.META.get("RAW_URI") or request.META.get("REQUEST_URI")
    return None if uri is None else uri.partition("?")[0]


def unroutable_path_response(request: HttpRequest) -> HttpResponse | None:
    """A JSON 404 for an /api path that must match no route; None for every other request.

    - A NUL character (`%00`): no lot code, flow id or job id can hold one (PostgreSQL cannot
      store it), so nothing is there (contract, "text limits").
    - An encoded slash (`%2F`): Django decodes it before routing, so
      `/api/traceability/Z%2Fgraph` would answer lot Z's graph. A `/` inside a path segment
      names nothing: new lot codes cannot hold `/`; lots adopted with one are reached by
      `GET /api/lots?q=<code>` and the admin (docs/parity.md).
    """
    if not request.path.startswith(API_PREFIX):
        return None
    sent = raw_path(request) or ""
    if "\x00" in request.path or "%2f" in sent.lower() or "%00" in sent:
        return api_error_response(HttpResponse(status=404))
    return None


class ApiErrorBodyMiddleware:
    """Under /api/, an error answered outside the NinjaAPI's handlers gets the JSON error body,
    and a path that must route nowhere (`unroutable_path_response`) is a JSON 404 at once.

    That is: an unknown path (Django's 404 page, or the technical one with DEBUG), a method
    the route does not take (ninja's plain-text 405), and Django's own 400/403/500 pages.
    Responses that are already JSON pass untouched, so every body the API's handlers wrote
    stays as it is. Hooks run on the caller's loop or thread (no I/O).
    """

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
        return unroutable_path_response(request) or self._filter(request, self.get_response(request))

    async def _acall(self, request: HttpRequest) -> HttpResponse:
        return unroutable_path_response(request) or self._filter(request, await self.get_response(request))

    @staticmethod
    def _filter(request: HttpRequest, response: HttpResponse) -> HttpResponse:
        if response.status_code < 400 or not request.path.startswith(API_PREFIX) or _is_json(response):
            return response
        return api_error_response(response)
