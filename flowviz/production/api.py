"""HTTP endpoints of the Flow Editor (contract section 10; mounted under /api by flowviz/api.py).

Thin: parse (schemas), authorize, throttle, then one selector or one transactional service
call in a worker thread. The rules (one draft per flow, frozen published versions, lock order)
are in flowviz/production/services.py.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from asgiref.sync import sync_to_async
from django.http import HttpRequest
from ninja import Path, Router, Status

from accounts.auth import any_role, roles
from accounts.roles import Role
from flowviz.http.idempotency import idempotent
from flowviz.http.schemas import PROTECTED_ERRORS, DetailOut, ValidationErrorOut
from flowviz.http.throttling import read_throttle, write_throttle
from flowviz.production import selectors, services
from flowviz.production.schemas import (
    FlowIn,
    FlowListItemOut,
    FlowOut,
    FlowPublishOut,
    FlowVersionListItemOut,
    FlowVersionOut,
    FlowVersionUpdateIn,
)

router = Router(tags=["flows"])

FLOW_EDITORS = roles(Role.ADMIN, Role.MANAGER, Role.OPERATOR)
FLOW_PUBLISHERS = roles(Role.ADMIN, Role.MANAGER)

# A version number as PostgreSQL's integer column holds it.
VersionNum = Annotated[int, Path(ge=1, le=2_147_483_647)]
VERSION_PATH = "/flows/{flow_id}/versions/{version_num}"


@router.get(
    "/flows",
    response={200: list[FlowListItemOut], **PROTECTED_ERRORS},
    auth=any_role,
    throttle=read_throttle,
    summary="Every flow design, most recently updated first",
)
async def flows_list(request: HttpRequest) -> list[dict]:
    return await sync_to_async(selectors.flow_list)()


@router.post(
    "/flows",
    response={201: FlowOut, 422: ValidationErrorOut, **PROTECTED_ERRORS},
    auth=FLOW_EDITORS,
    throttle=write_throttle,
    summary="Create a flow; its version 1 starts as a DRAFT with an empty graph",
)
@idempotent
async def flow_create(request: HttpRequest, payload: FlowIn) -> Status:
    flow = await sync_to_async(services.flow_definition_create)(
        name=payload.name.model_dump(), description=payload.description, actor=request.auth
    )
    return Status(201, selectors.flow_as_dict(flow))


@router.get(
    "/flows/{flow_id}",
    response={200: FlowOut, 404: DetailOut, **PROTECTED_ERRORS},
    auth=any_role,
    throttle=read_throttle,
    summary="One flow design",
)
async def flow_detail(request: HttpRequest, flow_id: uuid.UUID) -> dict:
    return await sync_to_async(selectors.flow_get)(flow_id=flow_id)


@router.delete(
    "/flows/{flow_id}",
    response={204: None, 404: DetailOut, 409: DetailOut, **PROTECTED_ERRORS},
    auth=FLOW_PUBLISHERS,
    throttle=write_throttle,
    summary="Delete a flow and its versions (409 once a version was published: archive it instead)",
)
@idempotent
async def flow_delete(request: HttpRequest, flow_id: uuid.UUID) -> Status:
    await sync_to_async(services.flow_definition_delete)(flow_id=flow_id)
    return Status(204, None)


@router.get(
    "/flows/{flow_id}/versions",
    response={200: list[FlowVersionListItemOut], 404: DetailOut, **PROTECTED_ERRORS},
    auth=any_role,
    throttle=read_throttle,
    summary="A flow's versions, highest number first",
)
async def flow_versions(request: HttpRequest, flow_id: uuid.UUID) -> list[dict]:
    return await sync_to_async(selectors.flow_versions_list)(flow_id=flow_id)


@router.get(
    "/flows/{flow_id}/versions/latest/draft",
    response={200: FlowVersionOut, 404: DetailOut, **PROTECTED_ERRORS},
    auth=any_role,
    throttle=read_throttle,
    summary="The flow's draft",
)
async def flow_draft(request: HttpRequest, flow_id: uuid.UUID) -> dict:
    return await sync_to_async(selectors.flow_draft_get)(flow_id=flow_id)


@router.get(
    VERSION_PATH,
    response={200: FlowVersionOut, 404: DetailOut, **PROTECTED_ERRORS},
    auth=any_role,
    throttle=read_throttle,
    summary="One version of a flow, with its graph",
)
async def flow_version(request: HttpRequest, flow_id: uuid.UUID, version_num: VersionNum) -> dict:
    return await sync_to_async(selectors.flow_version_get)(flow_id=flow_id, version_num=version_num)


@router.put(
    VERSION_PATH,
    response={
        200: FlowVersionOut,
        404: DetailOut,
        409: DetailOut,
        422: ValidationErrorOut,
        **PROTECTED_ERRORS,
    },
    auth=FLOW_EDITORS,
    throttle=write_throttle,
    summary="Replace a DRAFT's graph (409 for a PUBLISHED or ARCHIVED version)",
)
@idempotent
async def flow_version_update(
    request: HttpRequest, flow_id: uuid.UUID, version_num: VersionNum, payload: FlowVersionUpdateIn
) -> dict:
    version = await sync_to_async(services.flow_version_graph_update)(
        flow_id=flow_id, version_num=version_num, graph_schema=payload.graph_schema
    )
    return selectors.flow_version_as_dict(version)


@router.post(
    VERSION_PATH + "/publish",
    response={200: FlowPublishOut, 400: DetailOut, 404: DetailOut, 409: DetailOut, **PROTECTED_ERRORS},
    auth=FLOW_PUBLISHERS,
    throttle=write_throttle,
    summary="Publish a DRAFT; a new DRAFT n+1 starts as a copy of it",
    description=(
        "The graph needs at least one `start` and one `end` node (else 400). Of simultaneous "
        "publishes of one draft exactly one succeeds; the others get 409."
    ),
)
@idempotent
async def flow_version_publish(request: HttpRequest, flow_id: uuid.UUID, version_num: VersionNum) -> dict:
    published, draft = await sync_to_async(services.flow_version_publish)(
        flow_id=flow_id, version_num=version_num, actor=request.auth
    )
    return {
        "published_version": selectors.flow_version_as_dict(published),
        "new_draft": selectors.flow_version_as_dict(draft),
    }


@router.post(
    VERSION_PATH + "/fork",
    response={201: FlowVersionOut, 404: DetailOut, 409: DetailOut, **PROTECTED_ERRORS},
    auth=FLOW_EDITORS,
    throttle=write_throttle,
    summary="Start a new DRAFT (highest number + 1) from version n's graph; 409 while a draft exists",
)
@idempotent
async def flow_version_fork(request: HttpRequest, flow_id: uuid.UUID, version_num: VersionNum) -> Status:
    forked = await sync_to_async(services.flow_version_fork)(
        flow_id=flow_id, version_num=version_num, actor=request.auth
    )
    return Status(201, selectors.flow_version_as_dict(forked))


@router.post(
    VERSION_PATH + "/archive",
    response={200: FlowVersionOut, 404: DetailOut, 409: DetailOut, **PROTECTED_ERRORS},
    auth=FLOW_PUBLISHERS,
    throttle=write_throttle,
    summary="Archive a DRAFT or PUBLISHED version (it is frozen from then on)",
)
@idempotent
async def flow_version_archive(request: HttpRequest, flow_id: uuid.UUID, version_num: VersionNum) -> dict:
    version = await sync_to_async(services.flow_version_archive)(flow_id=flow_id, version_num=version_num)
    return selectors.flow_version_as_dict(version)
