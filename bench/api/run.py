"""Benchmark of the /api endpoints as production serves them (not a test; prints a table).

gunicorn + uvicorn workers, PostgreSQL through the psycopg pool, Redis as the cache; `wrk`
drives each endpoint after a warm-up, at each connection count. Throttling is off (it would
turn the figures into 429s) and the demo users log in by email (PASSWORDLESS_LOGIN), as the
legacy server's figures were taken without password hashing.

Environment (defaults in brackets):
  BENCH_DATABASE_URL [postgres://postgres@127.0.0.1:5432/flowviz_api]
  BENCH_REDIS_URL [redis://127.0.0.1:6379/3]   BENCH_BROKER_URL [redis://127.0.0.1:6379/4]
  BENCH_PORT [8100]   BENCH_WORKERS [CPU count]
  BENCH_DURATION [15] seconds   BENCH_WARMUP [3] seconds   BENCH_CONNECTIONS ["1 32"]
  BENCH_THREADS [2] wrk threads   BENCH_ENDPOINTS [all: health login lots_list lot_create
  qc_create traceability]   DB_POOL_MAX_SIZE [10] per worker
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from bench.database import database_ensure  # noqa: E402

LUA = Path(__file__).with_name("request.lua")
PYTHON = sys.executable

DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/flowviz_api")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/3")
# Production queues the genealogy refresh of every write on a broker (workers run elsewhere);
# without one, tasks would run inline in the request. The bench's queue is emptied afterwards.
BROKER_URL = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/4")
PORT = int(os.environ.get("BENCH_PORT", "8100"))
WORKERS = int(os.environ.get("BENCH_WORKERS", str(os.cpu_count() or 2)))
DURATION = int(os.environ.get("BENCH_DURATION", "15"))
WARMUP = int(os.environ.get("BENCH_WARMUP", "3"))
CONNECTIONS = [int(c) for c in os.environ.get("BENCH_CONNECTIONS", "1 32").split()]
THREADS = int(os.environ.get("BENCH_THREADS", "2"))
BASE = f"http://127.0.0.1:{PORT}"
SERVER_LOG = Path(os.environ.get("BENCH_SERVER_LOG", ROOT / "test-artifacts" / "bench-server.log"))

FG_ID = "33333333-3333-3333-3333-333333333301"
QC_LOTS = int(os.environ.get("BENCH_QC_LOTS", "500"))
# name: (method, path, body, needs token, unique lot per request, legacy rps at 32 connections)
# qc_create's body is built per request by request.lua, over QC_LOTS lots made at setup.
ENDPOINTS = {
    "health": ("GET", "/api/health", None, False, False, 4580),
    "login": ("POST", "/api/login", {"email": "operator@flowviz.com"}, False, False, 2339),
    "lots_list": ("GET", "/api/lots?limit=20", None, True, False, None),
    "lot_create": ("POST", "/api/lots", None, True, True, 1757),
    "qc_create": ("POST", "/api/qc-decisions", {"lot_id": FG_ID, "decision": "PASS"}, True, False, 1873),
    "traceability": ("GET", "/api/traceability/MIX-BATCH-88", None, True, False, 1046),
}
SELECTED = os.environ.get("BENCH_ENDPOINTS", " ".join(ENDPOINTS)).split()


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


def wait_for_health(timeout: float = 30) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"{BASE}/api/health", timeout=1) as response:  # noqa: S310
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise SystemExit("the server did not answer /api/health")


def login_token() -> str:
    request = urllib.request.Request(  # noqa: S310
        f"{BASE}/api/login",
        data=json.dumps({"email": "operator@flowviz.com"}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
        return json.load(response)["token"]


def qc_lots_create(token: str, count: int) -> list[str]:
    """Lots for the QC decisions to be spread over (registered through the API)."""
    prefix = f"BENCH-QC-{int(time.time())}{secrets.token_hex(2)}"
    ids = []
    for index in range(count):
        request = urllib.request.Request(  # noqa: S310
            f"{BASE}/api/lots",
            data=json.dumps({"lot_code": f"{prefix}-{index}", "lot_type": "FG"}).encode(),
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
        )
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
            ids.append(json.load(response)["id"])
    return ids


def _ms(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def run_wrk(name: str, connections: int, seconds: int, token: str, qc_lot_ids: list[str]) -> dict[str, float]:
    method, path, body, needs_token, unique, _ = ENDPOINTS[name]
    env = {
        **os.environ,
        "WRK_QC_LOT_IDS": ",".join(qc_lot_ids) if name == "qc_create" else "",
        "WRK_METHOD": method,
        "WRK_BODY": json.dumps(body) if body else "",
        "WRK_TOKEN": token if needs_token else "",
        "WRK_UNIQUE_LOT": "1" if unique else "0",
        "WRK_RUN_ID": f"{int(time.time())}{secrets.token_hex(2)}-c{connections}-{seconds}",
    }
    threads = min(THREADS, connections)
    command = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--latency",
        "-s",
        str(LUA),
        BASE + path,
    ]
    output = subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout  # noqa: S603
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    p50 = _ms(re.search(r"\s50%\s+(\S+)", output).group(1))
    p99 = _ms(re.search(r"\s99%\s+(\S+)", output).group(1))
    total = int(re.search(r"(\d+) requests in", output).group(1))
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    return {
        "rps": rps,
        "p50": p50,
        "p99": p99,
        "requests": total,
        "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
    }


def main() -> None:
    env = server_env()
    database_ensure(DATABASE_URL)
    subprocess.run([PYTHON, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)  # noqa: S603
    subprocess.run([PYTHON, "manage.py", "seed_demo"], cwd=ROOT, env=env, check=True, capture_output=True)  # noqa: S603
    gunicorn = [
        str(Path(PYTHON).with_name("gunicorn")),
        "-k",
        "uvicorn_worker.UvicornWorker",
        "flowviz.asgi:application",
        "-b",
        f"127.0.0.1:{PORT}",
        "-w",
        str(WORKERS),
        "--log-level",
        "warning",
    ]
    SERVER_LOG.parent.mkdir(parents=True, exist_ok=True)
    log = SERVER_LOG.open("w")
    server = subprocess.Popen(gunicorn, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
    try:
        wait_for_health()
        token = login_token()
        qc_lot_ids = qc_lots_create(token, QC_LOTS) if "qc_create" in SELECTED else []
        print(
            f"FlowViz /api benchmark: {WORKERS} gunicorn/uvicorn workers, PostgreSQL pool, Redis cache, "
            f"wrk {DURATION}s after {WARMUP}s warm-up, throttling off\n"
        )
        header = (
            f"{'endpoint':<14}{'conns':>6}{'rps':>10}{'p50 ms':>9}{'p99 ms':>9}{'non-2xx':>9}"
            f"{'legacy@32':>11}{'vs legacy':>11}"
        )
        print(header)
        print("-" * len(header))
        for name in SELECTED:
            for connections in CONNECTIONS:
                run_wrk(name, connections, WARMUP, token, qc_lot_ids)
                result = run_wrk(name, connections, DURATION, token, qc_lot_ids)
                legacy = ENDPOINTS[name][5] if connections == 32 else None
                ratio = f"{result['rps'] / legacy:.2f}x" if legacy else ""
                print(
                    f"{name:<14}{connections:>6}{result['rps']:>10.0f}{result['p50']:>9.2f}"
                    f"{result['p99']:>9.2f}{result['non_2xx']:>9}{legacy or '':>11}{ratio:>11}",
                    flush=True,
                )
    finally:
        server.terminate()
        server.wait(timeout=15)
        log.close()
        subprocess.run(  # noqa: S603
            [PYTHON, "-m", "celery", "-A", "flowviz.celery", "purge", "-f"],
            cwd=ROOT,
            env=env,
            check=False,
            capture_output=True,
        )


if __name__ == "__main__":
    main()
