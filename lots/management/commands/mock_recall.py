"""`manage.py mock_recall LOT_CODE [--out DIR]`: a timed mock recall of a lot, recorded as a drill.

Runs the recall report, its mass-balance reconciliation and the FSMA 204 spreadsheet through
the same service as the admin's "Run mock recall" action (lots.drills.recall_drill_run),
prints each stage on stderr and the drill's summary on stdout, and writes the drill's files
to DIR when --out is given (they stay downloadable from the admin either way).
"""

from __future__ import annotations

import getpass
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import User
from lots.drills import DRILL_FILES, drill_file_name, drill_summary, recall_drill_run
from lots.models import Lot


class Command(BaseCommand):
    help = "Run a timed mock recall of a lot, record it as a drill and optionally write its files."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("lot_code", help="the lot to recall")
        parser.add_argument("--out", type=Path, help="directory to write the drill's files to")
        parser.add_argument("--user", help="email of the FlowViz user running the drill (default: none)")

    def handle(self, *args, lot_code: str, out: Path | None, user: str | None, **options) -> None:
        actor = None
        if user:
            actor = User.objects.with_email(user).first()
            if actor is None:
                raise CommandError(f"no user with email {user!r}")
        if out is not None and out.exists() and not out.is_dir():
            raise CommandError(f"--out {out} exists and is not a directory")
        try:
            drill = recall_drill_run(
                lot_code=lot_code,
                source="command",
                actor=actor,
                run_by_name=getpass.getuser(),
                progress=lambda text: self.stderr.write(text),
            )
        except Lot.DoesNotExist:
            raise CommandError(f"no lot with code {lot_code!r}") from None
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
            for name, spec in DRILL_FILES.items():
                path = out / drill_file_name(drill, name)
                # newline="": the CSV text carries its own CRLF line ends.
                path.write_text(getattr(drill, spec.field), encoding="utf-8", newline="")
                self.stderr.write(f"wrote {path}")
        self.stdout.write(drill_summary(drill))
        self.stdout.write(f"drill {drill.pk} recorded")
