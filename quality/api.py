"""HTTP endpoints of the quality app (mounted under /api by flowviz/api.py).

A decision is recorded through lots (`lots.services.qc_decision_record` locks the lot), and a
lot code is resolved by lots: the API layer may use every app.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from ninja import Router

from accounts.auth import any_role, roles
from accounts.roles import Role
from flowviz.http.asgi import db_call
from flowviz.http.idempotency import idempotent
from flowviz.http.renderers import json_dumps, json_response
from flowviz.http.schemas import PROTECTED_ERRORS, DetailOut
from flowviz.http.throttling import read_throttle, write_throttle
from lots import selectors as lot_selectors
from lots import services as lot_services
from quality import selectors
from quality.schemas import QcDecisionIn, QcDecisionOut

router = Router(tags=["quality"])

QC_DECIDERS = roles(Role.ADMIN, Role.MANAGER, Role.AUDITOR, Role.OPERATOR)


@router.post(
    "/qc-decisions",
    response={201: QcDecisionOut, **PROTECTED_ERRORS},
    auth=QC_DECIDERS,
    throttle=write_throttle,
    summary="Record a QC decision (append-only)",
)
@idempotent
async def qc_decision_record(request: HttpRequest, payload: QcDecisionIn) -> HttpResponse:
    decision = await db_call(lot_services.qc_decision_record, actor=request.auth, **payload.model_dump())
    # The nine keys are the contract's text already (QcDecisionOut documents them): rendered
    # without validating them a second time.
    body = json_dumps(selectors.qc_decision_as_dict(decision))
    return json_response(body, status=201)


@router.get(
    "/lots/{lot_code}/qc-decisions",
    response={200: list[QcDecisionOut], 404: DetailOut, **PROTECTED_ERRORS},
    auth=any_role,
    throttle=read_throttle,
    summary="A lot's QC decisions, newest first",
)
async def qc_decisions_of_lot(request: HttpRequest, lot_code: str) -> list[dict]:
    decisions = await db_call(_decisions_of_lot_code, lot_code)
    if decisions is None:
        raise Http404("Lot not found")
    return decisions


def _decisions_of_lot_code(lot_code: str) -> list[dict] | None:
    # Both queries in one worker-thread hop; None when no lot has this code.
    lot_id = lot_selectors.lot_id_for_code(lot_code=lot_code)
    return None if lot_id is None else selectors.qc_decisions_of_lot(lot_id=lot_id)
