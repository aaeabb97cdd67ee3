"""Production configuration: scenarios, their streams and phases, and production runs."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Now
from django.utils import timezone

from flowviz.core.formats import bilingual_text

hex_colour_validator = RegexValidator(r"^#[0-9a-fA-F]{6}$", "Enter a colour as #rrggbb, e.g. #4a9eff.")


class Scenario(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.JSONField(help_text='{"hu": ..., "en": ...}')
    version = models.TextField()
    config = models.JSONField(default=dict, db_default={}, blank=True)
    i18n = models.JSONField(default=dict, db_default={}, blank=True)
    is_active = models.BooleanField(default=False, db_default=False)
    created_at = models.DateTimeField(default=timezone.now, db_default=Now())

    class Meta:
        db_table = "scenarios"
        ordering = ["-created_at"]
        constraints = [
            # At most one active scenario, enforced by the database.
            models.UniqueConstraint(
                fields=["is_active"],
                condition=models.Q(is_active=True),
                name="scenarios_single_active",
            ),
        ]

    def __str__(self) -> str:
        return f"{bilingual_text(self.name)} ({self.version})"


class Stream(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    scenario = models.ForeignKey(Scenario, on_delete=models.CASCADE, related_name="streams")
    stream_key = models.TextField()
    name = models.JSONField()
    color = models.TextField("colour", validators=[hex_colour_validator], null=True, blank=True)
    sort_order = models.IntegerField(default=0, db_default=0)

    class Meta:
        db_table = "streams"
        ordering = ["scenario", "sort_order", "stream_key"]
        constraints = [
            models.UniqueConstraint(fields=["scenario", "stream_key"], name="streams_scenario_key_uniq"),
        ]

    def __str__(self) -> str:
        return f"{self.stream_key}: {bilingual_text(self.name)}"


class Phase(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    scenario = models.ForeignKey(Scenario, on_delete=models.CASCADE, related_name="phases")
    stream = models.ForeignKey(
        Stream, on_delete=models.SET_NULL, null=True, blank=True, related_name="phases"
    )
    qc_gate = models.ForeignKey(
        "quality.QcGate",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="phases",
        verbose_name="QC gate",
    )
    phase_number = models.IntegerField()
    name = models.JSONField()
    description = models.JSONField(default=dict, db_default={}, blank=True)

    class Meta:
        db_table = "phases"
        ordering = ["scenario", "phase_number"]
        constraints = [
            models.UniqueConstraint(fields=["scenario", "phase_number"], name="phases_scenario_number_uniq"),
        ]

    def __str__(self) -> str:
        return f"{self.phase_number}. {bilingual_text(self.name)}"

    def clean(self) -> None:
        """A phase may only use a stream and a QC gate of its own scenario."""
        super().clean()
        errors = {}
        if self.stream_id and self.scenario_id and self.stream.scenario_id != self.scenario_id:
            errors["stream"] = (
                f"Stream {self.stream.stream_key} belongs to another scenario; "
                "a phase can only use a stream of its own scenario."
            )
        if self.qc_gate_id and self.scenario_id and self.qc_gate.scenario_id != self.scenario_id:
            errors["qc_gate"] = (
                f"QC gate {self.qc_gate.gate_number.normalize():f} belongs to another scenario; "
                "a phase can only use a QC gate of its own scenario."
            )
        if errors:
            raise ValidationError(errors)


class RunStatus(models.TextChoices):
    ACTIVE = "ACTIVE", "Active"
    COMPLETED = "COMPLETED", "Completed"
    CANCELLED = "CANCELLED", "Cancelled"


class ProductionRun(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    run_code = models.TextField(unique=True, help_text="PRD-YYYYMMDD-...")
    scenario = models.ForeignKey(
        Scenario, on_delete=models.PROTECT, null=True, blank=True, related_name="production_runs"
    )
    operator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="production_runs",
    )
    status = models.TextField(
        choices=RunStatus.choices, default=RunStatus.ACTIVE, db_default=RunStatus.ACTIVE
    )
    daily_target_kg = models.DecimalField(
        "daily target (kg)", max_digits=10, decimal_places=2, null=True, blank=True
    )
    started_at = models.DateTimeField(default=timezone.now, db_default=Now())
    ended_at = models.DateTimeField(null=True, blank=True)
    summary = models.JSONField(null=True, blank=True)

    class Meta:
        db_table = "production_runs"
        ordering = ["-started_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=RunStatus.values), name="production_runs_status_check"
            ),
        ]
        indexes = [models.Index(fields=["status", "-started_at"], name="production_runs_status_idx")]

    def __str__(self) -> str:
        return self.run_code
