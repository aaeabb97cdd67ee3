"""Mock-recall drills (issue 15): food-safety schemes (BRCGS, FSSC 22000) require a mock recall
at least once a year, timed, with the quantities reconciled.

`recall_drill_run` is the one service the `mock_recall` command and the admin action call: it
runs the recall report (with its reconciliation) and the FSMA 204 spreadsheet of a lot, times
them, and records a RecallDrill with its files, so an auditor can download them again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import orjson
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from flowviz.core.spreadsheets import csv_text, file_name_part
from lots.fsma import fsma204_rows
from lots.models import Lot, RecallDrill
from lots.reconciliation import reconciliation_csv_rows
from lots.selectors import recall_csv_rows, recall_report


@dataclass(frozen=True)
class DrillFile:
    field: str  # the RecallDrill column holding it
    suffix: str  # file name: <prefix>-<lot code><suffix>
    prefix: str
    content_type: str


# The files of a drill, by the name the admin's download link uses.
DRILL_FILES: dict[str, DrillFile] = {
    "recall-json": DrillFile("recall_json", ".json", "recall", "application/json"),
    "recall-csv": DrillFile("recall_csv", ".csv", "recall", "text/csv; charset=utf-8"),
    "reconciliation-csv": DrillFile(
        "reconciliation_csv", ".csv", "reconciliation", "text/csv; charset=utf-8"
    ),
    "fsma204-csv": DrillFile("fsma204_csv", ".csv", "fsma204", "text/csv; charset=utf-8"),
}


def drill_file_name(drill: RecallDrill, name: str) -> str:
    """The download name of one of a drill's files (the lot code made file-name safe)."""
    spec = DRILL_FILES[name]
    return f"{spec.prefix}-{file_name_part(drill.lot_code)}{spec.suffix}"


def drill_summary(drill: RecallDrill) -> str:
    """One line saying what the drill found."""
    accounted = (
        "unknown (weights missing)" if drill.accounted_percent is None else f"{drill.accounted_percent}%"
    )
    return (
        f"Mock recall of {drill.lot_code}: {drill.fg_lot_count} finished-goods lots "
        f"({drill.fg_weight_kg} kg) in a genealogy of {drill.genealogy_lot_count} lots; "
        f"{accounted} of the lot's weight accounted for; {drill.duration_ms} ms"
    )


def recall_drill_run(
    *,
    lot_code: str,
    source: str,
    actor: User | None = None,
    run_by_name: str = "",
    progress: Callable[[str], None] | None = None,
) -> RecallDrill:
    """Run a timed mock recall of a lot and record it (its files included).

    `source`: "command" or "admin"; `actor`: the user who ran it, if known; `run_by_name`: who
    ran it when there is no user (the command's system user). `progress(text)` hears about
    each stage. Raises Lot.DoesNotExist for an unknown lot code.
    """

    def say(text: str) -> None:
        if progress is not None:
            progress(text)

    if not Lot.objects.filter(lot_code=lot_code).exists():
        raise Lot.DoesNotExist(f"No lot with code {lot_code!r}")
    started_at = timezone.now()
    started = time.perf_counter()
    say(f"Walking the genealogy down from {lot_code} (recall report and reconciliation)...")
    report = recall_report(lot_code=lot_code)
    if report is None:  # deleted in between
        raise Lot.DoesNotExist(f"No lot with code {lot_code!r}")
    reconciliation = report["reconciliation"]
    say(
        f"  {report['affected_count']} finished-goods lots, {report['total_weight_kg']} kg; "
        f"{reconciliation['accounted_percent'] or 'unknown'} % accounted for "
        f"({time.perf_counter() - started:.1f} s)"
    )
    say(f"Walking the genealogy of {lot_code} both ways (FSMA 204 spreadsheet)...")
    events = fsma204_rows(lot_code=lot_code)
    if events is None:
        raise Lot.DoesNotExist(f"No lot with code {lot_code!r}")
    genealogy_lots = len({row[1] for row in events[1:]})
    say(f"  {len(events) - 1} rows for {genealogy_lots} lots ({time.perf_counter() - started:.1f} s)")
    files = {
        "recall_json": orjson.dumps(report, option=orjson.OPT_INDENT_2).decode(),
        "recall_csv": csv_text(recall_csv_rows(report)),
        "reconciliation_csv": csv_text(reconciliation_csv_rows(reconciliation)),
        "fsma204_csv": csv_text(events, bom=True),
    }
    duration_ms = round((time.perf_counter() - started) * 1000)
    accounted = reconciliation["accounted_percent"]
    drill = RecallDrill(
        lot=Lot.objects.filter(lot_code=lot_code).first(),
        lot_code=lot_code,
        run_by=actor,
        run_by_name=actor.email if actor is not None else run_by_name,
        source=source,
        started_at=started_at,
        duration_ms=duration_ms,
        genealogy_lot_count=genealogy_lots,
        fg_lot_count=report["affected_count"],
        fg_weight_kg=Decimal(report["total_weight_kg"]),
        accounted_percent=None if accounted is None else Decimal(accounted),
        weights_known=reconciliation["weights_known"],
        **files,
    )
    drill.full_clean(exclude=["lot", "run_by"])
    with transaction.atomic():
        drill.save(force_insert=True)
    say(drill_summary(drill))
    return drill
