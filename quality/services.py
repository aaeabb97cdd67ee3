"""QC decision writes. The log is append-only: there is no update or delete function.

Recording a decision is a use case of lots (`lots.services.qc_decision_record`): it locks the
lot first, since a decision changes whether the lot may be consumed. This module holds the
quality part, which that use case calls inside its transaction.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from accounts.models import User
from flowviz.core.errors import FieldInvalid
from quality.models import QcDecision, QcGate


def qc_decision_insert(
    *,
    lot_id: uuid.UUID,
    decision: str,
    actor: User,
    qc_gate_id: uuid.UUID | None = None,
    operator_id: uuid.UUID | None = None,
    notes: str | None = None,
    temperature_c: Decimal | None = None,
    digital_signature: str | None = None,
) -> QcDecision:
    """Check the gate and operator, then append the decision row (the operator defaults to the
    actor). Call it inside the transaction that locked the lot (lots.services)."""
    if qc_gate_id is not None and not QcGate.objects.filter(pk=qc_gate_id).exists():
        raise FieldInvalid(("qc_gate_id",), f"QC gate {qc_gate_id} does not exist")
    if operator_id is not None and not User.objects.filter(pk=operator_id).exists():
        raise FieldInvalid(("operator_id",), f"User {operator_id} does not exist")
    record = QcDecision(
        lot_id=lot_id,
        qc_gate_id=qc_gate_id,
        operator_id=operator_id or actor.pk,
        decision=decision,
        notes=notes,
        temperature_c=temperature_c,
        digital_signature=digital_signature,
    )
    # The primary key is a fresh UUID: a uniqueness check would be one SELECT per decision.
    record.full_clean(
        exclude=["lot", "qc_gate", "operator"], validate_unique=False, validate_constraints=False
    )
    record.save(force_insert=True)
    return record
