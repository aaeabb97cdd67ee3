"""The one NinjaAPI: mounts the app routers; auth errors and error bodies are defined here once."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from django.core.exceptions import ObjectDoesNotExist, RequestDataTooBig
from django.db import IntegrityError
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError

from accounts.api import router as accounts_router
from accounts.auth import RoleNotAllowed
from flowviz.errors import Conflict, FieldInvalid
from flowviz.renderers import ORJSONParser, ORJSONRenderer
from lots.api import router as lots_router
from quality.api import router as quality_router

logger = logging.getLogger("flowviz.api")

api = NinjaAPI(
    title="FlowViz API",
    version="1.0.0",
    description="Warehouse and traceability API of a food-production plant.",
    urls_namespace="api",
    docs_url="/docs",
    openapi_url="/openapi.json",
    renderer=ORJSONRenderer(),
    parser=ORJSONParser(),
)


class HealthOut(Schema):
    status: str
    timestamp: datetime


@api.get("/health", response=HealthOut, tags=["health"], summary="Liveness (no I/O)")
async def health(request: HttpRequest) -> dict:
    return {"status": "ok", "timestamp": datetime.now(UTC)}


@api.exception_handler(AuthenticationError)
def _not_authenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    response = api.create_response(request, {"detail": "Not authenticated"}, status=401)
    response["WWW-Authenticate"] = "Bearer"
    return response


@api.exception_handler(RoleNotAllowed)
def _role_not_allowed(request: HttpRequest, exc: RoleNotAllowed) -> HttpResponse:
    return api.create_response(request, {"detail": str(exc)}, status=403)


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return api.create_response(request, {"detail": str(exc) or "Not found"}, status=404)


@api.exception_handler(ObjectDoesNotExist)
def _row_not_found(request: HttpRequest, exc: ObjectDoesNotExist) -> HttpResponse:
    return api.create_response(request, {"detail": "Not found"}, status=404)


@api.exception_handler(Exception)
def _unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    # The traceback goes to the log only; the client gets a fixed body.
    logger.exception("Unhandled error on %s %s", request.method, request.path)
    return api.create_response(request, {"detail": "Internal server error"}, status=500)


# --- Errors raised by services and the database (issue 7) ----------------------------------


@api.exception_handler(Conflict)
def _conflict(request: HttpRequest, exc: Conflict) -> HttpResponse:
    return api.create_response(request, {"detail": exc.message}, status=409)


@api.exception_handler(FieldInvalid)
def _field_invalid(request: HttpRequest, exc: FieldInvalid) -> HttpResponse:
    return api.create_response(request, {"detail": [exc.as_error()]}, status=422)


@api.exception_handler(IntegrityError)
def _integrity_error(request: HttpRequest, exc: IntegrityError) -> HttpResponse:
    # A constraint the services did not pre-check (e.g. a race they lost): a conflict, not a 500.
    logger.info("integrity error on %s %s: %s", request.method, request.path, exc)
    return api.create_response(request, {"detail": "Conflict with existing data"}, status=409)


@api.exception_handler(RequestDataTooBig)
def _body_too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
    return api.create_response(request, {"detail": "Request body too large"}, status=413)


api.add_router("/", accounts_router)
api.add_router("/", lots_router)
api.add_router("/", quality_router)
