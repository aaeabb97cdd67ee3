"""bench/api/floor_app.py: the floor's app serves its health route through FlowViz's handler."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# The floor configures its own settings, so it runs in a process of its own. Its health route
# touches no database.
_HEALTH_THROUGH_ASGI = """
import asyncio, json, sys
sys.path.insert(0, "bench/api")
import floor_app

async def call():
    sent, requests = [], [{"type": "http.request", "body": b"", "more_body": False}]
    async def receive():
        if requests:
            return requests.pop()
        await asyncio.Event().wait()  # the client stays connected
    async def send(message):
        sent.append(message)
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
             "scheme": "http", "path": "/api/health", "raw_path": b"/api/health",
             "query_string": b"", "root_path": "", "headers": [(b"host", b"localhost")],
             "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80)}
    await floor_app.application(scope, receive, send)
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    print(json.dumps([sent[0]["status"], json.loads(body)]))

asyncio.run(call())
"""


def test_the_floor_app_answers_its_health_route_through_flowviz_handler() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _HEALTH_THROUGH_ASGI], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == '[200, {"status": "ok"}]'
