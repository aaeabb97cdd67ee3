"""Background genealogy work (Celery): compute a lot's graph, store it as the job result, cache it."""

from __future__ import annotations

import logging
import uuid

import orjson
from celery import shared_task
from django.db import InterfaceError, OperationalError
from kombu.exceptions import OperationalError as BrokerError

from lots import cache as trace_cache
from lots.models import Lot

logger = logging.getLogger(__name__)

# Database or broker hiccups are retried with exponential backoff; anything else is a bug
# and fails the job (the error is shown by GET /api/jobs/{id}).
_RETRY_ON = (OperationalError, InterfaceError, BrokerError)


@shared_task(
    bind=True,
    name="lots.compute_genealogy",
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=_RETRY_ON,
    retry_backoff=2,
    retry_backoff_max=60,
    retry_jitter=True,
    max_retries=5,
    soft_time_limit=120,
    time_limit=150,
)
def compute_genealogy(self, lot_id: str) -> dict | None:
    """The full graph of a lot (contract section 7 shape), also stored in the cache.

    Idempotent: it only reads the genealogy and overwrites the lot's current cache entry.
    None when the lot no longer exists.
    """
    lot_code = Lot.objects.filter(pk=lot_id).values_list("lot_code", flat=True).first()
    if lot_code is None:
        logger.info("compute_genealogy: lot %s does not exist", lot_id)
        return None
    body = trace_cache.graph_refresh(lot_code=lot_code)
    return None if body is None else orjson.loads(body)


def genealogy_enqueue(
    *, lot_id: uuid.UUID | str, task_id: str | None = None, keep_result: bool = True
) -> str:
    """Queue `compute_genealogy` (or run it inline when tasks are eager); returns the job id.

    Publishes through the app's producer pool (a connection kept per process: opening one
    per publish cost ~9 ms of every write) without publish retries. With the broker down it
    fails within the short connect timeout and the one quick retry of the broker transport
    options (settings.CELERY_BROKER_*) instead of stalling the request; the caller decides
    what a failure means.

    `keep_result=False` (the refreshes after writes): the graph goes to the cache only, not
    also to the result table (a user's job, POST .../jobs, keeps it for GET /api/jobs/{id}).
    """
    return compute_genealogy.apply_async(
        args=[str(lot_id)], task_id=task_id, retry=False, ignore_result=not keep_result
    ).id
