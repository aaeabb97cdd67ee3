"""Background genealogy work (Celery): a lot's graph computed, cached, and for jobs kept as the result.

Two tasks on two queues (the worker consumes both; settings.JOBS_QUEUE / REFRESH_QUEUE):
- `lots.compute_genealogy`, a user's job (POST /api/traceability/{code}/jobs): its result is
  the graph, kept CELERY_RESULT_EXPIRES for GET /api/jobs/{id}; its own queue, so a job never
  waits behind thousands of refreshes.
- `lots.refresh_genealogy`, queued after every write to warm the cache again: it stores no
  result (it used to keep every graph for 7 days: 1.1 GB of results against 17 MB of lots).

Publishing goes through a per-process circuit breaker (flowviz.ops.breakers.broker_breaker):
after a publish fails (the broker socket timeout is short, CELERY_BROKER_SOCKET_TIMEOUT), writes
skip the refresh and jobs answer 503 at once for BROKER_RETRY_SECONDS instead of each waiting.
"""

from __future__ import annotations

import logging
import uuid

import orjson
from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError, close_old_connections, connections
from kombu.exceptions import OperationalError as BrokerError

from flowviz.ops.breakers import broker_breaker
from flowviz.ops.cache_guard import cache_usable
from lots import cache as trace_cache
from lots.models import Lot

logger = logging.getLogger(__name__)

# The database went away under the task (a PostgreSQL restart or failover): retried with
# exponential backoff on fresh connections. Anything else is a bug and fails the job (the
# error is shown by GET /api/jobs/{id}).
_DATABASE_ERRORS = (OperationalError, InterfaceError)
_RETRY_BACKOFF_MAX = 30


class BrokerUnavailable(BrokerError):
    """The broker failed a moment ago: publishing is skipped until BROKER_RETRY_SECONDS pass."""


def _graph_refresh(lot_id: str) -> bytes | None:
    lot_code = Lot.objects.filter(pk=lot_id).values_list("lot_code", flat=True).first()
    if lot_code is None:
        logger.info("genealogy of lot %s: the lot does not exist", lot_id)
        return None
    return trace_cache.graph_refresh(lot_code=lot_code)


def _retry_on_a_fresh_connection(task, exc: Exception):
    """Drop every database connection of this worker (the failed one is dead, and so are its
    pooled siblings after a server restart), then retry the task with backoff."""
    for connection in connections.all(initialized_only=True):
        connection.close()
    close_old_connections()
    countdown = min(2 ** (task.request.retries + 1), _RETRY_BACKOFF_MAX)
    logger.warning("%s[%s]: database error, retry in %ss: %s", task.name, task.request.id, countdown, exc)
    return task.retry(exc=exc, countdown=countdown)


@shared_task(
    bind=True,
    name="lots.compute_genealogy",
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=5,
    soft_time_limit=120,
    time_limit=150,
)
def compute_genealogy(self, lot_id: str) -> dict | None:
    """A user's job: the full graph of a lot (contract section 7 shape), also stored in the cache.

    Idempotent: it only reads the genealogy and overwrites the lot's current cache entry.
    None when the lot no longer exists.
    """
    try:
        body = _graph_refresh(lot_id)
    except _DATABASE_ERRORS as exc:
        raise _retry_on_a_fresh_connection(self, exc) from exc
    return None if body is None else orjson.loads(body)


@shared_task(
    bind=True,
    name="lots.refresh_genealogy",
    ignore_result=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=3,
    soft_time_limit=120,
    time_limit=150,
)
def refresh_genealogy(self, lot_id: str) -> None:
    """Warm the cached graph of a lot after a write; no result is stored. Skipped while the
    cache is known to be down: the next read computes the graph."""
    if not cache_usable():
        logger.info("genealogy refresh of lot %s skipped: the cache is unavailable", lot_id)
        return
    try:
        _graph_refresh(lot_id)
    except _DATABASE_ERRORS as exc:
        raise _retry_on_a_fresh_connection(self, exc) from exc


def _publish(task, *, lot_id: uuid.UUID | str, task_id: str | None, queue: str) -> str:
    if task.app.conf.task_always_eager:
        # Inline: no broker; an exception is the task's own failure (recorded for jobs).
        return task.apply_async(args=[str(lot_id)], task_id=task_id, queue=queue).id
    if not broker_breaker.usable():
        raise BrokerUnavailable(f"the task broker failed less than {broker_breaker.retry_seconds}s ago")
    try:
        return task.apply_async(args=[str(lot_id)], task_id=task_id, queue=queue, retry=False).id
    except Exception:
        broker_breaker.failed("publishing tasks")
        raise


def genealogy_enqueue(*, lot_id: uuid.UUID | str, task_id: str | None = None) -> str:
    """Queue a user's genealogy job (`compute_genealogy` on the jobs queue); returns the job id.

    Publishes through the app's producer pool (a connection kept per process: opening one
    per publish cost ~9 ms of every write) without publish retries, behind the broker breaker:
    with the broker down or frozen it fails within the short socket timeout once, then at once.
    The caller decides what a failure means.
    """
    return _publish(compute_genealogy, lot_id=lot_id, task_id=task_id, queue=settings.JOBS_QUEUE)


def genealogy_refresh_enqueue_one(*, lot_id: uuid.UUID | str) -> str:
    """Queue the cache refresh of a lot's graph (`refresh_genealogy` on the refresh queue)."""
    return _publish(refresh_genealogy, lot_id=lot_id, task_id=None, queue=settings.REFRESH_QUEUE)


_REDIS_SCHEMES = ("redis://", "rediss://", "valkey://", "valkeys://")
# kombu's Redis transport: delivered, not yet acknowledged messages (tasks ack late).
_UNACKED_KEY = "unacked"
_QUEUE_SCAN_LIMIT = 10_000


def job_known_to_broker(*, task_id: str) -> bool | None:
    """Whether the broker still holds the job's message (queued, or delivered and not yet
    acknowledged); None when that cannot be told (broker unreachable, or not Redis/Valkey).
    Inline tasks have no broker: nothing is ever left there (False)."""
    app = compute_genealogy.app
    if app.conf.task_always_eager:
        return False
    url = app.conf.broker_url or ""
    if not url.startswith(_REDIS_SCHEMES) or not broker_breaker.usable():
        return None
    from valkey import Valkey

    needle = task_id.encode()
    timeout = settings.BROKER_SOCKET_TIMEOUT
    client = Valkey.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
    try:
        queued = client.lrange(settings.JOBS_QUEUE, 0, _QUEUE_SCAN_LIMIT - 1)
        unacked = client.hvals(_UNACKED_KEY)
    except Exception:
        broker_breaker.failed(f"looking for job {task_id}")
        return None
    finally:
        client.close()
    return any(needle in message for message in (*queued, *unacked))
