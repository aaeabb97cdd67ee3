"""Background genealogy jobs: start one (a write: a job row, then a queued task) and read one.

A job is a django-celery-results TaskResult row. Starting a job records it as PENDING before
the task is published, so every id the API hands out has a row: an id without one was never
issued, and GET /api/jobs/{id} answers 404 for it instead of Celery's ambiguous PENDING.

A job can be lost: its worker killed (the message comes back to the queue only after the
broker's visibility timeout, CELERY_VISIBILITY_TIMEOUT, and is then run again), or its message
gone with a broker restarted without persistence. A job is reported lost (FAILURE, with an error
saying so) when it is PENDING for longer than that recovery time and the broker no longer holds
its message, or STARTED for longer than the task's time limit plus the recovery time.
"""

from __future__ import annotations

import json
import logging
import uuid
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone
from django_celery_results.models import TaskResult

from lots.models import Lot
from lots.tasks import compute_genealogy, genealogy_enqueue, job_known_to_broker

logger = logging.getLogger(__name__)

# Celery's states, folded into the four the contract names.
_STATUS = {
    "PENDING": "PENDING",
    "RECEIVED": "PENDING",
    "STARTED": "STARTED",
    "RETRY": "STARTED",
    "SUCCESS": "SUCCESS",
    "FAILURE": "FAILURE",
    "REVOKED": "FAILURE",
}


class JobQueueUnavailable(Exception):
    """The broker could not take the job (nothing was left behind)."""


def genealogy_job_start(*, lot_code: str) -> str | None:
    """Queue the graph computation of a lot; returns the job id, None when no such lot."""
    lot_id = Lot.objects.filter(lot_code=lot_code).values_list("id", flat=True).first()
    if lot_id is None:
        return None
    job_id = str(uuid.uuid4())
    TaskResult.objects.create(task_id=job_id, status="PENDING", task_name=compute_genealogy.name)
    try:
        genealogy_enqueue(lot_id=lot_id, task_id=job_id)
    except Exception as exc:
        if compute_genealogy.app.conf.task_always_eager:
            # Ran inline and failed: the result backend recorded the failure on the job row.
            logger.warning("genealogy job %s failed inline: %s", job_id, exc)
            return job_id
        TaskResult.objects.filter(task_id=job_id).delete()
        logger.error("could not queue genealogy job for %s", lot_code, exc_info=True)
        raise JobQueueUnavailable from exc
    return job_id


def _error_text(row: TaskResult) -> str:
    try:
        info = json.loads(row.result) if row.result else {}
    except ValueError:
        info = {}
    if isinstance(info, dict) and info.get("exc_type"):
        message = info.get("exc_message")
        if isinstance(message, list):
            message = " ".join(map(str, message))
        return f"{info['exc_type']}: {message}" if message else str(info["exc_type"])
    return row.status


def _lost_reason(row: TaskResult, status: str) -> str | None:
    """Why the job counts as lost, or None while it may still finish."""
    recovery = timedelta(seconds=settings.TASK_VISIBILITY_TIMEOUT)
    now = timezone.now()
    if status == "PENDING":
        if now - row.date_created <= recovery or job_known_to_broker(task_id=row.task_id) is not False:
            return None
        return (
            f"Lost: not started within {settings.TASK_VISIBILITY_TIMEOUT} s and no longer queued "
            "(the broker lost it); start the job again"
        )
    if status == "STARTED":
        since = row.date_started or row.date_done
        limit = timedelta(seconds=compute_genealogy.time_limit or settings.CELERY_TASK_TIME_LIMIT)
        if since is None or now - since <= limit + recovery:
            return None
        return (
            f"Lost: still running after its time limit plus {settings.TASK_VISIBILITY_TIMEOUT} s "
            "(its worker died); start the job again"
        )
    return None


def genealogy_job_get(*, job_id: uuid.UUID) -> dict[str, Any] | None:
    """{"job_id", "status", "result", "error"}; None for an id no job was started with.
    A lost job is a FAILURE whose error says so."""
    row = TaskResult.objects.filter(task_id=str(job_id)).first()
    if row is None:
        return None
    status = _STATUS.get(row.status, "PENDING")
    lost = _lost_reason(row, status)
    if lost is not None:
        return {"job_id": str(job_id), "status": "FAILURE", "result": None, "error": lost}
    result = json.loads(row.result) if status == "SUCCESS" and row.result else None
    return {
        "job_id": str(job_id),
        "status": status,
        "result": result,
        "error": _error_text(row) if status == "FAILURE" else None,
    }
