"""Where a request's CPU goes, from a py-spy profile in raw format (collapsed stacks).

    .venv/bin/python bench/api/profile_summary.py test-artifacts/profile-traceability-api.txt

Record it with `BENCH_PROFILE_FORMAT=raw BENCH_PROFILE_GIL=1 make bench-profile ENDPOINT=...`
(GIL-only samples: Python running on a CPU, not threads waiting on a socket). Each sample goes
to the innermost phase on its stack: a phase is a function of FlowViz or of the stack that a
request passes through once, with what it calls that no inner phase claims. What no phase
claims is the server and Django around the endpoint (uvicorn, asyncio, Django's handler and
its middleware chain). Prints one line per phase: share of the samples, and the per-request CPU it
stands for when `--ms` gives the API workers' CPU per request measured by `make bench-api`.
"""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path

# (phase, frame prefixes that open it); the frame nearest the leaf that matches wins.
PHASES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("request log line", ("RequestLogMiddleware._end ",)),
    ("request metrics", ("PrometheusMiddleware._observe ",)),
    # _fetch_one runs the user's query as a task of its own (flowviz/ops/async_db.py's timeout),
    # so its stack starts at the event loop, not under JWTAuth.authenticate.
    (
        "authentication (token, user row on the event loop's pool)",
        ("JWTAuth.authenticate ", "JWTAuth.__call__ ", "_fetch_one "),
    ),
    ("request body and query validation (ninja, Pydantic)", ("Operation._get_values ",)),
    ("cached answer read (Valkey)", ("one_step_warm ", "graph_warm ", "_warm_only ")),
    ("database work in the request's thread (service or selector)", ("_released ",)),
    ("thread hop (submit to the request's thread)", ("_RequestExecutor.submit ", "SyncToAsync.__call__ ")),
    ("after-commit work (cache retirement, metrics)", ("BaseDatabaseWrapper.run_and_clear_commit_hooks ",)),
    ("response sent (headers, body, uvicorn)", ("ASGIHandler.send_response ",)),
    (
        "endpoint operation, rest (ninja: checks, the view's own code, the response)",
        ("PathView._async_view ",),
    ),
)
STACK = "server and Django around the endpoint (uvicorn, asyncio, handler, middleware chain)"


def stacks(lines: Iterable[str]) -> Iterator[tuple[list[str], int]]:
    """(frames from the root, samples) of each line of a raw py-spy profile."""
    for line in lines:
        stack, _, count = line.rstrip("\n").rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = [frame for frame in stack.split(";") if not frame.startswith("process ")]
        yield frames, int(count)


def phase_of(frames: list[str]) -> str:
    for frame in reversed(frames):
        for phase, prefixes in PHASES:
            if frame.startswith(prefixes):
                return phase
    return STACK


def summarize(lines: Iterable[str]) -> tuple[Counter[str], int]:
    shares: Counter[str] = Counter()
    total = 0
    for frames, count in stacks(lines):
        shares[phase_of(frames)] += count
        total += count
    return shares, total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("profile", type=Path, help="a raw py-spy profile (collapsed stacks)")
    parser.add_argument("--ms", type=float, help="API workers' CPU ms per request (make bench-api)")
    args = parser.parse_args()
    with args.profile.open() as lines:
        shares, total = summarize(lines)
    if not total:
        raise SystemExit(f"{args.profile}: no samples")
    print(f"{args.profile.name}: {total} samples")
    for phase, count in shares.most_common():
        share = count / total
        ms = f"  {share * args.ms:5.2f} ms" if args.ms else ""
        print(f"{share * 100:5.1f} %{ms}  {phase}")


if __name__ == "__main__":
    main()
