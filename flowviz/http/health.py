"""Probes. Liveness: GET /api/health (no I/O). Readiness: GET /api/health/ready checks the
database, the cache and the task broker.

The three checks run concurrently, each in a thread bounded by READINESS_TIMEOUT seconds, so
a dead service makes the probe answer 503 quickly instead of hanging the load balancer. The
failing check's value is a short reason ("timeout", "error: OperationalError"); the details
(host, port, driver message) go to the log only, since the endpoint is public.
With no broker configured, tasks run inline in the web process: nothing to reach, so the
broker check reports "ok".
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import urlsplit

from django.conf import settings
from django.core.cache import caches
from django.db import connections
from django.http import HttpRequest, HttpResponse
from ninja import Router, Schema, Status

from flowviz.http.renderers import json_dumps, json_response

logger = logging.getLogger("flowviz.health")

router = Router(tags=["health"])

OK = "ok"
_REDIS_SCHEMES = {"redis", "rediss", "valkey", "valkeys"}


class HealthOut(Schema):
    status: str
    timestamp: datetime


# The operation ids are the ones these endpoints had before they moved here (ninja derives
# them from the module path): clients generated from the OpenAPI schema name methods by them.
@router.get("/health", response=HealthOut, summary="Liveness (no I/O)", operation_id="flowviz_api_health")
async def health(request: HttpRequest) -> HttpResponse:
    # Rendered here, not validated against HealthOut by ninja first: that validation and the
    # renderer were 5 % of the check's Python CPU under load (GIL-only py-spy profile).
    body = json_dumps({"status": OK, "timestamp": datetime.now(UTC)})
    return json_response(body)


class ReadyChecks(Schema):
    database: str
    cache: str
    broker: str


class ReadyOut(Schema):
    status: str
    checks: ReadyChecks


def check_database() -> None:
    connection = connections["default"]
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    finally:
        # This runs in a worker thread: hand the connection back (to the pool, or close it).
        connection.close()


def check_cache() -> None:
    cache = caches["default"]
    key = f"flowviz:ready:{uuid.uuid4().hex}"
    cache.set(key, OK, timeout=30)
    try:
        if cache.get(key) != OK:
            raise RuntimeError("value written was not read back")
    finally:
        cache.delete(key)


def check_broker() -> None:
    url = settings.CELERY_BROKER_URL
    if not url:
        return  # inline tasks: no broker to reach
    timeout = settings.READINESS_TIMEOUT
    if urlsplit(url).scheme.lower() in _REDIS_SCHEMES:
        from valkey import Valkey

        client = Valkey.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
        try:
            client.ping()
        finally:
            client.close()
        return
    from kombu import Connection

    with Connection(url, connect_timeout=timeout) as connection:
        connection.ensure_connection(max_retries=1, interval_start=0, timeout=timeout)


async def _run_check(name: str, check: Callable[[], None]) -> str:
    try:
        await asyncio.wait_for(asyncio.to_thread(check), timeout=settings.READINESS_TIMEOUT)
    except TimeoutError:
        logger.warning("readiness: %s check timed out", name)
        return "timeout"
    except Exception as exc:
        logger.warning("readiness: %s check failed: %s", name, exc)
        return f"error: {type(exc).__name__}"
    return OK


@router.get(
    "/health/ready",
    response={200: ReadyOut, 503: ReadyOut},
    summary="Readiness: database, cache and broker reachable",
    operation_id="flowviz_health_health_ready",
)
async def health_ready(request: HttpRequest) -> Status:
    names = ("database", "cache", "broker")
    results = await asyncio.gather(
        _run_check("database", check_database),
        _run_check("cache", check_cache),
        _run_check("broker", check_broker),
    )
    checks = dict(zip(names, results, strict=True))
    if all(value == OK for value in checks.values()):
        return Status(200, {"status": OK, "checks": checks})
    return Status(503, {"status": "unavailable", "checks": checks})
