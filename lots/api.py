"""HTTP endpoints of the lots app (mounted under /api by flowviz/api.py).

Thin: parse (schemas), authorize (accounts.auth), throttle (flowviz.throttling), then one
selector or one transactional service call in a worker thread.
"""

from __future__ import annotations

import uuid

from asgiref.sync import sync_to_async
from django.http import Http404, HttpRequest
from ninja import Query, Router, Schema, Status
from pydantic import ConfigDict, Field

from accounts.auth import any_role, roles
from accounts.models import Role
from accounts.schemas import DetailOut
from flowviz.throttling import read_throttle, traceability_throttle, write_throttle
from lots import selectors, services
from lots.models import LotType
from lots.schemas import LinkOut, LotIn, LotOut, ParentIn, ParentsIn, TraceabilityOut

router = Router(tags=["lots"])

LOT_WRITERS = roles(Role.ADMIN, Role.MANAGER, Role.OPERATOR)
_ERRORS = {401: DetailOut, 403: DetailOut, 429: DetailOut}


class LotFilters(Schema):
    model_config = ConfigDict(extra="forbid")

    limit: int = Field(100, ge=1, le=1000)
    offset: int = Field(0, ge=0, le=10_000_000)
    lot_type: LotType | None = None
    production_run_id: uuid.UUID | None = None
    q: str | None = Field(None, max_length=100, description="Lot code prefix")


def _parent_refs(items: list[ParentIn] | None) -> list[services.ParentRef]:
    return [
        services.ParentRef(
            loc=("parents", index),
            lot_code=item.lot_code,
            lot_id=item.lot_id,
            quantity_used_kg=item.quantity_used_kg,
        )
        for index, item in enumerate(items or ())
    ]


@router.get(
    "/lots",
    response={200: list[LotOut], **_ERRORS},
    auth=any_role,
    throttle=read_throttle,
    summary="List lots, newest first",
)
async def lots_list(request: HttpRequest, filters: Query[LotFilters]) -> list[dict]:
    return await sync_to_async(selectors.lot_list)(
        limit=filters.limit,
        offset=filters.offset,
        lot_type=filters.lot_type,
        production_run_id=filters.production_run_id,
        code_prefix=filters.q,
    )


@router.get(
    "/lots/{lot_code}",
    response={200: LotOut, 404: DetailOut, **_ERRORS},
    auth=any_role,
    throttle=read_throttle,
    summary="One lot by its code",
)
async def lot_detail(request: HttpRequest, lot_code: str) -> dict:
    lot = await sync_to_async(selectors.lot_get)(lot_code=lot_code)
    if lot is None:
        raise Http404("Lot not found")
    return lot


@router.post(
    "/lots",
    response={201: LotOut, 409: DetailOut, **_ERRORS},
    auth=LOT_WRITERS,
    throttle=write_throttle,
    summary="Register a lot (optionally with the parent lots it was made from)",
)
async def lot_register(request: HttpRequest, payload: LotIn) -> Status:
    lot = await sync_to_async(services.lot_create)(
        actor=request.auth,
        lot_code=payload.lot_code,
        lot_type=payload.lot_type,
        production_run_id=payload.production_run_id,
        phase_id=payload.phase_id,
        operator_id=payload.operator_id,
        weight_kg=payload.weight_kg,
        temperature_c=payload.temperature_c,
        metadata=payload.metadata,
        parents=_parent_refs(payload.parents),
    )
    return Status(201, selectors.lot_as_dict(lot))


@router.post(
    "/lots/{lot_code}/parents",
    response={201: list[LinkOut], 404: DetailOut, 409: DetailOut, **_ERRORS},
    auth=LOT_WRITERS,
    throttle=write_throttle,
    summary="Link more parent lots to an existing lot",
)
async def lot_parents_add(request: HttpRequest, lot_code: str, payload: ParentsIn) -> Status:
    links = await sync_to_async(services.lot_parents_add)(
        lot_code=lot_code, actor=request.auth, parents=_parent_refs(payload.parents)
    )
    return Status(201, [selectors.link_as_dict(link) for link in links])


@router.get(
    "/traceability/{lot_code}",
    response={200: TraceabilityOut, 404: DetailOut, **_ERRORS},
    auth=any_role,
    throttle=traceability_throttle,
    tags=["traceability"],
    summary="One step back and one step forward from a lot",
)
async def traceability_one_step(request: HttpRequest, lot_code: str) -> dict:
    trace = await sync_to_async(selectors.lot_traceability_one_step)(lot_code=lot_code)
    if trace is None:
        raise Http404("Lot not found")
    return trace
