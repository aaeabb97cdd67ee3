"""Lots and their genealogy (which lots each lot was made from)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Now
from django.utils import timezone

from flowviz.core.json_limits import json_limits_validator


class LotType(models.TextChoices):
    RAW = "RAW", "Raw material"
    DEB = "DEB", "Deboned"
    BULK = "BULK", "Bulk"
    MIX = "MIX", "Mix"
    SKW = "SKW", "Skewer"
    FRZ = "FRZ", "Frozen"
    FG = "FG", "Finished goods"


# A `/` in a code would be a path separator in every /api/.../{lot_code} URL (and `%2F` is
# decoded before routing): new codes cannot hold one. Lots adopted from the legacy database
# with one stay readable (docs/parity.md). The API's LotCode type uses the same pattern.
LOT_CODE_PATTERN = r"^[^/]+$"
lot_code_validator = RegexValidator(LOT_CODE_PATTERN, "A lot code cannot contain '/'.", code="lot_code_slash")


class Lot(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    lot_code = models.TextField(unique=True, validators=[lot_code_validator])
    lot_type = models.TextField(choices=LotType.choices, null=True, blank=True)
    production_run = models.ForeignKey(
        "flowviz.ProductionRun", on_delete=models.PROTECT, null=True, blank=True, related_name="lots"
    )
    phase = models.ForeignKey(
        "flowviz.Phase", on_delete=models.PROTECT, null=True, blank=True, related_name="lots"
    )
    operator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="lots"
    )
    weight_kg = models.DecimalField("weight (kg)", max_digits=10, decimal_places=2, null=True, blank=True)
    temperature_c = models.DecimalField(
        "temperature (°C)", max_digits=5, decimal_places=1, null=True, blank=True
    )
    metadata = models.JSONField(default=dict, db_default={}, blank=True, validators=[json_limits_validator])
    created_at = models.DateTimeField(default=timezone.now, db_default=Now())

    class Meta:
        db_table = "lots"
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(lot_type__in=LotType.values), name="lots_lot_type_check"
            ),
        ]
        indexes = [
            # Newest-first listing, optionally by type; lot_code has its unique index.
            models.Index(fields=["-created_at"], name="lots_created_idx"),
            models.Index(fields=["lot_type", "-created_at"], name="lots_type_created_idx"),
        ]

    def __str__(self) -> str:
        return self.lot_code


class LotGenealogy(models.Model):
    """An edge of the genealogy graph: `child_lot` was made using `parent_lot`."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # No single-column FK indexes: the covering indexes below (and the pair's unique index)
    # lead with these columns and serve the same lookups.
    parent_lot = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="child_links", db_index=False)
    child_lot = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="parent_links", db_index=False)
    quantity_used_kg = models.DecimalField(
        "quantity used (kg)", max_digits=10, decimal_places=2, null=True, blank=True
    )
    linked_at = models.DateTimeField(default=timezone.now, db_default=Now())

    class Meta:
        db_table = "lot_genealogy"
        verbose_name = "genealogy link"
        constraints = [
            models.UniqueConstraint(fields=["parent_lot", "child_lot"], name="lot_genealogy_pair_uniq"),
            models.CheckConstraint(
                condition=~models.Q(parent_lot=models.F("child_lot")), name="lot_genealogy_no_self_link"
            ),
        ]
        indexes = [
            # The genealogy walk reads whole edges from the index alone (index-only scans):
            # walking up looks edges up by child, walking down by parent.
            models.Index(
                fields=["child_lot"],
                include=["parent_lot", "quantity_used_kg"],
                name="lot_genealogy_up_idx",
            ),
            models.Index(
                fields=["parent_lot"],
                include=["child_lot", "quantity_used_kg"],
                name="lot_genealogy_down_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.parent_lot_id} -> {self.child_lot_id}"


class LotSuspicion(models.Model):
    """`suspect_lot` was made, at some depth, from `held_lot`, whose latest QC decision is HOLD
    or FAIL: a suspect lot may not be consumed until the hold is released (issue 15).

    Stored, not derived, so that checking a parent before it is consumed is an index lookup
    instead of a walk up its genealogy. Written by lots.holds (the HOLD/FAIL that spreads,
    the PASS that releases, the rebuild); see lots/services.py for the locks that keep it
    exact under concurrent writes. Each (suspect, held) pair is one row, however many paths
    join them.
    """

    pk = models.CompositePrimaryKey("suspect_lot_id", "held_lot_id")
    # The primary key (suspect, held) serves lookups by suspect lot; held_lot has its own index.
    # No foreign-key constraints in the database: this is derived data (rebuilt by
    # `manage.py rebuild_suspicions`), and a HOLD on a raw lot with 24,000 descendants would
    # spend more on their 48,000 deferred key checks at commit (1.1 s) than on its whole walk.
    # Django still cascades a lot's deletion to its rows (and a lot with genealogy links cannot
    # be deleted at all); readers join lots, so a row of a lot deleted otherwise matches nothing.
    suspect_lot = models.ForeignKey(
        Lot, on_delete=models.CASCADE, related_name="suspicions", db_index=False, db_constraint=False
    )
    held_lot = models.ForeignKey(Lot, on_delete=models.CASCADE, related_name="suspects", db_constraint=False)
    since = models.DateTimeField(default=timezone.now, db_default=Now())

    class Meta:
        db_table = "lot_suspicions"
        verbose_name = "suspect lot"

    def __str__(self) -> str:
        return f"{self.suspect_lot_id} held by {self.held_lot_id}"


class RecallDrill(models.Model):
    """A mock recall (BRCGS / FSSC 22000): the recall report, its mass-balance reconciliation
    and the FSMA 204 spreadsheet of one lot, timed, with the files kept for the auditor.

    The lot is kept by code too: the record stays readable if the lot is renamed or deleted.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    lot = models.ForeignKey(
        Lot, on_delete=models.SET_NULL, null=True, blank=True, related_name="recall_drills"
    )
    lot_code = models.TextField()
    run_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="recall_drills",
    )
    run_by_name = models.TextField(
        help_text="Who ran it: the user's email, or the system user of the command"
    )
    source = models.TextField(help_text="command or admin")
    started_at = models.DateTimeField(default=timezone.now, db_default=Now())
    duration_ms = models.PositiveIntegerField("duration (ms)")
    genealogy_lot_count = models.PositiveIntegerField("lots in the genealogy")
    fg_lot_count = models.PositiveIntegerField("finished-goods lots found")
    fg_weight_kg = models.DecimalField("finished-goods weight (kg)", max_digits=14, decimal_places=2)
    accounted_percent = models.DecimalField(
        "accounted for (%)",
        max_digits=7,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="Empty when weights are missing on the way (see the reconciliation)",
    )
    weights_known = models.BooleanField()
    recall_json = models.TextField("recall report (JSON)")
    recall_csv = models.TextField("recall report (CSV)")
    reconciliation_csv = models.TextField("reconciliation (CSV)")
    fsma204_csv = models.TextField("FSMA 204 spreadsheet (CSV)")

    class Meta:
        db_table = "recall_drills"
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["-started_at"], name="recall_drills_started_idx")]

    def __str__(self) -> str:
        return f"Mock recall of {self.lot_code} @ {self.started_at:%Y-%m-%d %H:%M}"
