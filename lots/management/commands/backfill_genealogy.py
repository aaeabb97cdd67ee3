"""`manage.py backfill_genealogy`: recompute and cache the graph of every lot (or some).

Idempotent (it only overwrites cache entries), so it is safe to interrupt and run again.
Lots are read page by page in (created_at, id) order with keyset pagination: memory stays
flat however many lots there are, and a lot created meanwhile is never skipped twice over.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from datetime import time as day_start

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Q
from django.utils.dateparse import parse_date, parse_datetime

from lots import cache as trace_cache
from lots.models import Lot
from lots.tasks import genealogy_refresh_enqueue_one


def _parse_since(value: str) -> datetime:
    moment = parse_datetime(value)
    if moment is None:
        day = parse_date(value)
        if day is None:
            raise CommandError(f"--since: {value!r} is not a date (YYYY-MM-DD) or an ISO datetime")
        moment = datetime.combine(day, day_start.min)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class Command(BaseCommand):
    help = "Recompute and cache the genealogy graph of every lot (or those selected)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--since", help="only lots created at or after this date/datetime (UTC)")
        parser.add_argument("--lot", dest="lot_code", help="only this lot (by code)")
        parser.add_argument("--queue", action="store_true", help="queue one Celery job per lot instead")
        parser.add_argument("--batch-size", type=int, default=500, help="lots read per page (default 500)")

    def handle(self, *args, since: str | None, lot_code: str | None, queue: bool, batch_size: int, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        lots = Lot.objects.order_by("created_at", "id")
        if since:
            lots = lots.filter(created_at__gte=_parse_since(since))
        if lot_code:
            lots = lots.filter(lot_code=lot_code)
            if not lots.exists():
                raise CommandError(f"no lot with code {lot_code!r}")
        total = lots.count()
        done = failures = 0
        started = time.perf_counter()
        last: tuple[datetime, object] | None = None
        while True:
            page = lots
            if last is not None:
                page = page.filter(Q(created_at__gt=last[0]) | Q(created_at=last[0], id__gt=last[1]))
            batch = list(page.values_list("created_at", "id", "lot_code")[:batch_size])
            if not batch:
                break
            for _, lot_id, code in batch:
                try:
                    if queue:
                        genealogy_refresh_enqueue_one(lot_id=lot_id)
                    else:
                        trace_cache.graph_refresh(lot_code=code)
                except Exception as exc:
                    failures += 1
                    self.stderr.write(f"\n{code}: {type(exc).__name__}: {exc}")
                done += 1
                self._progress(done, total, started)
            last = batch[-1][:2]
        seconds = time.perf_counter() - started
        if total:
            self.stderr.write("")
        verb = "queued" if queue else "backfilled"
        self.stdout.write(f"{verb} {done} lots in {seconds:.1f} s, {failures} failures")
        if failures:
            raise CommandError(f"{failures} lots failed")

    def _progress(self, done: int, total: int, started: float) -> None:
        if done % 50 and done != total:
            return
        rate = done / max(time.perf_counter() - started, 1e-9)
        self.stderr.write(f"\r{done}/{total} lots ({rate:.0f}/s)", ending="")
