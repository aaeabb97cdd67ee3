"""Helpers for API tests: tokens, JSON requests, and golden-file comparison of responses.

Golden files (tests/golden/<name>.json) hold a response's status and body with generated
ids, timestamps and tokens replaced by placeholders; the demo's fixed ids are kept.
`UPDATE_GOLDEN=1 make test` rewrites them; otherwise a body that differs in any key,
value or type fails the test.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from django.test import Client

from accounts.models import User
from accounts.tokens import token_issue
from flowviz.demo.seed import DEMO_LOTS, DEMO_USERS

GOLDEN_DIR = Path(__file__).resolve().parent / "golden"
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
_FIXED_IDS = {row[0] for row in DEMO_USERS} | {row[0] for row in DEMO_LOTS}

# The contract's Lot shape: exactly these ten keys (written out here, not taken from the code).
LOT_KEYS = {
    "id",
    "lot_code",
    "lot_type",
    "production_run_id",
    "phase_id",
    "operator_id",
    "weight_kg",
    "temperature_c",
    "metadata",
    "created_at",
}

DEMO_EMAILS = {str(role): email for _, email, _, role in DEMO_USERS}


def error_body(message: str) -> dict[str, str]:
    """The contract's error body: the message under `detail` and under `error` (legacy key)."""
    return {"detail": message, "error": message}


def demo_user(role: str) -> User:
    return User.objects.get(email=DEMO_EMAILS[str(role)])


def bearer(user: User) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token_issue(user_id=str(user.pk), role=user.role)}"}


def post_json(client: Client, url: str, body: Any, user: User | None = None, **extra: Any):
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    headers = bearer(user) if user is not None else {}
    return client.post(url, data, content_type="application/json", **headers, **extra)


def get_json(client: Client, url: str, user: User | None = None, **extra: Any):
    headers = bearer(user) if user is not None else {}
    return client.get(url, **headers, **extra)


def normalize(value: Any, key: str | None = None) -> Any:
    if isinstance(value, dict):
        return {k: normalize(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [normalize(v) for v in value]
    if isinstance(value, str):
        if key == "token":
            return "<jwt>"
        if _UUID.match(value) and value not in _FIXED_IDS:
            return "<uuid>"
        if _TIMESTAMP.match(value):
            return "<timestamp>"
    return value


def assert_matches_golden(name: str, response) -> None:
    body = normalize(response.json()) if response.content else None  # 204: no body
    actual = {"status": response.status_code, "body": body}
    path = GOLDEN_DIR / f"{name}.json"
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(json.dumps(actual, indent=2, ensure_ascii=False) + "\n")
        return
    assert path.exists(), f"no golden file {path.name}; run with UPDATE_GOLDEN=1 to create it"
    expected = json.loads(path.read_text())
    assert actual == expected


def asgi_request(
    raw_path: str, *, method: str = "GET", query: str = "", headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    """One request through flowviz.asgi as uvicorn makes it (`path` decoded, `raw_path` as
    sent; the client stays connected until the response is sent): (status, headers, body)."""
    return asyncio.run(asgi_request_async(raw_path, method=method, query=query, headers=headers))


async def asgi_request_async(
    raw_path: str,
    *,
    method: str = "GET",
    query: str = "",
    headers: dict[str, str] | None = None,
    body: bytes = b"",
) -> tuple[int, dict[str, str], bytes]:
    """`asgi_request` in the running event loop (several requests in one loop, as a server
    worker serves them)."""
    from flowviz.asgi import application

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": unquote(raw_path),
        "raw_path": raw_path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
        + [(b"host", b"127.0.0.1")],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    messages: list[dict] = []
    requests = [{"type": "http.request", "body": body, "more_body": False}]
    finished = asyncio.Event()

    async def receive():
        if requests:
            return requests.pop()
        await finished.wait()
        return {"type": "http.disconnect"}

    async def send(message):
        messages.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body"):
            finished.set()

    await application(scope, receive, send)
    start = next(m for m in messages if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
    return start["status"], {k.decode().lower(): v.decode() for k, v in start["headers"]}, body
