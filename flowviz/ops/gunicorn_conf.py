"""Gunicorn settings for the api container:
`gunicorn -c flowviz/ops/gunicorn_conf.py flowviz.asgi:application`.

Uvicorn workers serve the ASGI app; the worker count comes from WEB_CONCURRENCY. With
PROMETHEUS_MULTIPROC_DIR set, the metric files of a previous run are removed at start and a
worker's live gauges are dropped when it exits, so /metrics adds up the current workers only
(counters of exited workers are kept: totals never go backwards).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")  # all interfaces: inside a container, behind nginx
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# uvicorn's worker, plus a deadline for each request's head (flowviz/ops/uvicorn_worker.py,
# GUNICORN_HEADER_TIMEOUT, default 10 s): a client that connects and sends nothing, or trickles
# its headers, is disconnected instead of holding the connection forever.
worker_class = "flowviz.ops.uvicorn_worker.FlowVizUvicornWorker"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
# Seconds an idle keep-alive connection stays open after a response (uvicorn's
# timeout_keep_alive). nginx's upstream keepalive_timeout is below it, so nginx never reuses a
# connection the app is closing.
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
# Recycle workers now and then (0 = never); jitter keeps them from restarting together.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "0"))
max_requests_jitter = int(os.environ.get("GUNICORN_MAX_REQUESTS_JITTER", "0"))
# Our middleware writes one JSON line per request; gunicorn's access log would duplicate it.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()


def on_starting(server: Any) -> None:
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not directory:
        return
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.db"):
        stale.unlink()


def child_exit(server: Any, worker: Any) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
