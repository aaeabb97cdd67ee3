"""Background genealogy jobs: start one (a write: a job row, then a queued task) and read one.

A job is a django-celery-results TaskResult row. Starting a job records it as PENDING before
the task is published, so every id the API hands out has a row: an id without one was never
issued, and GET /api/jobs/{id} answers 404 for it instead of Celery's ambiguous PENDING.
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

from django_celery_results.models import TaskResult

from lots.models import Lot
from lots.tasks import compute_genealogy, genealogy_enqueue

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


def genealogy_job_get(*, job_id: uuid.UUID) -> dict[str, Any] | None:
    """{"job_id", "status", "result", "error"}; None for an id no job was started with."""
    row = TaskResult.objects.filter(task_id=str(job_id)).first()
    if row is None:
        return None
    status = _STATUS.get(row.status, "PENDING")
    result = json.loads(row.result) if status == "SUCCESS" and row.result else None
    return {
        "job_id": str(job_id),
        "status": status,
        "result": result,
        "error": _error_text(row) if status == "FAILURE" else None,
    }
