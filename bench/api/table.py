"""The benchmark table: figures, the floor beside each endpoint, issue 13's targets, met or not.

Targets (issue 13), all at 32 connections on the benchmark machine:
- CPU per request, all process groups together (API workers + PostgreSQL + Celery worker);
- throughput at least 3x the FastAPI rewrite's two-worker figures where it had the endpoint,
  and at least 0.8x the floor's one-INSERT write for writes (login writes last_login);
- p99 under 100 ms.
A row with non-2xx responses or socket errors is marked as not met: its figures are not
those of the endpoint doing its work.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bench.api.measure import Row

TARGET_CONNECTIONS = 32
CPU_TARGET_MS = {
    "health": 0.4,
    "login": 2.0,
    "lots_list": 3.0,
    "lot_create": 3.0,
    "lot_create_2p": 5.0,
    "qc_create": 3.0,
    "traceability": 0.9,
    "graph": 0.9,
}
FASTAPI_RPS = {"login": 500, "lot_create": 261, "qc_create": 308, "traceability": 302}
FASTAPI_FACTOR = 3
FLOOR_FACTOR = 0.8
P99_TARGET_MS = 100.0
WRITES = frozenset({"login", "lot_create", "lot_create_2p", "qc_create"})


def floor_endpoint(endpoint: str) -> str:
    """The floor row an endpoint is read against: the bare INSERT for writes, else health."""
    return "insert" if endpoint in WRITES else "health"


@dataclass(frozen=True)
class Check:
    name: str  # what the "met" column names when it fails
    target: str
    met: bool


def checks(row: Row, floor: Row | None) -> list[Check]:
    """Issue 13's targets for a row (none below 32 connections)."""
    if row.connections != TARGET_CONNECTIONS:
        return []
    found = []
    if row.endpoint in CPU_TARGET_MS:
        target = CPU_TARGET_MS[row.endpoint]
        found.append(Check("cpu", f"cpu<={target:g}ms", row.total_ms <= target))
    if row.endpoint in FASTAPI_RPS:
        target = FASTAPI_FACTOR * FASTAPI_RPS[row.endpoint]
        found.append(Check("3xFastAPI", f"rps>={target}", row.rps >= target))
    if row.endpoint in WRITES and floor is not None:
        target = FLOOR_FACTOR * floor.rps
        found.append(Check("0.8xfloor", f"rps>={target:.0f}(0.8xfloor)", row.rps >= target))
    found.append(Check("p99", f"p99<{P99_TARGET_MS:g}ms", row.p99 < P99_TARGET_MS))
    found.append(Check("errors", "", row.non_2xx == 0 and row.socket_errors == 0))
    return found


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


COLUMNS = (
    # title, right-aligned
    ("endpoint", False),
    ("conns", True),
    ("rps", True),
    ("p50 ms", True),
    ("p99 ms", True),
    ("non-2xx", True),
    ("api ms", True),
    ("pg ms", True),
    ("celery ms", True),
    ("total ms", True),
    ("floor", False),
    ("floor rps", True),
    ("floor ms", True),
    ("targets", False),
    ("met", False),
    ("others %", True),
)
FLOOR_COLUMNS = tuple(c for c in COLUMNS if c[0] not in ("floor", "floor rps", "floor ms", "targets", "met"))


def cells(row: Row, floor: Row | None = None, with_floor: bool = True) -> list[str]:
    """A row's cells in COLUMNS order (FLOOR_COLUMNS with `with_floor` False)."""
    errors = row.non_2xx + row.socket_errors
    first = [
        row.endpoint,
        str(row.connections),
        f"{row.rps:.0f}",
        f"{row.p50:.2f}",
        f"{row.p99:.2f}",
        str(errors) + ("" if not row.socket_errors else f" ({row.socket_errors} socket)"),
        _ms(row.api_ms),
        _ms(row.pg_ms),
        _ms(row.celery_ms),
        _ms(row.total_ms),
    ]
    last = [f"{row.others_pct:.0f}"]
    if not with_floor:
        return first + last
    found = checks(row, floor)
    failed = [c.name for c in found if not c.met]
    met = "" if not found else ("yes" if not failed else "NO: " + ", ".join(failed))
    middle = [
        floor_endpoint(row.endpoint) if floor else "",
        f"{floor.rps:.0f}" if floor else "",
        _ms(floor.total_ms) if floor else "",
        " ".join(c.target for c in found if c.target),
        met,
    ]
    return first + middle + last


def render(columns: Iterable[tuple[str, bool]], rows: list[list[str]], markdown: bool) -> str:
    columns = list(columns)
    titles = [title for title, _ in columns]
    if markdown:
        lines = ["| " + " | ".join(titles) + " |"]
        lines.append("|" + "|".join(" ---: " if right else " --- " for _, right in columns) + "|")
        lines.extend("| " + " | ".join(row) + " |" for row in rows)
        return "\n".join(lines)
    widths = [max(len(title), *(len(row[i]) for row in rows)) for i, title in enumerate(titles)]

    def line(values: list[str]) -> str:
        return "  ".join(
            value.rjust(width) if right else value.ljust(width)
            for value, width, (_, right) in zip(values, widths, columns, strict=True)
        ).rstrip()

    header = line(titles)
    return "\n".join([header, "-" * len(header), *(line(row) for row in rows)])
