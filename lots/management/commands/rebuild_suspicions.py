"""`manage.py rebuild_suspicions`: make the suspect-lot table agree with the QC decision log.

FlowViz keeps lot_suspicions exact itself; decisions written behind its back do not spread
(the legacy server inserting into qc_decisions of an adopted database, a restore of part of
the data). Run this after such writes - during the legacy side-by-side period, from cron.
Rerunnable: a second run changes nothing. One held lot per transaction (see lots.holds).
"""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand

from lots.changes import holds_changed
from lots.holds import suspicion_rebuild
from lots.models import Lot


class Command(BaseCommand):
    help = "Rebuild the suspect-lot table from the QC decisions (rerunnable)."

    def handle(self, *args, **options) -> None:
        started = time.perf_counter()

        def progress(index: int, total: int, lot_id, removed: int, added: int) -> None:
            code = Lot.objects.filter(pk=lot_id).values_list("lot_code", flat=True).first()
            self.stderr.write(f"[{index}/{total}] {code}: {added} suspect lots added, {removed} removed")

        changed = suspicion_rebuild(progress=progress)
        if changed:
            # Cached graphs show held_by: retire them all (outside a transaction: at once).
            holds_changed()
        self.stdout.write(f"{changed} suspicion rows changed in {time.perf_counter() - started:.1f} s")
