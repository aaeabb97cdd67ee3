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
from flowviz.core.json_limits import GraphJsonLimitsValidator, json_limits_validator
from flowviz.production.graphs import GRAPH_MAX_BYTES

hex_colour_validator = RegexValidator(r"^#[0-9a-fA-F]{6}$", "Enter a colour as #rrggbb, e.g. #4a9eff.")


class Scenario(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.JSONField(help_text='{"hu": ..., "en": ...}', validators=[json_limits_validator])
    version = models.TextField()
    config = models.JSONField(default=dict, db_default={}, blank=True, validators=[json_limits_validator])
    i18n = models.JSONField(default=dict, db_default={}, blank=True, validators=[json_limits_validator])
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
    name = models.JSONField(validators=[json_limits_validator])
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
    name = models.JSONField(validators=[json_limits_validator])
    description = models.JSONField(
        default=dict, db_default={}, blank=True, validators=[json_limits_validator]
    )

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
    summary = models.JSONField(null=True, blank=True, validators=[json_limits_validator])

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


# --- Flow Editor designs (contract section 10) -----------------------------------------------


def flow_name_validate(name: object) -> None:
    """A flow's name: `{"hu": ..., "en": ...}`, texts, at least one of them not blank."""
    if not isinstance(name, dict) or not {"hu", "en"} <= set(name):
        raise ValidationError('Give the name as {"hu": ..., "en": ...}.')
    if not all(isinstance(text, str) for text in name.values()):
        raise ValidationError("Every language's name must be a text.")
    if not any(text.strip() for text in name.values()):
        raise ValidationError("Give the name in at least one language.")


class FlowDefinition(models.Model):
    """A production-line design drawn in the frontend's Flow Editor; its graphs are its versions."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.JSONField(
        help_text='{"hu": ..., "en": ...}', validators=[flow_name_validate, json_limits_validator]
    )
    description = models.TextField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        db_column="created_by",
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now, db_default=Now())
    # Touched by every change of the definition or of one of its versions.
    updated_at = models.DateTimeField(default=timezone.now, db_default=Now())

    class Meta:
        db_table = "flow_definitions"
        ordering = ["-updated_at", "-id"]
        verbose_name = "flow definition"
        indexes = [
            # GET /api/flows: most recently updated first.
            models.Index(fields=["-updated_at", "-id"], name="flow_definitions_updated_idx"),
        ]

    def __str__(self) -> str:
        return bilingual_text(self.name) or str(self.pk)


class FlowStatus(models.TextChoices):
    DRAFT = "DRAFT", "Draft"
    PUBLISHED = "PUBLISHED", "Published"
    ARCHIVED = "ARCHIVED", "Archived"


class FlowVersion(models.Model):
    """One numbered graph of a flow. A DRAFT is editable; PUBLISHED and ARCHIVED are records.

    The database keeps them so (migration flowviz/0004): at most one DRAFT per flow (a partial
    unique index), unique version numbers, and a trigger refusing any change of a frozen
    version's graph, number or flow, any status change but PUBLISHED → ARCHIVED, and the
    deletion of a version that was ever published.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # No index of its own: the unique (flow_definition, version_num) index leads with it.
    flow_definition = models.ForeignKey(
        FlowDefinition, on_delete=models.CASCADE, related_name="versions", db_index=False
    )
    version_num = models.IntegerField("version")
    status = models.TextField(
        choices=FlowStatus.choices, default=FlowStatus.DRAFT, db_default=FlowStatus.DRAFT
    )
    graph_schema = models.JSONField(
        help_text='{"nodes": [...], "edges": [...], "viewport": {...}}',
        validators=[GraphJsonLimitsValidator(GRAPH_MAX_BYTES)],
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        db_column="created_by",
        related_name="+",
    )
    published_at = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        db_column="published_by",
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now, db_default=Now())

    class Meta:
        db_table = "flow_versions"
        ordering = ["flow_definition", "-version_num"]
        verbose_name = "flow version"
        constraints = [
            # Also the index of every lookup of a flow's versions (by number, newest first).
            models.UniqueConstraint(
                fields=["flow_definition", "version_num"], name="flow_versions_flow_number_uniq"
            ),
            # At most one draft per flow; also the index of "the flow's draft".
            models.UniqueConstraint(
                fields=["flow_definition"],
                condition=models.Q(status=FlowStatus.DRAFT),
                name="flow_versions_one_draft",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=FlowStatus.values), name="flow_versions_status_check"
            ),
            models.CheckConstraint(
                condition=models.Q(version_num__gte=1), name="flow_versions_number_positive"
            ),
            models.CheckConstraint(
                condition=~models.Q(status=FlowStatus.PUBLISHED) | models.Q(published_at__isnull=False),
                name="flow_versions_published_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.flow_definition} v{self.version_num} ({self.status})"

    @property
    def is_frozen(self) -> bool:
        """PUBLISHED or ARCHIVED: its graph can never change again."""
        return self.status != FlowStatus.DRAFT

    @property
    def ever_published(self) -> bool:
        return self.published_at is not None
