"""Request and response bodies of the lots endpoints (the contract's Lot shape)."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from ninja import Schema
from pydantic import BeforeValidator, ConfigDict, Field, WithJsonSchema, field_validator, model_validator

from flowviz.core.json_limits import JSON_OBJECT_SCHEMA, MAX_BYTES, MAX_DEPTH, json_limits_value_error
from flowviz.http.schemas import RequestBody
from lots.models import LOT_CODE_PATTERN, LotType
from quality.models import Decision

LotCode = Annotated[str, Field(min_length=1, max_length=100, pattern=LOT_CODE_PATTERN)]


def _decimal(*, ge: int, le: int, places: int, text_pattern: str) -> Any:
    """A contract decimal: a JSON number, or a string written as plain digits (`text_pattern`,
    which also bounds it), within [ge, le] with at most `places` decimals. The OpenAPI schema
    says exactly this, so a client generating requests from it sends what the server takes."""
    step = float(Decimal(1).scaleb(-places))
    decimals = "1 decimal" if places == 1 else f"{places} decimals"
    text = re.compile(text_pattern)

    def plain_number_or_text(value: object) -> object:
        if isinstance(value, bool):
            raise ValueError("must be a number or a numeric string")
        if isinstance(value, str) and not text.fullmatch(value):
            raise ValueError(f"must be a decimal between {ge} and {le} with at most {decimals}")
        return value

    return Annotated[
        Decimal,
        BeforeValidator(plain_number_or_text),
        Field(ge=ge, le=le, decimal_places=places),
        WithJsonSchema(
            {
                "anyOf": [
                    {"type": "number", "minimum": ge, "maximum": le, "multipleOf": step},
                    {"type": "string", "pattern": text_pattern},
                ]
            }
        ),
    ]


WeightKg = _decimal(ge=0, le=10000, places=2, text_pattern=r"^(10000(\.0{1,2})?|[0-9]{1,4}(\.[0-9]{1,2})?)$")
TemperatureC = _decimal(
    ge=-50,
    le=100,
    places=1,
    text_pattern=r"^(-50(\.0)?|-[1-4]?[0-9](\.[0-9])?|100(\.0)?|[0-9]{1,2}(\.[0-9])?)$",
)

# A lot's free-form metadata: the contract's text limits (flowviz.core.json_limits).
METADATA_MAX_BYTES = MAX_BYTES
PARENTS_MAX = 100


class LotOut(Schema):
    id: uuid.UUID
    lot_code: str
    lot_type: LotType | None
    production_run_id: uuid.UUID | None
    phase_id: uuid.UUID | None
    operator_id: uuid.UUID | None
    weight_kg: str | None = Field(description='Decimal string with 2 decimals, e.g. "540.00"')
    temperature_c: str | None = Field(description='Decimal string with 1 decimal, e.g. "4.5"')
    metadata: dict[str, Any]
    created_at: datetime


class ParentIn(RequestBody):
    """One ingredient of a lot: a parent lot (by code or id) and the quantity used from it."""

    model_config = ConfigDict(
        json_schema_extra={
            "oneOf": [
                {"required": ["lot_code"], "properties": {"lot_code": {"type": "string"}}},
                {"required": ["lot_id"], "properties": {"lot_id": {"type": "string"}}},
            ]
        },
    )

    lot_code: LotCode | None = None
    lot_id: uuid.UUID | None = None
    quantity_used_kg: WeightKg | None = None

    @model_validator(mode="after")
    def _exactly_one_reference(self) -> ParentIn:
        if (self.lot_code is None) == (self.lot_id is None):
            raise ValueError("give exactly one of lot_code or lot_id")
        return self


def _unique_parents(parents: list[ParentIn] | None) -> list[ParentIn] | None:
    seen: set[str] = set()
    for parent in parents or ():
        ref = parent.lot_code if parent.lot_code is not None else str(parent.lot_id)
        if ref in seen:
            raise ValueError(f"parent {ref} is listed twice")
        seen.add(ref)
    return parents


class LotIn(RequestBody):
    lot_code: LotCode
    lot_type: LotType | None = None
    production_run_id: uuid.UUID | None = None
    phase_id: uuid.UUID | None = None
    operator_id: uuid.UUID | None = None
    weight_kg: WeightKg | None = None
    temperature_c: TemperatureC | None = None
    metadata: Annotated[
        dict[str, Any] | None, WithJsonSchema({"anyOf": [JSON_OBJECT_SCHEMA, {"type": "null"}]})
    ] = Field(
        default=None,
        description=f"Free JSON object: at most {MAX_DEPTH} levels deep and {MAX_BYTES} bytes "
        "serialized, numbers within ±(2^53-1), no NUL character",
    )
    parents: list[ParentIn] | None = Field(default=None, max_length=PARENTS_MAX)

    @field_validator("metadata")
    @classmethod
    def _metadata_bounded(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        return None if value is None else json_limits_value_error(value)

    parents_listed_once = field_validator("parents")(_unique_parents)


class ParentsIn(RequestBody):
    """Body of POST /api/lots/{lot_code}/parents."""

    parents: list[ParentIn] = Field(min_length=1, max_length=PARENTS_MAX)

    parents_listed_once = field_validator("parents")(_unique_parents)


class LinkOut(Schema):
    """A genealogy link (a row of lot_genealogy)."""

    id: uuid.UUID
    parent_lot_id: uuid.UUID
    child_lot_id: uuid.UUID
    quantity_used_kg: str | None = Field(description='Decimal string with 2 decimals, e.g. "500.00"')
    linked_at: datetime


class TraceabilityOut(Schema):
    central: LotOut
    parents: list[LotOut]
    children: list[LotOut]


# --- Deep traceability, recall and genealogy jobs (issue 3, contract section 7) --------------


class GraphNodeOut(Schema):
    lot: LotOut
    depth: int = Field(description="Negative: ancestor, 0: the root, positive: descendant")
    qc_status: Decision | None = Field(description="The lot's latest QC decision; null when never decided")
    held_by: list[str] = Field(
        description="Codes of the lots on HOLD or FAILed this lot was made from, at any depth "
        "(sorted; empty when the lot is not suspect)"
    )


class GraphEdgeOut(Schema):
    parent_lot_id: uuid.UUID
    child_lot_id: uuid.UUID
    quantity_used_kg: str | None = Field(description='Decimal string with 2 decimals, e.g. "500.00"')


class GraphOut(Schema):
    root: str = Field(description="The lot code asked for")
    nodes: list[GraphNodeOut]
    edges: list[GraphEdgeOut]
    ancestor_count: int
    descendant_count: int


class RecallLotOut(Schema):
    lot: LotOut
    path_length: int = Field(description="Links on the shortest path from the recalled lot")
    latest_decision: str | None = Field(description="PASS, HOLD or FAIL; null when never decided")
    latest_decision_at: datetime | None
    recalled_kg: str | None = Field(
        description="Kilograms of the recalled lot in this lot (reconciliation); null when a weight "
        "or quantity on the way is unknown"
    )


_KG_TEXT = "decimal string, 2 decimals"


class ReconciliationLotOut(Schema):
    lot_code: str
    lot_type: LotType | None
    kg: str = Field(description=f"Kilograms of the recalled lot, {_KG_TEXT}")


class ReconciliationDrawOut(Schema):
    lot_code: str = Field(description="A child of the recalled lot")
    quantity_used_kg: str | None = Field(description=f"What it drew, {_KG_TEXT}; null when not recorded")


class ReconciliationLinkOut(Schema):
    parent_lot_code: str
    child_lot_code: str


class ReconciliationOut(Schema):
    """Where the recalled lot's kilograms went (lots/reconciliation.py defines the model:
    proportional flow down the genealogy, stopping at finished goods)."""

    lot_code: str
    weight_kg: str | None = Field(description="The recalled lot's weight; null when unknown")
    drawn_kg: str = Field(description="Sum of the quantities its children drew (recorded ones)")
    drawn_by: list[ReconciliationDrawOut] = Field(description="Its children, by code")
    weights_known: bool = Field(description="False when a weight or quantity on the way is missing")
    lots_without_weight: list[str] = Field(description="Lots on the way whose weight is missing or 0")
    links_without_quantity: list[ReconciliationLinkOut]
    overdrawn_lots: list[str] = Field(description="Lots whose children drew more than they weigh")
    lots_in_cycles: list[str] = Field(description="Lots a genealogy cycle kept from being reconciled")
    finished_goods_kg: str | None = Field(description="Total in finished goods; null: weight unknown")
    in_process_kg: str | None = Field(description="Total in lots nothing was made from yet (not FG)")
    unaccounted_kg: str | None = Field(description="Total no child drew: waste, yield loss or stock")
    unknown_kg: str | None = Field(description="Total past a missing weight or quantity")
    accounted_kg: str | None = Field(description="finished_goods_kg + in_process_kg")
    accounted_percent: str | None = Field(
        description="accounted_kg / weight_kg x 100, 2 decimals; null unless weights_known"
    )
    finished_goods: list[ReconciliationLotOut] = Field(description="Per FG lot, by code")
    in_process: list[ReconciliationLotOut]
    unaccounted: list[ReconciliationLotOut] = Field(description="Per lot whose remainder no child drew")
    unknown: list[ReconciliationLotOut]


class RecallOut(Schema):
    lot_code: str = Field(description="The recalled lot")
    generated_at: datetime
    affected_count: int = Field(description="Number of finished-goods lots affected")
    total_weight_kg: str = Field(description='Sum of their weights, decimal string, e.g. "1060.00"')
    lots: list[RecallLotOut] = Field(description="By path length, then lot code")
    reconciliation: ReconciliationOut


class HoldOut(Schema):
    """A lot whose latest QC decision is HOLD or FAIL, and the lots it makes suspect."""

    lot: LotOut
    decision: Decision = Field(description="HOLD or FAIL")
    decision_id: uuid.UUID
    decided_at: datetime
    notes: str | None
    suspect_count: int = Field(description="Lots made from it at any depth (each once)")
    fg_lot_count: int = Field(description="Finished-goods lots among them")
    fg_lot_codes: list[str] = Field(description="Their codes, sorted")
    fg_weight_kg: str = Field(description=f"Their total weight, {_KG_TEXT} (unweighed ones count 0)")
    fg_lots_without_weight: int = Field(description="Finished-goods suspects without a weight")


class JobCreatedOut(Schema):
    job_id: str
    status: str = Field(description="PENDING")
    status_url: str = Field(description="/api/jobs/<job_id>")


class JobOut(Schema):
    job_id: str
    status: str = Field(description="PENDING, STARTED, SUCCESS or FAILURE")
    result: GraphOut | None = Field(description="The graph when the job succeeded")
    error: str | None = Field(description="What went wrong when the job failed")
