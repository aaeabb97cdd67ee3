"""Request and response bodies of the QC decision endpoints."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from ninja import Schema
from pydantic import ConfigDict, Field, ValidationInfo, field_validator

from lots.schemas import TemperatureC
from quality.models import Decision

NOTES_MAX = 1000
NOTES_MIN_FOR_BLOCKING = 10
SIGNATURE_MAX = 4096


class QcDecisionIn(Schema):
    model_config = ConfigDict(extra="forbid")

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
