"""Reads of the QC decision log, as plain data."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from lots.selectors import decimal_text, timestamp_text
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


def qc_decisions_of_lot(*, lot_code: str) -> list[dict[str, Any]] | None:
    """A lot's decisions, newest first; None when the lot does not exist."""
    from lots.models import Lot

    lot_id = Lot.objects.filter(lot_code=lot_code).values_list("id", flat=True).first()
    if lot_id is None:
        return None
    decisions = QcDecision.objects.filter(lot_id=lot_id).order_by("-decided_at", "-id")
    return [qc_decision_as_dict(d) for d in decisions]
