"""Measure the stack's floor (bench/api/floor_app.py) with wrk, as bench/api/run.py does.

Same serving (gunicorn + uvicorn workers, the psycopg pool), same wrk settings and the same
CPU accounting per request (bench/api/cpu.py: api = the gunicorn tree, pg = the PostgreSQL
server's tree less other databases' backends). There is no Celery worker. The figures are
printed and written to BENCH_FLOOR_RESULTS, where `make bench` has bench/api/run.py read them
(BENCH_FLOOR=reuse) to put the floor beside each endpoint.

Environment: FLOOR_DB [flowviz_floor] (on 127.0.0.1:5432)  BENCH_FLOOR_PORT [a free port]
BENCH_POSTGRES [shared] or private (bench/database.py: a throwaway cluster of the bench's own)
BENCH_FLOOR_RESULTS [test-artifacts/bench-floor.json]; and as bench/api/run.py:
BENCH_WORKERS [2]  BENCH_DURATION [15]  BENCH_WARMUP [3]  BENCH_CONNECTIONS ["1 32"]
BENCH_THREADS [2]  BENCH_FORMAT [text]
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psycopg

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))
from bench.api import table  # noqa: E402
from bench.api.cpu import PostgresCpu, TreeCpu, load_average, postmaster_of  # noqa: E402
from bench.api.measure import ARTIFACTS, Row, Settings, measure, port_from_env, wrk_load  # noqa: E402
from bench.database import bench_database_url, database_ensure  # noqa: E402

DB = os.environ.get("FLOOR_DB", "flowviz_floor")
PORT = port_from_env("BENCH_FLOOR_PORT")
BASE = f"http://127.0.0.1:{PORT}"
LUA = HERE / "floor.lua"
RESULTS = Path(os.environ.get("BENCH_FLOOR_RESULTS", ARTIFACTS / "bench-floor.json"))
ENDPOINTS = (("health", "/api/health", "GET"), ("insert", "/api/insert", "POST"))


def _wait_for_health(server: subprocess.Popen) -> None:
    for _ in range(200):
        if server.poll() is not None:
            raise SystemExit(f"the floor server exited ({server.returncode})")
        try:
            urllib.request.urlopen(f"{BASE}/api/health", timeout=1).close()  # noqa: S310
            return
        except OSError:
            time.sleep(0.3)
    raise SystemExit("the floor server did not answer /api/health")


def floor_measure(settings: Settings) -> list[Row]:
    url = bench_database_url(f"postgresql://postgres@127.0.0.1:5432/{DB}")
    database_ensure(url)
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(
            "CREATE TABLE IF NOT EXISTS floor_lots (id uuid PRIMARY KEY, code text UNIQUE NOT NULL)"
        )
        postmaster = postmaster_of(connection.execute("SELECT pg_backend_pid()").fetchone()[0])
    server = subprocess.Popen(  # noqa: S603
        [
            str(Path(sys.executable).with_name("gunicorn")),
            *("-k", "uvicorn_worker.UvicornWorker", "floor_app:application"),
            *("-b", f"127.0.0.1:{PORT}", "-w", str(settings.workers), "--log-level", "warning"),
        ],
        cwd=HERE,
        env={**os.environ, "FLOOR_DATABASE_URL": url},
    )
    rows = []
    try:
        _wait_for_health(server)
        api = TreeCpu(server.pid)
        postgres = PostgresCpu(postmaster, DB) if postmaster else None
        for name, path, method in ENDPOINTS:
            for connections in settings.connections:
                env = {"WRK_METHOD": method}
                load = wrk_load(
                    BASE + path, connections=connections, threads=settings.threads, script=LUA, env=env
                )
                rows.append(measure(name, connections, load, settings, api=api, postgres=postgres))
    finally:
        server.terminate()
        server.wait()
    return rows


def results_write(rows: list[Row], settings: Settings) -> None:
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    document = {"settings": dataclasses.asdict(settings), "rows": [dataclasses.asdict(row) for row in rows]}
    RESULTS.write_text(json.dumps(document, indent=1))


def results_read(settings: Settings) -> list[Row]:
    """The figures `make bench-floor` wrote (BENCH_FLOOR=reuse in bench/api/run.py)."""
    if not RESULTS.exists():
        raise SystemExit(f"BENCH_FLOOR=reuse: no floor figures in {RESULTS} (run `make bench-floor`)")
    document = json.loads(RESULTS.read_text())
    theirs = {key: value for key, value in document["settings"].items() if key != "format"}
    ours = {key: value for key, value in dataclasses.asdict(settings).items() if key != "format"}
    if json.loads(json.dumps(ours)) != theirs:
        print(f"note: {RESULTS} was measured with other settings: {theirs}", file=sys.stderr)
    return [Row(**row) for row in document["rows"]]


def main() -> None:
    settings = Settings()
    load_before = load_average()
    rows = floor_measure(settings)
    results_write(rows, settings)
    print(
        f"\nStack floor: Django + django-ninja, FlowViz's request handler, no middleware, "
        f"{settings.workers} gunicorn/uvicorn workers; wrk {settings.duration} s after {settings.warmup} s "
        f"warm-up. Load average before {load_before}, after {load_average()}. CPU columns: ms per "
        "request (api: gunicorn + workers, pg: PostgreSQL server); others %: the rest of the "
        "machine's CPU use meanwhile (shared machine).\n"
    )
    cells = [table.cells(row, with_floor=False) for row in rows]
    print(table.render(table.FLOOR_COLUMNS, cells, settings.format == "markdown"))


if __name__ == "__main__":
    main()
