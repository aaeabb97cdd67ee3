"""HTTP endpoints of the lots app (mounted under /api by flowviz/api.py).

Thin: parse (schemas), authorize (accounts.auth), throttle (flowviz.http.throttling), then one
selector or one transactional service call in a worker thread.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Literal

from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils.cache import patch_vary_headers
from ninja import Query, Router, Schema, Status
from ninja.errors import HttpError
from pydantic import Field

from accounts.auth import any_role, request_cache_generation, roles
from accounts.roles import Role
from flowviz.core.spreadsheets import csv_lines, file_name_part
from flowviz.http.asgi import db_call
from flowviz.http.idempotency import idempotent
from flowviz.http.renderers import json_dumps, json_response
from flowviz.http.schemas import PROTECTED_ERRORS, DetailOut
from flowviz.http.throttling import read_throttle, traceability_throttle, write_throttle
from lots import cache as trace_cache
from lots import fsma, jobs, selectors, services
from lots.models import LotType
from lots.schemas import (
    GraphOut,
    HoldOut,
    JobCreatedOut,
    JobOut,
    LinkOut,
    LotIn,
    LotOut,
    ParentIn,
    ParentsIn,
    RecallOut,
    TraceabilityOut,
)

router = Router(tags=["lots"])

LOT_WRITERS = roles(Role.ADMIN, Role.MANAGER, Role.OPERATOR)


class LotFilters(Schema):
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
    response={200: list[LotOut], **PROTECTED_ERRORS},
    auth=any_role,
    throttle=read_throttle,
    summary="List lots, newest first",
)
async def lots_list(request: HttpRequest, filters: Query[LotFilters]) -> HttpResponse:
    body = await db_call(
        selectors.lot_list,
        limit=filters.limit,
        offset=filters.offset,
        lot_type=filters.lot_type,
        production_run_id=filters.production_run_id,
        code_prefix=filters.q,
    )
    return json_response(body)


@router.get(
    "/lots/{lot_code}",
    response={200: LotOut, 404: DetailOut, **PROTECTED_ERRORS},
    auth=any_role,
    throttle=read_throttle,
    summary="One lot by its code",
)
async def lot_detail(request: HttpRequest, lot_code: str) -> HttpResponse:
    body = await db_call(selectors.lot_get, lot_code=lot_code)
    if body is None:
        raise Http404("Lot not found")
    return json_response(body)


@router.post(
    "/lots",
    response={201: LotOut, 409: DetailOut, **PROTECTED_ERRORS},
    auth=LOT_WRITERS,
    throttle=write_throttle,
    summary="Register a lot (optionally with the parent lots it was made from)",
)
@idempotent
async def lot_register(request: HttpRequest, payload: LotIn) -> HttpResponse:
    lot = await db_call(
        services.lot_create,
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
    # As the contract renders it, returned by the INSERT itself.
    return json_response(lot.rendered, status=201)


@router.post(
    "/lots/{lot_code}/parents",
    response={201: list[LinkOut], 404: DetailOut, 409: DetailOut, **PROTECTED_ERRORS},
    auth=LOT_WRITERS,
    throttle=write_throttle,
    summary="Link more parent lots to an existing lot",
)
@idempotent
async def lot_parents_add(request: HttpRequest, lot_code: str, payload: ParentsIn) -> Status:
    links = await db_call(
        services.lot_parents_add, lot_code=lot_code, actor=request.auth, parents=_parent_refs(payload.parents)
    )
    return Status(201, [selectors.link_as_dict(link) for link in links])


@router.get(
    "/traceability/{lot_code}",
    response={200: TraceabilityOut, 404: DetailOut, **PROTECTED_ERRORS},
    auth=any_role,
    throttle=traceability_throttle,
    tags=["traceability"],
    summary="One step back and one step forward from a lot",
)
async def traceability_one_step(request: HttpRequest, lot_code: str) -> HttpResponse:
    # Cached in Valkey; every committed write that could change the answer retires it. Warm:
    # one Valkey round trip on the event loop; cold: the query in a worker thread.
    generation = request_cache_generation(request)
    body = trace_cache.one_step_warm(lot_code=lot_code, generation=generation)
    if body is None:
        body = await db_call(trace_cache.one_step_cached, lot_code=lot_code, generation=generation)
    if body is None:
        raise Http404("Lot not found")
    return json_response(body)


# --- Deep traceability, recall and genealogy jobs (issue 3, contract section 7) --------------

_RECALL_READERS = roles(Role.ADMIN, Role.MANAGER, Role.AUDITOR)


@router.get(
    "/traceability/{lot_code}/graph",
    response={200: GraphOut, 404: DetailOut, **PROTECTED_ERRORS},
    auth=any_role,
    throttle=traceability_throttle,
    tags=["traceability"],
    summary="The whole genealogy of a lot (ancestors and/or descendants), in one query",
    description=(
        "Nodes carry their signed shortest distance from the lot (negative: ancestors). "
        "`max_depth` omitted: no limit (cycles are guarded against). Served from the cache when warm; "
        "every committed write that could change the graph retires the cached answer. Sent "
        "gzip-compressed (`Content-Encoding: gzip`) when the request's Accept-Encoding allows it."
    ),
)
async def traceability_graph(
    request: HttpRequest,
    lot_code: str,
    direction: Literal["both", "up", "down"] = "both",
    max_depth: int | None = Query(None, ge=0, description="Steps to walk; omitted: no limit"),
) -> HttpResponse:
    gzip_wanted = accepts_gzip(request)
    generation = request_cache_generation(request)
    graph = {"lot_code": lot_code, "direction": direction, "max_depth": max_depth, "generation": generation}
    # Warm and sent compressed: one Valkey round trip on the event loop. Otherwise (cold, or
    # to be decompressed: CPU work on a body of megabytes) in a worker thread.
    body = trace_cache.graph_warm(**graph) if gzip_wanted else None
    if body is None:
        cached = trace_cache.graph_gzip_cached if gzip_wanted else trace_cache.graph_json_cached
        body = await db_call(cached, **graph)
    if body is None:
        raise Http404("Lot not found")
    # Already rendered (and cached) as the contract's JSON, compressed: sent as it is.
    response = HttpResponse(body, content_type="application/json")
    if gzip_wanted:
        response["Content-Encoding"] = "gzip"
    patch_vary_headers(response, ("Accept-Encoding",))
    return response


def accepts_gzip(request: HttpRequest) -> bool:
    """Whether the request's Accept-Encoding allows gzip (`gzip;q=0` refuses it)."""
    for coding in request.headers.get("Accept-Encoding", "").split(","):
        name, _, params = coding.strip().partition(";")
        if name.strip().lower() in ("gzip", "x-gzip"):
            quality = params.strip().lower().removeprefix("q=").strip()
            try:
                return not params or float(quality) > 0
            except ValueError:
                return False
    return False


def _csv_download(rows: Iterable[list[str]], filename: str, *, bom: bool = False) -> StreamingHttpResponse:
    async def lines():
        for line in csv_lines(rows, bom=bom):
            yield line

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@router.get(
    "/recall/{lot_code}",
    response={200: RecallOut, 404: DetailOut, **PROTECTED_ERRORS},
    auth=_RECALL_READERS,
    throttle=traceability_throttle,
    tags=["traceability"],
    # format=csv and format=fsma204 answer a CSV download instead of the JSON report.
    openapi_extra={
        "responses": {
            # An int key, as ninja's own: merged into the documented 200 (a "200" would be a second key).
            200: {"content": {"text/csv": {"schema": {"type": "string", "description": "CSV, UTF-8"}}}}
        }
    },
    summary="Recall report: every finished-goods lot downstream of a lot, and where its kilograms went",
    description=(
        "Each FG lot reached going down the genealogy (the lot itself when it is FG), with the "
        "length of the shortest path, its latest QC decision, the kilograms of the recalled lot in "
        "it and the total weight affected; `reconciliation`: the mass balance of the recalled lot "
        "(in finished goods, in process, unaccounted, unknown; percentage accounted for). "
        "`format=csv` streams the FG rows as a CSV download (columns: "
        + ", ".join(selectors.RECALL_CSV_COLUMNS)
        + "). `format=fsma204` streams the FSMA 204 sortable spreadsheet (UTF-8 with BOM) of every "
        "lot of the genealogy in both directions: one row per receiving event and per input of a "
        "transformation (columns: "
        + ", ".join(fsma.COLUMNS)
        + "). Cells a spreadsheet would read as a formula are prefixed with '."
    ),
)
async def recall(
    request: HttpRequest, lot_code: str, format: Literal["json", "csv", "fsma204"] = "json"
) -> HttpResponse:
    if format == "fsma204":
        rows = await db_call(fsma.fsma204_rows, lot_code=lot_code)
        if rows is None:
            raise Http404("Lot not found")
        return _csv_download(rows, f"fsma204-{file_name_part(lot_code)}.csv", bom=True)
    report = await db_call(selectors.recall_report, lot_code=lot_code)
    if report is None:
        raise Http404("Lot not found")
    if format == "json":
        # Rendered here (metadata is kept as stored text: lots.selectors.recall_report).
        return json_response(json_dumps(report))
    return _csv_download(selectors.recall_csv_rows(report), f"recall-{file_name_part(lot_code)}.csv")


@router.get(
    "/holds",
    response={200: list[HoldOut], **PROTECTED_ERRORS},
    auth=any_role,
    throttle=read_throttle,
    tags=["traceability"],
    summary="Lots on HOLD or FAILed, with the lots they make suspect; newest hold first",
    description=(
        "Every lot whose latest QC decision is HOLD or FAIL. Its descendants, at any depth, are "
        "suspect until a later PASS on it: they cannot be consumed (409). For each: the number of "
        "suspect lots, the finished-goods lots among them and their total weight."
    ),
)
async def holds(request: HttpRequest) -> HttpResponse:
    return json_response(await db_call(selectors.holds_list))


@router.post(
    "/traceability/{lot_code}/jobs",
    response={202: JobCreatedOut, 404: DetailOut, 503: DetailOut, **PROTECTED_ERRORS},
    auth=any_role,
    throttle=traceability_throttle,
    tags=["traceability"],
    summary="Compute a lot's whole genealogy in the background (Celery)",
)
async def traceability_job_start(request: HttpRequest, lot_code: str) -> Status:
    try:
        job_id = await db_call(jobs.genealogy_job_start, lot_code=lot_code)
    except jobs.JobQueueUnavailable:
        raise HttpError(503, "The job queue is unavailable; try again later") from None
    if job_id is None:
        raise Http404("Lot not found")
    return Status(202, {"job_id": job_id, "status": "PENDING", "status_url": f"/api/jobs/{job_id}"})


@router.get(
    "/jobs/{job_id}",
    response={200: JobOut, 404: DetailOut, **PROTECTED_ERRORS},
    auth=any_role,
    throttle=read_throttle,
    tags=["traceability"],
    summary="State and result of a background genealogy job",
    description=(
        "Jobs are recorded when started, so an id that no job was started with is a 404 "
        "(not Celery's PENDING). `result` is the graph once the job succeeded."
    ),
)
async def traceability_job(request: HttpRequest, job_id: uuid.UUID) -> dict:
    job = await db_call(jobs.genealogy_job_get, job_id=job_id)
    if job is None:
        raise Http404("Job not found")
    return job
