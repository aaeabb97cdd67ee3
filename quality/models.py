"""Quality control: the gates of a scenario and the append-only log of QC decisions."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models.functions import Now
from django.utils import timezone

from flowviz.core.formats import bilingual_text
from flowviz.core.json_limits import json_limits_validator


class GateType(models.TextChoices):
    CHECKPOINT = "CHECKPOINT", "Checkpoint"
    BLOCKING = "BLOCKING", "Blocking"
    INFO = "INFO", "Info"


class Decision(models.TextChoices):
    PASS = "PASS", "Pass"
    HOLD = "HOLD", "Hold"
    FAIL = "FAIL", "Fail"


class QcGate(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    scenario = models.ForeignKey("flowviz.Scenario", on_delete=models.CASCADE, related_name="qc_gates")
    # The factory numbers gates like 6.5, hence a decimal.
    gate_number = models.DecimalField(max_digits=4, decimal_places=1)
    name = models.JSONField(validators=[json_limits_validator])
    gate_type = models.TextField(
        choices=GateType.choices, default=GateType.CHECKPOINT, db_default=GateType.CHECKPOINT
    )
    is_ccp = models.BooleanField("HACCP critical control point", default=False, db_default=False)
    checklist = models.JSONField(default=list, db_default=[], blank=True, validators=[json_limits_validator])

    class Meta:
        db_table = "qc_gates"
        ordering = ["scenario", "gate_number"]
        verbose_name = "QC gate"
        constraints = [
            models.UniqueConstraint(fields=["scenario", "gate_number"], name="qc_gates_scenario_number_uniq"),
            models.CheckConstraint(
                condition=models.Q(gate_type__in=GateType.values), name="qc_gates_gate_type_check"
            ),
        ]

    def __str__(self) -> str:
        return f"Gate {self.gate_number.normalize():f}: {bilingual_text(self.name)}"


class QcDecision(models.Model):
    """One QC decision. An audit log: rows are only ever inserted (the database enforces it)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    lot = models.ForeignKey("lots.Lot", on_delete=models.PROTECT, related_name="qc_decisions")
    qc_gate = models.ForeignKey(
        QcGate,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="decisions",
        verbose_name="QC gate",
    )
    operator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="qc_decisions",
    )
    decision = models.TextField(choices=Decision.choices)
    notes = models.TextField(null=True, blank=True)
    temperature_c = models.DecimalField(
        "temperature (°C)", max_digits=5, decimal_places=1, null=True, blank=True
    )
    digital_signature = models.TextField(null=True, blank=True)
    decided_at = models.DateTimeField(default=timezone.now, db_default=Now())

    class Meta:
        db_table = "qc_decisions"
        ordering = ["-decided_at"]
        verbose_name = "QC decision"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(decision__in=Decision.values), name="qc_decisions_decision_check"
            ),
        ]
        indexes = [
            models.Index(fields=["lot", "-decided_at"], name="qc_decisions_lot_time_idx"),
            models.Index(fields=["-decided_at"], name="qc_decisions_time_idx"),
            # The lots ever put on HOLD or FAILed (few): where GET /api/holds starts.
            models.Index(
                fields=["lot"],
                condition=models.Q(decision__in=["HOLD", "FAIL"]),
                name="qc_decisions_blocking_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.decision} {self.lot_id} @ {self.decided_at:%Y-%m-%d %H:%M}"
