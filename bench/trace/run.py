"""Benchmark of the genealogy graph on a generated factory (not a test; prints a table).

What is timed, in this process, against PostgreSQL (and Redis for the warm cache):
  db      the graph from the database: the one-query selector that returns the contract's
          JSON (lots.selectors.lot_graph_json); the cache is bypassed so every run reads the
          database. The ratio compares this with the naive traversal.
  miss    the endpoint's whole work on a cache miss: db plus gzip-compressing the body for
          the cache (lots.cache.gzip_body) and storing it.
  warm    the endpoint's work on a cache hit for a client that accepts gzip, as browsers do
          (lots.cache.graph_gzip_cached: version lookup and the stored compressed body).
  plain   the same hit for a client that does not accept gzip (the body decompressed).
  request the whole request through Django's test Client (routing, bearer auth with its
          user lookup, throttling off, the view) on a warm cache, gzip accepted, for reference.
  naive   the same graph the naive way: breadth first, one query per visited lot (that
          lot's links joined to the lots at their other end), rendered the same way.
Each lot: RUNS runs of db/warm/request, NAIVE_RUNS of naive; median and p95 over the runs.

Environment (defaults in brackets):
  BENCH_DATABASE_URL [postgres://postgres@127.0.0.1:5432/flowviz_trace_bench]
  BENCH_REDIS_URL [redis://127.0.0.1:6379/5]   BENCH_LOTS [200000]   BENCH_PREFIX [BENCH]
  BENCH_RUNS [7]   BENCH_NAIVE_RUNS [1]   BENCH_SAMPLE [10] lots per layer (RAW and FG)
The factory is generated once (`generate_factory`, timed) when the prefix is not there yet.
"""

from __future__ import annotations

import gzip
import os
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from bench.database import bench_django_setup, bench_factory_ensure  # noqa: E402

bench_django_setup(cache_key_prefix="flowviz-bench-trace")

import orjson  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from accounts.models import User  # noqa: E402
from accounts.roles import Role  # noqa: E402
from accounts.tokens import token_issue  # noqa: E402
from lots import cache as trace_cache  # noqa: E402
from lots import selectors  # noqa: E402
from lots.holds import held_by_sql, latest_decision_sql  # noqa: E402
from lots.models import Lot  # noqa: E402

LOTS = int(os.environ.get("BENCH_LOTS", "200000"))
PREFIX = os.environ.get("BENCH_PREFIX", "BENCH")
RUNS = int(os.environ.get("BENCH_RUNS", "7"))
NAIVE_RUNS = int(os.environ.get("BENCH_NAIVE_RUNS", "1"))
SAMPLE = int(os.environ.get("BENCH_SAMPLE", "10"))

# Each lot rendered by the same SQL expression as the endpoint's (lots.selectors.lot_json_sql),
# with its QC state (latest decision, held lots it is suspect because of) the same way.
_LOT = (
    f"{selectors.lot_json_sql('l')}, ({latest_decision_sql('l.id')}), "
    f"COALESCE((SELECT json_agg(h.lot_code ORDER BY h.lot_code) {held_by_sql('l.id')}), '[]')::text"
)
_NAIVE_SQL = {
    "down": f"SELECT l.id, {_LOT}, g.parent_lot_id, g.child_lot_id, g.quantity_used_kg "
    "FROM lot_genealogy g JOIN lots l ON l.id = g.child_lot_id WHERE g.parent_lot_id = %s",
    "up": f"SELECT l.id, {_LOT}, g.parent_lot_id, g.child_lot_id, g.quantity_used_kg "
    "FROM lot_genealogy g JOIN lots l ON l.id = g.parent_lot_id WHERE g.child_lot_id = %s",
}


def _render(value: object) -> object:
    if isinstance(value, Decimal):
        return format(value, "f")
    raise TypeError(type(value).__name__)


def naive_graph(lot_code: str) -> tuple[bytes, int]:
    """Breadth first, one query per visited lot; returns (JSON body, queries run)."""
    queries = 0
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT l.id, l.lot_code, {_LOT} FROM lots l WHERE l.lot_code = %s", [lot_code])
        root_id, _, root_json, root_status, root_held = cursor.fetchone()
        queries += 1
        nodes = {root_id: (0, lot_code, root_json, root_status, root_held)}
        edges = {}
        for direction, sign in (("up", -1), ("down", 1)):
            frontier, depth = [root_id], 0
            seen = {root_id}
            while frontier:
                depth += 1
                next_frontier = []
                for lot_id in frontier:
                    cursor.execute(_NAIVE_SQL[direction], [lot_id])
                    queries += 1
                    for found_id, lot_json, status, held, parent_id, child_id, quantity in cursor.fetchall():
                        edges[str(parent_id), str(child_id)] = {
                            "parent_lot_id": parent_id,
                            "child_lot_id": child_id,
                            "quantity_used_kg": quantity,
                        }
                        if found_id not in seen:
                            seen.add(found_id)
                            code = orjson.loads(lot_json)["lot_code"]
                            nodes[found_id] = (sign * depth, code, lot_json, status, held)
                            next_frontier.append(found_id)
                frontier = next_frontier
    ordered = sorted(nodes.values(), key=lambda node: node[:2])
    document = {
        "root": lot_code,
        "nodes": [
            {
                "lot": orjson.Fragment(lot_json),
                "depth": depth,
                "qc_status": status,
                "held_by": orjson.Fragment(held),
            }
            for depth, _, lot_json, status, held in ordered
        ],
        "edges": [edges[k] for k in sorted(edges)],
        "ancestor_count": sum(1 for node in ordered if node[0] < 0),
        "descendant_count": sum(1 for node in ordered if node[0] > 0),
    }
    return orjson.dumps(document, default=_render), queries


def timed(fn, runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def main() -> None:
    bench_factory_ensure(lots=LOTS, prefix=PREFIX)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE lot_genealogy")  # visibility map: index-only scans
        cursor.execute("VACUUM ANALYZE lots")
    user = User.objects.filter(role=Role.VIEWER).first() or User.objects.create(
        email="bench-viewer@flowviz.test", role=Role.VIEWER
    )
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token_issue(user_id=str(user.pk), role=user.role)}"}
    client = Client()

    codes = []
    for lot_type in ("RAW", "FG"):
        codes += list(
            Lot.objects.filter(lot_code__startswith=f"{PREFIX}-{lot_type}-")
            .order_by("lot_code")
            .values_list("lot_code", flat=True)[:SAMPLE]
        )
    header = (
        f"{'lot':<20}{'nodes':>7}{'edges':>7}{'db med':>8}{'db p95':>8}{'miss med':>9}{'warm med':>9}"
        f"{'warm p95':>9}{'plain med':>10}{'req med':>8}{'naive':>8}{'queries':>8}{'ratio':>7}"
    )
    print(f"\n{LOTS} lots, {RUNS} runs per lot (naive: {NAIVE_RUNS}); times in ms\n")
    print(header)
    print("-" * len(header))
    groups: dict[str, dict[str, list[float]]] = {}
    gzip_accepted = {**auth, "HTTP_ACCEPT_ENCODING": "gzip"}
    for code in codes:
        body = selectors.lot_graph_json(lot_code=code)
        document = orjson.loads(body)
        db = timed(lambda code=code: selectors.lot_graph_json(lot_code=code), RUNS)

        def miss(code: str = code) -> None:
            cache.set(f"bench-miss:{code}", trace_cache.gzip_body(selectors.lot_graph_json(lot_code=code)))

        missed = timed(miss, RUNS)
        cache.delete(f"bench-miss:{code}")
        trace_cache.graph_refresh(lot_code=code)
        warm = timed(lambda code=code: trace_cache.graph_gzip_cached(lot_code=code), RUNS)
        plain = timed(lambda code=code: trace_cache.graph_json_cached(lot_code=code), RUNS)
        assert trace_cache.graph_json_cached(lot_code=code) == body
        response = client.get(f"/api/traceability/{code}/graph", **gzip_accepted)
        assert response.status_code == 200 and gzip.decompress(response.content) == body, response.status_code
        url = f"/api/traceability/{code}/graph"
        request = timed(lambda url=url: client.get(url, **gzip_accepted), RUNS)
        naive_body, queries = naive_graph(code)
        assert naive_body == body, "the naive traversal must find the same graph"
        naive = timed(lambda code=code: naive_graph(code), NAIVE_RUNS)
        ratio = statistics.median(naive) / statistics.median(db)
        group = groups.setdefault(
            code.split("-")[1], {"db": [], "miss": [], "warm": [], "plain": [], "naive": [], "nodes": []}
        )
        samples = {"db": db, "miss": missed, "warm": warm, "plain": plain, "naive": naive}
        for column, values in samples.items():
            group[column] += values
        group["nodes"].append(len(document["nodes"]))
        print(
            f"{code:<20}{len(document['nodes']):>7}{len(document['edges']):>7}"
            f"{statistics.median(db):>8.1f}{p95(db):>8.1f}{statistics.median(missed):>9.1f}"
            f"{statistics.median(warm):>9.2f}{p95(warm):>9.2f}{statistics.median(plain):>10.2f}"
            f"{statistics.median(request):>8.1f}{statistics.median(naive):>8.0f}{queries:>8}{ratio:>6.0f}x"
        )
    print()
    for name, group in groups.items():
        median = {column: statistics.median(samples) for column, samples in group.items()}
        print(
            f"{name:<4} nodes {min(group['nodes'])}-{max(group['nodes'])}: db median "
            f"{median['db']:.1f} ms, p95 {p95(group['db']):.1f} ms; miss median {median['miss']:.1f} ms; "
            f"warm (gzip) median {median['warm']:.2f} ms, p95 {p95(group['warm']):.2f} ms; "
            f"warm (plain) median {median['plain']:.2f} ms; naive median {median['naive']:.0f} ms; "
            f"ratio {median['naive'] / median['db']:.0f}x"
        )
    # The cached bodies are megabytes each: leave nothing behind in the shared Redis.
    cache.delete_pattern("*")  # django-redis: only this run's key prefix
    cache.close()


if __name__ == "__main__":
    main()
