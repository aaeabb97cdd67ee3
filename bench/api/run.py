"""Benchmark of the /api endpoints as production serves them (not a test; prints a table).

Production's processes: gunicorn with uvicorn workers started with flowviz/ops/gunicorn_conf.py
(as docker/docker-compose.yml's api service), PostgreSQL through the psycopg pool, Redis as the
cache, and a real Celery worker started with the worker service's command (same queues,
concurrency CELERY_WORKER_CONCURRENCY, default 2) consuming what the writes queue. `wrk`
drives each endpoint after a warm-up, at each connection count. Throttling is off (it would
turn the figures into 429s); the demo users log in by email (PASSWORDLESS_LOGIN).

Per row: rps, p50, p99, non-2xx, and the CPU milliseconds per request of each process group
(bench/api/cpu.py explains how processes that exited during the run are counted):
- api: the gunicorn arbiter and its uvicorn workers;
- pg: the PostgreSQL server's process tree, backends that connected and disconnected during
  the run included, less what other databases' backends were seen using (a shared server);
- celery: the worker's prefork master and children. After each run the bench waits until the
  broker queue is empty, no task is unacknowledged (tasks ack late) and the worker's CPU has
  stopped moving before the last reading, so each endpoint pays for the tasks it caused and
  no run pays for the one before.
Beside each row: the floor (bench/api/floor.py: the bare stack's health for reads, its
one-INSERT write for writes, measured the same way) and issue 13's targets, met or not
(bench/api/table.py). `others %` is the machine's CPU used by everything else meanwhile (the
machine is shared): a high figure means noisy throughput; the CPU columns are less affected.

Environment (defaults in brackets):
  BENCH_DATABASE_URL [postgres://postgres@127.0.0.1:5432/flowviz_api]
  BENCH_REDIS_URL [redis://127.0.0.1:6379/3]   BENCH_BROKER_URL [redis://127.0.0.1:6379/4]
  BENCH_PORT [a free port]   BENCH_WORKERS [2]   BENCH_CELERY_CONCURRENCY [2]
  BENCH_DURATION [15] seconds   BENCH_WARMUP [3] seconds   BENCH_CONNECTIONS ["1 32"]
  BENCH_THREADS [2] wrk threads   BENCH_ENDPOINTS [all: health login lots_list lot_create
  lot_create_2p qc_create traceability graph]   BENCH_FORMAT [text] or markdown
  BENCH_FLOOR [measure]: measure the floor first in this run; `reuse` the figures `make
  bench-floor` wrote to BENCH_FLOOR_RESULTS [test-artifacts/bench-floor.json]; `off`
  BENCH_QC_LOTS [500]   BENCH_PARENT_PAIRS [250]   BENCH_DRAIN_TIMEOUT [600] seconds
  BENCH_POSTGRES [shared]: the server BENCH_DATABASE_URL names; `private`: a throwaway
  PostgreSQL cluster of the bench's own (bench/database.py), so no other database's backends
  share the pg figure   DB_POOL_MAX_SIZE [10] per worker

`--profile ENDPOINT [--profile-target api|celery]` runs one endpoint at the highest
connection count under py-spy instead (bench/api/profile.sh installs py-spy): samples per
second BENCH_PROFILE_RATE [50], without pausing the processes (--nonblocking), so that py-spy
keeps up on a busy 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
import psycopg  # noqa: E402
import valkey  # noqa: E402

from bench.api import floor, table  # noqa: E402
from bench.api.cpu import PostgresCpu, TreeCpu, load_average, postmaster_of, tree_ticks  # noqa: E402
from bench.api.measure import ARTIFACTS, Row, Settings, WrkResult, measure, port_from_env, wrk_load  # noqa: E402
from bench.database import bench_database_url, database_ensure  # noqa: E402

LUA = Path(__file__).with_name("request.lua")
PYTHON = sys.executable
BIN = Path(PYTHON).parent

DATABASE_URL = bench_database_url(
    os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/flowviz_api")
)
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/3")
BROKER_URL = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/4")
PORT = port_from_env("BENCH_PORT")
CELERY_CONCURRENCY = int(os.environ.get("BENCH_CELERY_CONCURRENCY", "2"))
FLOOR_MODE = os.environ.get("BENCH_FLOOR", "measure")
QC_LOTS = int(os.environ.get("BENCH_QC_LOTS", "500"))
PARENT_PAIRS = int(os.environ.get("BENCH_PARENT_PAIRS", "250"))
DRAIN_TIMEOUT = float(os.environ.get("BENCH_DRAIN_TIMEOUT", "600"))
BASE = f"http://127.0.0.1:{PORT}"
SERVER_LOG = ARTIFACTS / "bench-server.log"
WORKER_LOG = ARTIFACTS / "bench-worker.log"

TRACE_CODE = "MIX-BATCH-88"  # a lot of the demo seed with parents and children
DEMO_USER = "operator@flowviz.com"
# The Celery worker consumes the jobs and refresh queues, as docker-compose.yml's worker does
# (settings.JOBS_QUEUE / REFRESH_QUEUE, default names); kombu's Redis transport keeps
# delivered, not yet acknowledged messages in this hash (tasks ack late).
CELERY_QUEUES = ("jobs", "refresh")
UNACKED = "unacked"
# The worker counts as idle when its CPU moves by no more than this over IDLE_WINDOW seconds
# (an idle worker still wakes up for its broker polls and heartbeats).
IDLE_WINDOW = 0.5
IDLE_TICKS = 2


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    body: dict | None = None
    token: bool = True
    mode: str = ""  # per-request bodies of request.lua: lot, lot_2p, qc
    gzip: bool = False


ENDPOINTS = {
    "health": Endpoint("GET", "/api/health", token=False),
    "login": Endpoint("POST", "/api/login", {"email": DEMO_USER}, token=False),
    "lots_list": Endpoint("GET", "/api/lots?limit=100"),
    "lot_create": Endpoint("POST", "/api/lots", mode="lot"),
    "lot_create_2p": Endpoint("POST", "/api/lots", mode="lot_2p"),
    "qc_create": Endpoint("POST", "/api/qc-decisions", mode="qc"),
    "traceability": Endpoint("GET", f"/api/traceability/{TRACE_CODE}"),
    "graph": Endpoint("GET", f"/api/traceability/{TRACE_CODE}/graph", gzip=True),
}


def server_env() -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": DATABASE_URL,
        "REDIS_URL": REDIS_URL,
        "CELERY_BROKER_URL": BROKER_URL,
        "SECRET_KEY": os.environ.get("SECRET_KEY") or secrets.token_urlsafe(64),
        "DEBUG": "false",
        "THROTTLE_ENABLED": "false",
        "PASSWORDLESS_LOGIN": "true",
        # Plain http to the app, as behind the TLS-terminating proxy (no redirect to https).
        "SECURE_SSL_REDIRECT": "false",
        # Production logs one JSON line per request at INFO; the bench pays that cost too.
        "LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "INFO"),
        "DJANGO_SETTINGS_MODULE": "flowviz.settings",
    }


def _request(path: str, body: dict | None = None, token: str | None = None) -> dict | list:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(BASE + path, data=data, headers=headers)  # noqa: S310
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return json.load(response)


def wait_for_health(server: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited ({server.returncode}); see {SERVER_LOG}")
        try:
            _request("/api/health")
            return
        except OSError:
            time.sleep(0.3)
    raise SystemExit("the server did not answer /api/health")


def wait_for_worker(worker: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if worker.poll() is not None:
            raise SystemExit(f"the Celery worker exited ({worker.returncode}); see {WORKER_LOG}")
        if " ready." in WORKER_LOG.read_text(errors="replace"):
            return
        time.sleep(0.3)
    raise SystemExit(f"the Celery worker did not get ready; see {WORKER_LOG}")


def lots_create(token: str, prefix: str, count: int, **fields: str) -> list[str]:
    """Lots registered through the API (8 at a time); their ids."""

    def create(index: int) -> str:
        return _request("/api/lots", {"lot_code": f"{prefix}-{index}", **fields}, token)["id"]

    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(create, range(count)))


@dataclass
class Fixtures:
    token: str
    qc_lot_ids: list[str] = field(default_factory=list)
    parent_pairs: list[str] = field(default_factory=list)


def fixtures_create(selected: list[str]) -> Fixtures:
    token = _request("/api/login", {"email": DEMO_USER})["token"]
    prefix = f"BENCH-SETUP-{int(time.time())}{secrets.token_hex(2)}"
    made = Fixtures(token)
    if "qc_create" in selected:
        made.qc_lot_ids = lots_create(token, f"{prefix}-QC", QC_LOTS, lot_type="FG")
    if "lot_create_2p" in selected:
        # 10000 kg each (the most a lot may weigh); 0.01 kg per child: a million children.
        parents = lots_create(token, f"{prefix}-PARENT", 2 * PARENT_PAIRS, lot_type="MIX", weight_kg="10000")
        made.parent_pairs = [f"{a}:{b}" for a, b in zip(parents[::2], parents[1::2], strict=True)]
    listed = len(_request("/api/lots?limit=100", token=token))
    if "lots_list" in selected and listed < 100:
        lots_create(token, f"{prefix}-LIST", 100 - listed, lot_type="FG")
    return made


def wrk_env(name: str, fixtures: Fixtures) -> dict[str, str]:
    endpoint = ENDPOINTS[name]
    ids = {"qc": fixtures.qc_lot_ids, "lot_2p": fixtures.parent_pairs}.get(endpoint.mode, [])
    return {
        "WRK_METHOD": endpoint.method,
        "WRK_BODY": json.dumps(endpoint.body) if endpoint.body else "",
        "WRK_TOKEN": fixtures.token if endpoint.token else "",
        "WRK_MODE": endpoint.mode,
        "WRK_IDS": ",".join(ids),
        "WRK_ACCEPT_GZIP": "1" if endpoint.gzip else "0",
    }


def endpoint_load(
    name: str, connections: int, fixtures: Fixtures, settings: Settings
) -> Callable[[int], WrkResult]:
    """wrk driving one endpoint at a connection count, for a number of seconds."""
    return wrk_load(
        BASE + ENDPOINTS[name].path,
        connections=connections,
        threads=settings.threads,
        script=LUA,
        env=wrk_env(name, fixtures),
    )


class CeleryDrain:
    """Waits until the Celery worker has done everything queued so far."""

    def __init__(self, worker_pid: int) -> None:
        self.worker_pid = worker_pid
        self.broker = valkey.Valkey.from_url(BROKER_URL)

    def pending(self) -> int:
        return sum(self.broker.llen(queue) for queue in CELERY_QUEUES) + self.broker.hlen(UNACKED)

    def __call__(self) -> None:
        deadline = time.monotonic() + DRAIN_TIMEOUT
        while time.monotonic() < deadline:
            if self.pending() == 0:
                before = tree_ticks(self.worker_pid)
                time.sleep(IDLE_WINDOW)
                if tree_ticks(self.worker_pid) - before <= IDLE_TICKS and self.pending() == 0:
                    return
            else:
                time.sleep(0.2)
        raise SystemExit(f"the Celery worker did not finish its queue in {DRAIN_TIMEOUT:.0f} s")


def postgres_meter(url: str) -> PostgresCpu | None:
    with psycopg.connect(url.replace("postgres://", "postgresql://", 1)) as connection:
        backend = connection.execute("SELECT pg_backend_pid()").fetchone()[0]
        postmaster = postmaster_of(backend)
    if postmaster is None:
        print("note: PostgreSQL's processes are not visible here: pg ms is n/a", file=sys.stderr)
        return None
    return PostgresCpu(postmaster, unquote(urlsplit(url).path.lstrip("/")))


def floor_rows(settings: Settings) -> dict[tuple[str, int], Row]:
    if FLOOR_MODE == "off":
        return {}
    if FLOOR_MODE == "reuse":
        rows = floor.results_read(settings)
    else:
        print("Measuring the floor first (bench/api/floor.py) ...", file=sys.stderr, flush=True)
        rows = floor.floor_measure(settings)
    return {(row.endpoint, row.connections): row for row in rows}


class Services:
    """gunicorn (production's configuration) and a Celery worker (production's command)."""

    def __init__(self, env: dict[str, str], workers: int) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.metrics_dir = tempfile.mkdtemp(prefix="flowviz-bench-metrics-")
        self.logs = [SERVER_LOG.open("w"), WORKER_LOG.open("w")]
        gunicorn_env = {
            **env,
            "GUNICORN_BIND": f"127.0.0.1:{PORT}",
            "WEB_CONCURRENCY": str(workers),
            "PROMETHEUS_MULTIPROC_DIR": self.metrics_dir,
        }
        gunicorn = [str(BIN / "gunicorn"), "-c", "flowviz/ops/gunicorn_conf.py", "flowviz.asgi:application"]
        self.server = subprocess.Popen(  # noqa: S603
            gunicorn, cwd=ROOT, env=gunicorn_env, stdout=self.logs[0], stderr=subprocess.STDOUT
        )
        worker = [str(BIN / "celery"), "-A", "flowviz.celery", "worker", "--loglevel", "INFO"]
        worker += ["-Q", ",".join(CELERY_QUEUES)]
        worker += ["--concurrency", str(CELERY_CONCURRENCY), "-n", f"bench-{secrets.token_hex(3)}@%h"]
        self.worker = subprocess.Popen(  # noqa: S603
            worker, cwd=ROOT, env=env, stdout=self.logs[1], stderr=subprocess.STDOUT
        )

    def stop(self) -> None:
        for process in (self.server, self.worker):
            process.terminate()
        for process in (self.server, self.worker):
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for log in self.logs:
            log.close()
        shutil.rmtree(self.metrics_dir, ignore_errors=True)


def profile(name: str, target: str, services: Services, fixtures: Fixtures, settings: Settings) -> None:
    """py-spy record of the API workers (or the Celery worker) while wrk loads one endpoint."""
    connections = max(settings.connections)
    # BENCH_PROFILE_FORMAT=raw: collapsed stacks (one line per stack and its sample count)
    # for reading in a terminal or summing with a script; flamegraph (default): an SVG.
    profile_format = os.environ.get("BENCH_PROFILE_FORMAT", "flamegraph")
    suffix = "txt" if profile_format == "raw" else "svg"
    output = ARTIFACTS / f"profile-{name}-{target}.{suffix}"
    load = endpoint_load(name, connections, fixtures, settings)
    load(settings.warmup)
    pid = services.server.pid if target == "api" else services.worker.pid
    # BENCH_PROFILE_GIL=1: only samples of the thread holding the GIL, i.e. Python code on a
    # CPU; without it, a thread waiting in psycopg's or valkey's socket wait may be sampled as
    # busy, which shows where requests wait, not what they cost.
    gil = ("--gil",) if os.environ.get("BENCH_PROFILE_GIL", "") in {"1", "true", "yes"} else ()
    spy = subprocess.Popen(  # noqa: S603
        [
            *(str(BIN / "py-spy"), "record", "--pid", str(pid), "--subprocesses", "--nonblocking", *gil),
            *("--rate", os.environ.get("BENCH_PROFILE_RATE", "50")),
            *("--duration", str(settings.duration), "--format", profile_format, "--output", str(output)),
        ]
    )
    result = load(settings.duration)
    spy.wait()
    print(f"{name} x{connections}: {result.rps:.0f} rps under py-spy (slower than unprofiled)")
    print(f"profile of the {target} processes: {output}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--profile", choices=sorted(ENDPOINTS), help="profile one endpoint with py-spy")
    parser.add_argument("--profile-target", choices=("api", "celery"), default="api")
    args = parser.parse_args()
    settings = Settings()
    selected = os.environ.get("BENCH_ENDPOINTS", " ".join(ENDPOINTS)).split()
    if args.profile:
        selected = [args.profile]
    unknown = sorted(set(selected) - set(ENDPOINTS))
    if unknown:
        raise SystemExit(f"unknown BENCH_ENDPOINTS: {' '.join(unknown)}")
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install wrk)")

    env = server_env()
    database_ensure(DATABASE_URL)
    subprocess.run([PYTHON, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)  # noqa: S603
    subprocess.run([PYTHON, "manage.py", "seed_demo"], cwd=ROOT, env=env, check=True, capture_output=True)  # noqa: S603
    load_before = load_average()
    floors = {} if args.profile else floor_rows(settings)
    services = Services(env, settings.workers)
    try:
        wait_for_health(services.server)
        wait_for_worker(services.worker)
        fixtures = fixtures_create(selected)
        if args.profile:
            profile(args.profile, args.profile_target, services, fixtures, settings)
            return
        drain = CeleryDrain(services.worker.pid)
        api = TreeCpu(services.server.pid)
        celery = TreeCpu(services.worker.pid)
        postgres = postgres_meter(DATABASE_URL)
        rows = []
        for name in selected:
            for connections in settings.connections:
                load = endpoint_load(name, connections, fixtures, settings)
                row = measure(
                    name, connections, load, settings, api=api, postgres=postgres, celery=celery, settle=drain
                )
                rows.append(row)
                print(
                    f"  {name} x{connections}: {row.rps:.0f} rps, p99 {row.p99:.1f} ms, "
                    f"{row.total_ms:.2f} ms CPU/request, others {row.others_pct:.0f}%",
                    file=sys.stderr,
                    flush=True,
                )
    finally:
        services.stop()
        subprocess.run(  # noqa: S603
            [PYTHON, "-m", "celery", "-A", "flowviz.celery", "purge", "-f"],
            cwd=ROOT,
            env=env,
            check=False,
            capture_output=True,
        )
    report(rows, floors, settings, load_before)


def postgres_described() -> str:
    if os.environ.get("BENCH_POSTGRES") == "private":
        return "a private throwaway cluster (BENCH_POSTGRES=private)"
    return f"the server of BENCH_DATABASE_URL, {urlsplit(DATABASE_URL).netloc or 'local socket'}"


def report(rows: list[Row], floors: dict[tuple[str, int], Row], settings: Settings, load_before: str) -> None:
    markdown = settings.format == "markdown"
    print(
        f"\nFlowViz /api benchmark: {settings.workers} gunicorn/uvicorn workers, Celery worker "
        f"(concurrency {CELERY_CONCURRENCY}), PostgreSQL pool, Redis cache; wrk {settings.duration} s "
        f"after {settings.warmup} s warm-up; throttling off; PostgreSQL: {postgres_described()}. "
        f"{os.cpu_count()} CPUs, "
        f"load average before {load_before}, after {load_average()}.\n"
        "CPU columns: ms per request (api: gunicorn + uvicorn workers, pg: PostgreSQL server, "
        "celery: worker until its queue drained); floor: bench/api/floor.py's row read against; "
        f"targets: issue 13's, at {table.TARGET_CONNECTIONS} connections; others %: the rest "
        "of the machine's CPU use meanwhile (shared machine: figures are noisy).\n"
    )
    if floors:
        print("Floor (Django + django-ninja alone, bench/api/floor.py):\n")
        floor_cells = [table.cells(row, with_floor=False) for row in floors.values()]
        print(table.render(table.FLOOR_COLUMNS, floor_cells, markdown) + "\n")
    body = [
        table.cells(row, floors.get((table.floor_endpoint(row.endpoint), row.connections))) for row in rows
    ]
    print(table.render(table.COLUMNS, body, markdown))
    shared = [row for row in rows if row.pg_ms and row.pg_other_ms > 0.1 * row.pg_ms]
    if shared:
        print(
            "note: the PostgreSQL server was busy for other databases too; their backends' CPU, "
            "left out of pg ms, in ms/request: "
            + ", ".join(f"{row.endpoint} x{row.connections} {row.pg_other_ms:.2f}" for row in shared)
        )


if __name__ == "__main__":
    main()
