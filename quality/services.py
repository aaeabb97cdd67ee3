"""QC decision writes. The log is append-only: there is no update or delete function."""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.db import transaction

from accounts.models import User
from flowviz import metrics
from flowviz.errors import FieldInvalid
from lots.models import Lot
from quality.models import QcDecision, QcGate


@transaction.atomic
def qc_decision_create(
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
    """Record a decision about a lot (locks the lot row: see lots.services on why)."""
    if not Lot.objects.select_for_update().filter(pk=lot_id).exists():
        raise FieldInvalid(("lot_id",), f"Lot {lot_id} does not exist")
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
    record.full_clean(exclude=["lot", "qc_gate", "operator"], validate_constraints=False)
    record.save(force_insert=True)
    transaction.on_commit(lambda: metrics.QC_DECISIONS.labels(decision=decision).inc())
    return record
