"""One benchmark row: a wrk run and the CPU each process group spent on it.

Shared by bench/api/run.py (FlowViz) and bench/api/floor.py (the stack's own floor), so both
are measured the same way.
"""

from __future__ import annotations

import os
import re
import secrets
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.api.cpu import MachineCpu, PostgresCpu, TreeCpu

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
ARTIFACTS = ROOT / "test-artifacts"


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, str(default)))


def port_from_env(name: str) -> int:
    """The port in `name`, else a free one (the machine is shared: a fixed default may be taken)."""
    if os.environ.get(name):
        return int(os.environ[name])
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass(frozen=True)
class Settings:
    """What every API benchmark run takes from the environment."""

    workers: int = env_int("BENCH_WORKERS", 2)
    duration: int = env_int("BENCH_DURATION", 15)
    warmup: int = env_int("BENCH_WARMUP", 3)
    connections: tuple[int, ...] = tuple(int(c) for c in os.environ.get("BENCH_CONNECTIONS", "1 32").split())
    threads: int = env_int("BENCH_THREADS", 2)
    format: str = os.environ.get("BENCH_FORMAT", "text")


@dataclass(frozen=True)
class WrkResult:
    rps: float
    p50: float  # ms
    p99: float  # ms
    requests: int
    non_2xx: int
    socket_errors: int


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def parse_wrk(output: str) -> WrkResult:
    """The figures of `wrk --latency` output."""
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    return WrkResult(
        rps=float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        p50=_ms(re.search(r"\s50%\s+(\S+)", output).group(1)),
        p99=_ms(re.search(r"\s99%\s+(\S+)", output).group(1)),
        requests=int(re.search(r"(\d+) requests in", output).group(1)),
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=sum(int(n) for n in errors.groups()) if errors else 0,
    )


def wrk_load(
    url: str, *, connections: int, threads: int, script: Path, env: dict[str, str]
) -> Callable[[int], WrkResult]:
    """A function running wrk against `url` for a number of seconds."""

    def load(seconds: int) -> WrkResult:
        return wrk(url, connections=connections, seconds=seconds, threads=threads, script=script, env=env)

    return load


def wrk(
    url: str, *, connections: int, seconds: int, threads: int, script: Path, env: dict[str, str]
) -> WrkResult:
    command = [
        "wrk",
        f"-t{min(threads, connections)}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--latency",
        "-s",
        str(script),
        url,
    ]
    # WRK_RUN_ID: new for every run, so the codes of lots a run creates differ from the last run's.
    env = {**os.environ, **env, "WRK_RUN_ID": f"{int(time.time())}{secrets.token_hex(3)}"}
    completed = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if completed.returncode != 0:
        raise SystemExit(f"wrk failed ({completed.returncode}): {completed.stderr.strip()}")
    return parse_wrk(completed.stdout)


@dataclass(frozen=True)
class Row:
    """An endpoint at a connection count: wrk's figures and CPU ms per request by group."""

    endpoint: str
    connections: int
    rps: float
    p50: float
    p99: float
    requests: int
    non_2xx: int
    socket_errors: int
    api_ms: float
    pg_ms: float | None  # None: the PostgreSQL server's processes are not visible here
    celery_ms: float | None  # None: no Celery worker in this benchmark (the floor)
    pg_other_ms: float  # CPU of other databases' backends seen meanwhile, subtracted from pg_ms
    pg_other_connections: int
    others_pct: float  # the machine's CPU used by everything else, % of all cores

    @property
    def total_ms(self) -> float:
        return self.api_ms + (self.pg_ms or 0.0) + (self.celery_ms or 0.0)


def measure(
    endpoint: str,
    connections: int,
    load: Callable[[int], WrkResult],
    settings: Settings,
    *,
    api: TreeCpu,
    postgres: PostgresCpu | None,
    celery: TreeCpu | None = None,
    settle: Callable[[], None] = lambda: None,
) -> Row:
    """Warm up with `load`, then run it between two CPU readings of each group.

    `settle` runs before the first reading and again before the last (waiting for the Celery
    worker to finish what the load queued), so each row pays for its own work only.
    """
    load(settings.warmup)
    settle()
    machine = MachineCpu()
    for meter in (api, postgres, celery, machine):
        if meter is not None:
            meter.start()
    result = load(settings.duration)
    settle()
    api_s = api.stop()
    pg = postgres.stop() if postgres is not None else None
    celery_s = celery.stop() if celery is not None else None
    busy, capacity, bench_s = machine.stop()
    requests = max(result.requests, 1)

    def per_request(seconds: float) -> float:
        return seconds * 1000 / requests

    ours = api_s + (pg.ours if pg else 0.0) + (celery_s or 0.0) + bench_s
    return Row(
        endpoint=endpoint,
        connections=connections,
        rps=result.rps,
        p50=result.p50,
        p99=result.p99,
        requests=result.requests,
        non_2xx=result.non_2xx,
        socket_errors=result.socket_errors,
        api_ms=per_request(api_s),
        pg_ms=per_request(pg.ours) if pg else None,
        celery_ms=per_request(celery_s) if celery_s is not None else None,
        pg_other_ms=per_request(pg.other_databases) if pg else 0.0,
        pg_other_connections=pg.other_connections if pg else 0,
        others_pct=max(busy - ours, 0.0) * 100 / capacity if capacity else 0.0,
    )
