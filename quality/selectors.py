"""Reads of the QC decision log, as plain data."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from flowviz.core.formats import decimal_text, timestamp_text
from quality.models import QcDecision

_CELSIUS = Decimal("0.1")


def qc_decision_as_dict(decision: QcDecision) -> dict[str, Any]:
    """The contract's QC decision shape (nine keys)."""
    return {
        "id": str(decision.id),
        "lot_id": str(decision.lot_id),
        "qc_gate_id": None if decision.qc_gate_id is None else str(decision.qc_gate_id),
        "operator_id": None if decision.operator_id is None else str(decision.operator_id),
        "decision": decision.decision,
        "notes": decision.notes,
        "temperature_c": decimal_text(decision.temperature_c, _CELSIUS),
        "digital_signature": decision.digital_signature,
        "decided_at": timestamp_text(decision.decided_at),
    }


def qc_decisions_of_lot(*, lot_id: uuid.UUID) -> list[dict[str, Any]]:
    """A lot's decisions, newest first (the API resolves the lot's code and answers 404)."""
    decisions = QcDecision.objects.filter(lot_id=lot_id).order_by("-decided_at", "-id")
    return [qc_decision_as_dict(d) for d in decisions]
