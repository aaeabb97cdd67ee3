"""HTTP endpoints of the quality app (mounted under /api by flowviz/api.py)."""

from __future__ import annotations

from asgiref.sync import sync_to_async
from django.http import Http404, HttpRequest
from ninja import Router, Status

from accounts.auth import any_role, roles
from accounts.models import Role
from accounts.schemas import DetailOut
from flowviz.throttling import read_throttle, write_throttle
from quality import selectors, services
from quality.schemas import QcDecisionIn, QcDecisionOut

router = Router(tags=["quality"])

QC_DECIDERS = roles(Role.ADMIN, Role.MANAGER, Role.AUDITOR, Role.OPERATOR)
_ERRORS = {401: DetailOut, 403: DetailOut, 429: DetailOut}


@router.post(
    "/qc-decisions",
    response={201: QcDecisionOut, **_ERRORS},
    auth=QC_DECIDERS,
    throttle=write_throttle,
    summary="Record a QC decision (append-only)",
)
async def qc_decision_record(request: HttpRequest, payload: QcDecisionIn) -> Status:
    decision = await sync_to_async(services.qc_decision_create)(actor=request.auth, **payload.model_dump())
    return Status(201, selectors.qc_decision_as_dict(decision))


@router.get(
    "/lots/{lot_code}/qc-decisions",
    response={200: list[QcDecisionOut], 404: DetailOut, **_ERRORS},
    auth=any_role,
    throttle=read_throttle,
    summary="A lot's QC decisions, newest first",
)
async def qc_decisions_of_lot(request: HttpRequest, lot_code: str) -> list[dict]:
    decisions = await sync_to_async(selectors.qc_decisions_of_lot)(lot_code=lot_code)
    if decisions is None:
        raise Http404("Lot not found")
    return decisions
