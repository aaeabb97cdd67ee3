"""Request and response bodies of the Flow Editor endpoints (contract section 10)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from ninja import Schema
from pydantic import ConfigDict, Field, model_validator

from flowviz.core.formats import BLANK_CLASS
from flowviz.http.schemas import RequestBody
from flowviz.production.graphs import Graph
from flowviz.production.models import FlowStatus


class FlowNameIn(RequestBody):
    # The OpenAPI schema says it too: a name with something other than blanks in one language.
    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [
                {"properties": {"hu": {"pattern": f"[^{BLANK_CLASS}]"}}},
                {"properties": {"en": {"pattern": f"[^{BLANK_CLASS}]"}}},
            ]
        },
    )

    hu: str = Field(max_length=200)
    en: str = Field(max_length=200)

    @model_validator(mode="after")
    def _named_in_one_language_at_least(self) -> FlowNameIn:
        if not (self.hu.strip() or self.en.strip()):
            raise ValueError("give the name in at least one language")
        return self


class FlowIn(RequestBody):
    name: FlowNameIn
    description: str | None = Field(None, max_length=2000)


class FlowOut(Schema):
    id: uuid.UUID
    name: dict[str, Any] = Field(description='{"hu": ..., "en": ...}')
    description: str | None
    created_by: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


class FlowListItemOut(Schema):
    id: uuid.UUID
    name: dict[str, Any]
    description: str | None
    created_at: datetime
    updated_at: datetime
    latest_version_num: int | None = Field(description="The highest version number; null without versions")
    latest_status: FlowStatus | None
    version_count: int


class FlowVersionListItemOut(Schema):
    id: uuid.UUID
    flow_definition_id: uuid.UUID
    version_num: int
    status: FlowStatus
    created_by: uuid.UUID | None
    published_at: datetime | None
    created_at: datetime


class FlowVersionOut(FlowVersionListItemOut):
    graph_schema: dict[str, Any] = Field(
        description="The graph as stored: the shape of FlowVersionUpdateIn.graph_schema (Graph)"
    )
    published_by: uuid.UUID | None


class FlowVersionUpdateIn(RequestBody):
    graph_schema: Graph


class FlowPublishOut(Schema):
    published_version: FlowVersionOut
    new_draft: FlowVersionOut
