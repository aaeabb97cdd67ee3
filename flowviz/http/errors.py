"""Every error the API can meet, mapped once to its status and `{"detail": ...}` body.

Services stay HTTP-free: they raise flowviz.core.errors (Conflict, FieldInvalid), Django's
Http404 / DoesNotExist, or let the database's IntegrityError through; auth raises ninja's
AuthenticationError or accounts.auth.RoleNotAllowed. `install_error_handlers` registers one
handler for each on the NinjaAPI (flowviz/api.py calls it).
"""

from __future__ import annotations

import logging

from django.core.exceptions import ObjectDoesNotExist, RequestDataTooBig
from django.db import IntegrityError
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError

from accounts.auth import RoleNotAllowed
from flowviz.core.errors import Conflict, FieldInvalid

logger = logging.getLogger("flowviz.api")


def install_error_handlers(api: NinjaAPI) -> None:
    """Register the error → response mapping on `api`."""

    def not_authenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        response = api.create_response(request, {"detail": "Not authenticated"}, status=401)
        response["WWW-Authenticate"] = "Bearer"
        return response

    def role_not_allowed(request: HttpRequest, exc: RoleNotAllowed) -> HttpResponse:
        return api.create_response(request, {"detail": str(exc)}, status=403)

    def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
        return api.create_response(request, {"detail": str(exc) or "Not found"}, status=404)

    def row_not_found(request: HttpRequest, exc: ObjectDoesNotExist) -> HttpResponse:
        return api.create_response(request, {"detail": "Not found"}, status=404)

    def unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
        # The traceback goes to the log only; the client gets a fixed body.
        logger.exception("Unhandled error on %s %s", request.method, request.path)
        return api.create_response(request, {"detail": "Internal server error"}, status=500)

    def conflict(request: HttpRequest, exc: Conflict) -> HttpResponse:
        return api.create_response(request, {"detail": exc.message}, status=409)

    def field_invalid(request: HttpRequest, exc: FieldInvalid) -> HttpResponse:
        return api.create_response(request, {"detail": [exc.as_error()]}, status=422)

    def integrity_error(request: HttpRequest, exc: IntegrityError) -> HttpResponse:
        # A constraint the services did not pre-check (e.g. a race they lost): a conflict, not a 500.
        logger.info("integrity error on %s %s: %s", request.method, request.path, exc)
        return api.create_response(request, {"detail": "Conflict with existing data"}, status=409)

    def body_too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
        return api.create_response(request, {"detail": "Request body too large"}, status=413)

    for error, handler in (
        (AuthenticationError, not_authenticated),
        (RoleNotAllowed, role_not_allowed),
        (Http404, not_found),
        (ObjectDoesNotExist, row_not_found),
        (Exception, unexpected),
        (Conflict, conflict),
        (FieldInvalid, field_invalid),
        (IntegrityError, integrity_error),
        (RequestDataTooBig, body_too_big),
    ):
        api.add_exception_handler(error, handler)
