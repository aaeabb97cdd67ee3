"""Benchmark of hold propagation on a generated factory (not a test; prints figures).

What is timed, in this process, against PostgreSQL:
  hold      recording a HOLD on the RAW lot with the most descendants (lots.services.
            qc_decision_record: the exclusive holds lock, the decision, one INSERT ... SELECT
            over the recursive walk of its descendants, the commit), then the PASS that
            releases it (one DELETE); RUNS times each, wall clock.
  consume   the consumption check's cost: POST /api/lots with two parents through Django's
            test Client (bearer auth, JSON, the service with its locks and checks, the answer
            read back), CONSUME_REQUESTS requests; CPU time of this process per request
            (time.process_time) and wall time. Writes queue their genealogy refresh on the
            broker as in production (the queue is emptied afterwards); the lots written are
            deleted afterwards.
`--consume-only` runs only the second part (copied into a checkout from before issue 15 and
run there, it gives the "before" figure on the same database).

Environment (defaults in brackets):
  BENCH_DATABASE_URL [postgres://postgres@127.0.0.1:5432/flowviz_trace_bench]
  BENCH_REDIS_URL [redis://127.0.0.1:6379/5]   BENCH_BROKER_URL [redis://127.0.0.1:6379/6]
  BENCH_LOTS [200000]   BENCH_PREFIX [BENCH]   BENCH_RUNS [5]   BENCH_CONSUME_REQUESTS [300]
The factory is generated once (`generate_factory`) when the prefix is not there yet.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from bench.database import bench_django_setup, bench_factory_ensure  # noqa: E402

bench_django_setup(cache_key_prefix="flowviz-bench-holds", broker_url_default="redis://127.0.0.1:6379/6")

import orjson  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from accounts.models import User  # noqa: E402
from accounts.roles import Role  # noqa: E402
from accounts.tokens import token_issue  # noqa: E402
from flowviz.celery import app as celery_app  # noqa: E402
from lots.models import Lot, LotGenealogy  # noqa: E402

LOTS = int(os.environ.get("BENCH_LOTS", "200000"))
PREFIX = os.environ.get("BENCH_PREFIX", "BENCH")
RUNS = int(os.environ.get("BENCH_RUNS", "5"))
CONSUME_REQUESTS = int(os.environ.get("BENCH_CONSUME_REQUESTS", "300"))
CONSUMED_PREFIX = f"{PREFIX}-CONSUMED-"


def _user(email: str, role: str) -> User:
    return User.objects.filter(email=email).first() or User.objects.create_user(email, role=role)


def biggest_raw_lot() -> tuple[Lot, int]:
    """The RAW lot of the factory with the most descendants (counted with one walk each)."""
    best, most = None, -1
    with connection.cursor() as cursor:
        for lot in Lot.objects.filter(lot_code__startswith=f"{PREFIX}-RAW-").order_by("lot_code")[:10]:
            cursor.execute(
                "WITH RECURSIVE down(id) AS (SELECT %s::uuid UNION SELECT g.child_lot_id FROM down "
                "JOIN lot_genealogy g ON g.parent_lot_id = down.id) SELECT count(*) - 1 FROM down",
                [lot.pk],
            )
            count = cursor.fetchone()[0]
            if count > most:
                best, most = lot, count
    return best, most


def bench_hold() -> None:
    from lots.models import LotSuspicion
    from lots.services import qc_decision_record

    auditor = _user("bench-auditor@flowviz.test", Role.AUDITOR)
    lot, descendants = biggest_raw_lot()
    print(f"\nHOLD on {lot.lot_code} ({descendants} descendants), {RUNS} runs; times in ms (commit included)")
    holds, releases = [], []
    for _ in range(RUNS):
        started = time.perf_counter()
        qc_decision_record(lot_id=lot.pk, decision="HOLD", actor=auditor, notes="bench: supplier recall")
        holds.append((time.perf_counter() - started) * 1000)
        suspects = LotSuspicion.objects.filter(held_lot=lot).count()
        assert suspects == descendants, (suspects, descendants)
        started = time.perf_counter()
        qc_decision_record(lot_id=lot.pk, decision="PASS", actor=auditor)
        releases.append((time.perf_counter() - started) * 1000)
        assert not LotSuspicion.objects.filter(held_lot=lot).exists()
    print(f"  HOLD:  {' '.join(f'{t:.0f}' for t in holds)}  median {statistics.median(holds):.0f} ms")
    print(f"  PASS:  {' '.join(f'{t:.0f}' for t in releases)}  median {statistics.median(releases):.0f} ms")


def bench_consume() -> None:
    operator = _user("bench-operator@flowviz.test", Role.OPERATOR)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token_issue(user_id=str(operator.pk), role=operator.role)}"}
    # Two frozen lots with room to draw from (the factory's lots are drawn to their weight).
    parents = [f"{CONSUMED_PREFIX}FRZ-{side}" for side in "AB"]
    for code in parents:
        Lot.objects.get_or_create(lot_code=code, defaults={"lot_type": "FRZ", "weight_kg": 9000})
    client = Client()

    def post(index: int) -> None:
        body = {
            "lot_code": f"{CONSUMED_PREFIX}{index:06d}",
            "lot_type": "FG",
            "parents": [{"lot_code": code, "quantity_used_kg": "0.01"} for code in parents],
        }
        response = client.post("/api/lots", orjson.dumps(body), content_type="application/json", **auth)
        assert response.status_code == 201, response.content

    for index in range(20):  # warm up: connections, caches, code paths
        post(index)
    cpu, wall = time.process_time(), time.perf_counter()
    for index in range(20, 20 + CONSUME_REQUESTS):
        post(index)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    print(
        f"\nPOST /api/lots with two parents ({', '.join(parents)}), {CONSUME_REQUESTS} requests: "
        f"CPU {cpu / CONSUME_REQUESTS * 1000:.2f} ms per request (this process), "
        f"wall {wall / CONSUME_REQUESTS * 1000:.2f} ms per request"
    )


def cleanup() -> None:
    consumed = Lot.objects.filter(lot_code__startswith=CONSUMED_PREFIX)
    LotGenealogy.objects.filter(child_lot__in=consumed).delete()
    consumed.delete()
    celery_app.control.purge()
    cache.delete_pattern("*")  # django-redis: only this run's key prefix


def main() -> None:
    bench_factory_ensure(lots=LOTS, prefix=PREFIX)
    try:
        if "--consume-only" not in sys.argv:
            bench_hold()
        bench_consume()
    finally:
        cleanup()


if __name__ == "__main__":
    main()
