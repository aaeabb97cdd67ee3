"""Request and response bodies of the QC decision endpoints."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from ninja import Schema
from pydantic import ConfigDict, Field, ValidationInfo, field_validator

from flowviz.core.formats import BLANK_CLASS
from flowviz.http.schemas import RequestBody
from lots.schemas import TemperatureC
from quality.models import Decision

NOTES_MAX = 1000
NOTES_MIN_FOR_BLOCKING = 10
SIGNATURE_MAX = 4096


# At least NOTES_MIN_FOR_BLOCKING characters that are not whitespace (anywhere in the text).
_EXPLAINED = rf"([^{BLANK_CLASS}][{BLANK_CLASS}]*){{{NOTES_MIN_FOR_BLOCKING}}}"


class QcDecisionIn(RequestBody):
    # The notes rule in the OpenAPI schema too: HOLD and FAIL need explaining notes.
    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [
                {"properties": {"decision": {"const": "PASS"}}},
                {
                    "properties": {
                        "decision": {"enum": ["HOLD", "FAIL"]},
                        "notes": {"type": "string", "pattern": _EXPLAINED},
                    },
                    "required": ["notes"],
                },
            ]
        },
    )

    lot_id: uuid.UUID
    decision: Decision
    qc_gate_id: uuid.UUID | None = None
    operator_id: uuid.UUID | None = None
    # After `decision`, so its validator can see the decision.
    notes: str | None = Field(default=None, max_length=NOTES_MAX, validate_default=True)
    temperature_c: TemperatureC | None = None
    digital_signature: str | None = Field(default=None, max_length=SIGNATURE_MAX)

    @field_validator("notes")
    @classmethod
    def _notes_explain_a_hold_or_fail(cls, value: str | None, info: ValidationInfo) -> Any:
        decision = info.data.get("decision")
        if decision in (Decision.HOLD, Decision.FAIL):
            written = "".join((value or "").split())
            if len(written) < NOTES_MIN_FOR_BLOCKING:
                raise ValueError(
                    f"notes are required for {decision}: at least {NOTES_MIN_FOR_BLOCKING} "
                    "non-blank characters"
                )
        return value


class QcDecisionOut(Schema):
    id: uuid.UUID
    lot_id: uuid.UUID
    qc_gate_id: uuid.UUID | None
    operator_id: uuid.UUID | None
    decision: Decision
    notes: str | None
    temperature_c: str | None = Field(description='Decimal string with 1 decimal, e.g. "4.5"')
    digital_signature: str | None
    decided_at: datetime
