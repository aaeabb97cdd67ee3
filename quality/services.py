"""QC decision writes. The log is append-only: there is no update or delete function.

Recording a decision is a use case of lots (`lots.services.qc_decision_record`): it locks the
lot first, since a decision changes whether the lot may be consumed. This module holds the
quality part: the checked row and the statement that appends it, which that use case sends
in its batch.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.db import connection

from accounts.models import User
from flowviz.core.errors import FieldInvalid
from quality.models import QcDecision, QcGate


def qc_decision_build(
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
    """The decision row to append, checked (gate, operator, field rules) but not saved: the
    lots use case writes it with QC_DECISION_INSERT_SQL and `qc_decision_insert_params` in its
    batch of statements. The operator defaults to the actor; the id is set here, the time by
    the statement."""
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
    return record


_FIELDS = [field for field in QcDecision._meta.concrete_fields if field.attname != "decided_at"]
_LOTS_TABLE = QcDecision._meta.get_field("lot").related_model._meta.db_table
# Inserted only while the lot exists (no row, rather than a foreign-key error, for an unknown
# lot: the caller reports it as a field error). Dated by the database's clock when the row is
# written, after the locks the batch waited for (now() would be the transaction's start).
QC_DECISION_INSERT_SQL = (
    f"INSERT INTO {QcDecision._meta.db_table} ({', '.join(field.column for field in _FIELDS)}, decided_at) "
    f"SELECT {', '.join(f'%(qc_{field.column})s' for field in _FIELDS)}, clock_timestamp() "
    f"WHERE EXISTS (SELECT 1 FROM {_LOTS_TABLE} WHERE id = %(qc_lot_id)s) RETURNING decided_at"
)


def qc_decision_insert_params(record: QcDecision) -> dict[str, object]:
    """The named parameters of QC_DECISION_INSERT_SQL for a record of `qc_decision_build`
    (which the statement's RETURNING dates)."""
    return {
        f"qc_{field.column}": field.get_db_prep_save(getattr(record, field.attname), connection)
        for field in _FIELDS
    }
