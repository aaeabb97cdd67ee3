"""Idempotent writes: the `Idempotency-Key` header, with Stripe's semantics.

A client that lost the answer to a write (flaky Wi-Fi, a killed worker) retries it with the
same key and gets the first answer again instead of a second write (or a 409 for the lot code
it already took). Per user and key, for `IDEMPOTENCY_KEY_HOURS` (24):

- the first request runs; its answer (status and body) is stored, 4xx included: a refusal of
  the service (409 mass balance, 422 unknown parent, 404) is the answer to that request too;
- a retry with the same key and the same request (method, path and body: the fingerprint)
  gets the stored answer, with `Idempotent-Replayed: true`; nothing runs again;
- the same key with another request: 422, nothing stored;
- a request with the key of one still running waits for it (the second INSERT of the key
  waits on the unique index until the first commits), then gets its answer; after
  `IDEMPOTENCY_WAIT_SECONDS` it gets 409 "in progress" instead (Stripe answers 409 at once);
- not stored: what is refused before the handler runs (401, 403, 429, a body that does not
  parse: Stripe stores nothing when validation fails) and 5xx (the write was rolled back with
  the key: nothing happened, so a retry runs again - where Stripe would replay the 500).

Durability: the key's row is inserted, and its answer stored, in the transaction of the write
itself (PostgreSQL, table `idempotency_keys`). A committed write therefore always has its
stored answer, and a write rolled back leaves no key behind; a separate store (Valkey, or a
second transaction) could lose the answer of a committed write in a crash between the two,
which is exactly the retry this exists for. So the whole operation (auth, handler, rendering)
runs in one worker thread inside `transaction.atomic()`: the handler's `sync_to_async` calls
run back in that thread (asgiref's thread-sensitive mode), on its connection, in that
transaction; the services' own `atomic` blocks become savepoints.

`idempotent` marks a ninja operation: put it under the `@router.post(...)` decorator.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from asgiref.sync import async_to_sync, sync_to_async
from django.conf import settings
from django.db import OperationalError, connection, transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja.decorators import _apply_decorators
from ninja.errors import ValidationError
from ninja.operation import Operation
from ninja.utils import contribute_operation_callback
from psycopg import errors as pg_errors

from flowviz.core.errors import Conflict
from flowviz.http.models import IdempotencyKey
from flowviz.http.schemas import DetailOut, ValidationErrorOut

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
KEY_MAX_LENGTH = 255
IN_PROGRESS = "A request with this Idempotency-Key is still in progress; retry it later"
KEY_REUSED = "This Idempotency-Key was used with a different request (method, path or body)"

OPENAPI_PARAMETER = {
    "in": "header",
    "name": HEADER,
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": KEY_MAX_LENGTH, "pattern": "^[\\x21-\\x7e]+$"},
    "description": (
        "A unique key (e.g. a UUID) that makes a retry of this write safe: for 24 hours, a request "
        "with the same key and the same method, path and body gets the first answer (status and "
        "body, 4xx included) with `Idempotent-Replayed: true` instead of writing again. The same key "
        "with another request: 422. While the first is still running: the retry waits for it, or "
        "gets 409. Keys are per user."
    ),
}


@dataclass
class _KeyedRequest:
    key: str
    fingerprint: str
    row_id: int | None = None  # set once this request inserted the key: its answer is stored


def _fingerprint(request: HttpRequest) -> str:
    digest = hashlib.sha256()
    for part in (request.method or "", request.path):
        digest.update(part.encode() + b"\0")
    digest.update(request.body)
    return digest.hexdigest()


def _invalid_key(key: str) -> str | None:
    if not key or len(key) > KEY_MAX_LENGTH:
        return f"{HEADER} must be 1 to {KEY_MAX_LENGTH} characters"
    if not all("\x21" <= char <= "\x7e" for char in key):
        return f"{HEADER} must be printable ASCII without spaces"
    return None


def _header_error(message: str, error_type: str) -> ValidationError:
    return ValidationError([{"type": error_type, "loc": ["header", HEADER], "msg": message}])


def expired_before() -> Any:
    return timezone.now() - timedelta(hours=settings.IDEMPOTENCY_KEY_HOURS)


def _replay(row: IdempotencyKey) -> HttpResponse:
    response = HttpResponse(
        bytes(row.response_body or b""), status=row.response_status, content_type=row.response_content_type
    )
    response[REPLAYED_HEADER] = "true"
    return response


def _claim(*, user_id: Any, keyed: _KeyedRequest) -> HttpResponse | None:
    """Insert the key (inside the write's transaction); or return the stored answer.

    Raises ValidationError (422) for a key used with another request, Conflict (409) when
    the request holding the key is still running after IDEMPOTENCY_WAIT_SECONDS.
    """
    IdempotencyKey.objects.filter(user_id=user_id, key=keyed.key, created_at__lt=expired_before()).delete()
    wait_ms = max(1, int(settings.IDEMPOTENCY_WAIT_SECONDS * 1000))
    try:
        # A savepoint: a lock timeout aborts only it, and with it the lock_timeout set here.
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "SELECT current_setting('lock_timeout'), set_config('lock_timeout', %s, true)",
                [f"{wait_ms}ms"],
            )
            (previous, _) = cursor.fetchone()
            # Waits while another transaction holds the same (user, key): the unique index.
            cursor.execute(
                "INSERT INTO idempotency_keys (user_id, key, fingerprint, created_at)"
                " VALUES (%s, %s, %s, now()) ON CONFLICT (user_id, key) DO NOTHING RETURNING id",
                [user_id, keyed.key, keyed.fingerprint],
            )
            inserted = cursor.fetchone()
            cursor.execute("SELECT set_config('lock_timeout', %s, true)", [previous])
    except OperationalError as error:
        if isinstance(error.__cause__, pg_errors.LockNotAvailable):
            raise Conflict(IN_PROGRESS) from None
        raise
    if inserted is not None:
        keyed.row_id = inserted[0]
        return None
    row = IdempotencyKey.objects.get(user_id=user_id, key=keyed.key)
    if row.fingerprint != keyed.fingerprint:
        raise _header_error(KEY_REUSED, "idempotency_key_reused")
    return _replay(row)


def _store(keyed: _KeyedRequest, response: HttpResponse) -> None:
    IdempotencyKey.objects.filter(pk=keyed.row_id).update(
        response_status=response.status_code,
        response_content_type=response.get("Content-Type"),
        response_body=response.content,
    )


def _stored_answer(response: HttpResponse) -> bool:
    # 5xx: the write failed and is rolled back with its key (a retry runs again); 429 is
    # refused before the handler and never gets here.
    return response.status_code < 500


Run = Callable[..., Awaitable[HttpResponse]]


def _run_in_one_transaction(run: Run, request: HttpRequest, kw: dict) -> HttpResponse:
    keyed: _KeyedRequest = request._idempotency  # type: ignore[attr-defined]
    with transaction.atomic():
        response = async_to_sync(run)(request, **kw)
        if keyed.row_id is not None:
            if _stored_answer(response):
                _store(keyed, response)
            else:
                transaction.set_rollback(True)
    return response


def _keyed_run(run: Run) -> Run:
    """Wraps an operation's `run` (auth, throttle, parsing, handler, rendering)."""

    async def run_keyed(request: HttpRequest, **kw: Any) -> HttpResponse:
        key = request.headers.get(HEADER)
        if key is None:
            return await run(request, **kw)
        operation: Operation = run.__self__  # type: ignore[attr-defined]
        if problem := _invalid_key(key):
            return operation.api.on_exception(request, _header_error(problem, "value_error"))
        request._idempotency = _KeyedRequest(key=key, fingerprint=_fingerprint(request))  # type: ignore[attr-defined]
        return await sync_to_async(_run_in_one_transaction)(run, request, kw)

    return run_keyed


def _keyed_view(view: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    """Wraps the handler: after auth and parsing, claim the key or replay its answer."""

    # wraps: ninja names the operation (its OpenAPI operationId) after the view function.
    @functools.wraps(view)
    async def view_keyed(request: HttpRequest, **values: Any) -> Any:
        keyed: _KeyedRequest | None = getattr(request, "_idempotency", None)
        if keyed is not None:
            stored = await sync_to_async(_claim)(user_id=request.auth.pk, keyed=keyed)  # type: ignore[attr-defined]
            if stored is not None:
                return stored
        return await view(request, **values)

    return view_keyed


def _make_idempotent(operation: Operation) -> None:
    operation.view_func = _keyed_view(operation.view_func)
    # ninja's way of wrapping `run` that survives the operation being cloned for the API.
    _apply_decorators((_keyed_run,), operation)
    extra = operation.openapi_extra = dict(operation.openapi_extra or {})
    extra["parameters"] = [*extra.get("parameters", []), OPENAPI_PARAMETER]
    # What the key itself may answer: 409 (still in progress), 422 (reused or malformed).
    for status, body in ((409, DetailOut), (422, ValidationErrorOut)):
        if status not in operation.response_models:
            operation.response_models[status] = operation._create_response_model(body)


def idempotent(view: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    """Make a write operation accept `Idempotency-Key` (place it under `@router.post(...)`)."""
    contribute_operation_callback(view, _make_idempotent)
    return view


def idempotency_keys_purge() -> int:
    """Delete the keys older than IDEMPOTENCY_KEY_HOURS; returns how many."""
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=expired_before()).delete()
    return deleted
