"""Periodic upkeep of the HTTP layer (Celery beat, settings.CELERY_BEAT_SCHEDULE)."""

from __future__ import annotations

from celery import shared_task

from flowviz.http.idempotency import idempotency_keys_purge as purge


@shared_task(name="flowviz.http.idempotency_keys_purge", ignore_result=True)
def idempotency_keys_purge() -> int:
    """Delete the idempotency keys older than IDEMPOTENCY_KEY_HOURS."""
    return purge()
