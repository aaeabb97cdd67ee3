"""Measure the stack's ceiling (bench/api/floor_app.py) with wrk, as bench/api/run.py does.

Environment: FLOOR_DB [flowviz_floor]  BENCH_FLOOR_PORT [8101]; and as bench/api/run.py:
BENCH_WORKERS [CPU count]  BENCH_DURATION [15]  BENCH_WARMUP [3]  BENCH_CONNECTIONS ["1 32"]
BENCH_THREADS [2]
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psycopg

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))
from bench.api.run import CONNECTIONS, DURATION, PYTHON, THREADS, WARMUP, WORKERS  # noqa: E402
from bench.database import database_ensure  # noqa: E402

DB = os.environ.get("FLOOR_DB", "flowviz_floor")
PORT = int(os.environ.get("BENCH_FLOOR_PORT", "8101"))
BASE = f"http://127.0.0.1:{PORT}"
LUA = HERE / "floor.lua"


def wrk(path: str, connections: int, seconds: int, method: str) -> str:
    env = {**os.environ, "WRK_METHOD": method}
    command = ["wrk", f"-t{min(THREADS, connections)}", f"-c{connections}", f"-d{seconds}s", "--latency"]
    command += ["-s", str(LUA), BASE + path]
    return subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout  # noqa: S603


def main() -> None:
    database_ensure(f"postgres://postgres@127.0.0.1:5432/{DB}")
    with psycopg.connect(f"postgresql://postgres@127.0.0.1:5432/{DB}", autocommit=True) as connection:
        connection.execute(
            "CREATE TABLE IF NOT EXISTS floor_lots (id uuid PRIMARY KEY, code text UNIQUE NOT NULL)"
        )
    server = subprocess.Popen(  # noqa: S603
        [
            str(Path(PYTHON).with_name("gunicorn")),
            *("-k", "uvicorn_worker.UvicornWorker", "floor_app:application"),
            *("-b", f"127.0.0.1:{PORT}", "-w", str(WORKERS), "--log-level", "warning"),
        ],
        cwd=HERE,
        env={**os.environ, "FLOOR_DB": DB},
    )
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{BASE}/api/health", timeout=1)  # noqa: S310
                break
            except OSError:
                time.sleep(0.3)
        print(f"Stack ceiling: Django + django-ninja, no middleware, {WORKERS} gunicorn/uvicorn workers\n")
        print(f"{'endpoint':<14}{'conns':>6}{'rps':>10}{'p50':>10}{'p99':>10}")
        for name, path, method in (("health", "/api/health", "GET"), ("insert", "/api/insert", "POST")):
            for connections in CONNECTIONS:
                wrk(path, connections, WARMUP, method)
                output = wrk(path, connections, DURATION, method)
                rps = output.split("Requests/sec:")[1].split()[0]
                p50 = output.split(" 50%")[1].split()[0]
                p99 = output.split(" 99%")[1].split()[0]
                errors = "  (non-2xx!)" if "Non-2xx" in output else ""
                print(f"{name:<14}{connections:>6}{float(rps):>10.0f}{p50:>10}{p99:>10}{errors}")
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
