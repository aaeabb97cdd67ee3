"""Prometheus exposition at /metrics: HTTP request metrics, database pool gauges, business metrics.

prometheus_client is used directly (not django-prometheus): its multiprocess mode is what
makes the numbers right under several gunicorn workers, and we want a handful of metrics we
chose, not per-model and per-middleware series. With PROMETHEUS_MULTIPROC_DIR set (the api
container does), every worker writes its samples to files in that directory and a scrape,
whichever worker answers it, sums them; flowviz/ops/gunicorn_conf.py clears the directory at
start and marks exited workers dead.
"""

from __future__ import annotations

import functools
import ipaddress
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.db import connections
from django.http import HttpRequest, HttpResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

import flowviz.ops.metrics  # noqa: F401  (the business metrics register themselves on import)
from flowviz.ops.proxies import client_ip

HTTP_REQUESTS = Counter(
    "flowviz_http_requests",
    "HTTP requests served, by method, route pattern and status code.",
    labelnames=["method", "route", "status"],
)
HTTP_REQUEST_SECONDS = Histogram(
    "flowviz_http_request_duration_seconds",
    "Time to answer an HTTP request, by method and route pattern.",
    labelnames=["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
# Pool gauges are per process; in multiprocess mode "livesum" adds up the live workers.
DB_POOL_CONNECTIONS = Gauge(
    "flowviz_db_pool_connections",
    "Connections held by the psycopg pool (open ones, idle ones, the configured maximum).",
    labelnames=["alias", "state"],
    multiprocess_mode="livesum",
)
DB_POOL_WAITING = Gauge(
    "flowviz_db_pool_requests_waiting",
    "Requests waiting for a pooled database connection.",
    labelnames=["alias"],
    multiprocess_mode="livesum",
)

# A request that matched no URL pattern: one label value, so scanners cannot blow up cardinality.
UNMATCHED_ROUTE = "<unmatched>"
_POOL_REFRESH_SECONDS = 1.0
_pool_refreshed_at = 0.0


def route_of(request: HttpRequest) -> str:
    """The URL pattern the request resolved to (e.g. `api/traceability/<lot_code>`), not its path."""
    match = getattr(request, "resolver_match", None)
    if match is None or not match.route:
        return UNMATCHED_ROUTE
    return "/" + match.route.lstrip("^").rstrip("$")


def refresh_pool_gauges(*, force: bool = False) -> None:
    """Copy this process's psycopg pool statistics into the gauges (at most once a second)."""
    global _pool_refreshed_at
    now = time.monotonic()
    if not force and now - _pool_refreshed_at < _POOL_REFRESH_SECONDS:
        return
    _pool_refreshed_at = now
    for alias in connections:
        wrapper = connections[alias]
        # Django keeps one pool per alias per process (Django 5.1+, OPTIONS["pool"]). Read the
        # existing one only: `wrapper.pool` would create (and start connecting) a pool.
        pool = getattr(type(wrapper), "_connection_pools", {}).get(alias)
        if pool is None:
            continue
        stats = pool.get_stats()
        DB_POOL_CONNECTIONS.labels(alias, "open").set(stats.get("pool_size", 0))
        DB_POOL_CONNECTIONS.labels(alias, "idle").set(stats.get("pool_available", 0))
        DB_POOL_CONNECTIONS.labels(alias, "max").set(stats.get("pool_max", 0))
        DB_POOL_WAITING.labels(alias).set(stats.get("requests_waiting", 0))


class PrometheusMiddleware:
    """Counts and times every request under its resolved route pattern."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]):
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> HttpResponse | Awaitable[HttpResponse]:
        if self.is_async:
            return self._acall(request)
        started = time.perf_counter()
        status = 500
        try:
            response = self.get_response(request)
            status = response.status_code
            return response
        finally:
            self._observe(request, status, started)

    async def _acall(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        status = 500
        try:
            response = await self.get_response(request)
            status = response.status_code
            return response
        finally:
            self._observe(request, status, started)

    @staticmethod
    def _observe(request: HttpRequest, status: int, started: float) -> None:
        route = route_of(request)
        HTTP_REQUEST_SECONDS.labels(request.method, route).observe(time.perf_counter() - started)
        HTTP_REQUESTS.labels(request.method, route, str(status)).inc()
        refresh_pool_gauges()


@functools.lru_cache(maxsize=8)
def _networks(cidrs: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(cidr, strict=False) for cidr in cidrs)


def metrics_allowed(request: HttpRequest) -> bool:
    """True if METRICS_ALLOWED_IPS is empty (open) or holds the client's address."""
    networks = _networks(tuple(settings.METRICS_ALLOWED_IPS))
    if not networks:
        return True
    try:
        address = ipaddress.ip_address(client_ip(request))
    except ValueError:
        return False
    return any(address in network for network in networks)


def metrics_registry() -> CollectorRegistry:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return REGISTRY


def metrics_view(request: HttpRequest) -> HttpResponse:
    """GET /metrics: Prometheus text format, 403 outside METRICS_ALLOWED_IPS."""
    if not metrics_allowed(request):
        return HttpResponse("Forbidden\n", status=403, content_type="text/plain")
    refresh_pool_gauges(force=True)
    return HttpResponse(generate_latest(metrics_registry()), content_type=CONTENT_TYPE_LATEST)
