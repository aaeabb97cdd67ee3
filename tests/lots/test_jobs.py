"""Genealogy jobs (issue 14, faults 5 and 6): a lost job is reported as lost, not pending or
running forever; only users' jobs keep a result, and expired results are cleaned up by beat."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from celery.beat import PersistentScheduler
from django.conf import settings
from django.db import transaction
from django.test import Client
from django.utils import timezone
from django_celery_results.models import TaskResult

from accounts.roles import Role
from flowviz.celery import app as celery_app
from lots import jobs, services
from lots.tasks import compute_genealogy
from tests.api_support import bearer, demo_user

pytestmark = pytest.mark.django_db


def _job_row(status: str, *, age_seconds: float, started_age_seconds: float | None = None) -> TaskResult:
    row = TaskResult.objects.create(
        task_id=str(uuid.uuid4()), status=status, task_name=compute_genealogy.name
    )
    now = timezone.now()
    fields = {"date_created": now - timedelta(seconds=age_seconds)}
    if started_age_seconds is not None:
        fields["date_started"] = now - timedelta(seconds=started_age_seconds)
        fields["date_done"] = fields["date_started"]
    TaskResult.objects.filter(pk=row.pk).update(**fields)
    return row


def _get(row: TaskResult) -> dict:
    response = Client().get(f"/api/jobs/{row.task_id}", **bearer(demo_user(Role.VIEWER)))
    assert response.status_code == 200
    return response.json()


def test_a_job_pending_past_the_recovery_time_and_gone_from_the_broker_is_reported_lost(demo):
    row = _job_row("PENDING", age_seconds=settings.TASK_VISIBILITY_TIMEOUT + 60)
    body = _get(row)
    assert body["status"] == "FAILURE"
    assert body["error"].startswith("Lost: not started within")


def test_a_job_pending_within_the_recovery_time_is_still_pending(demo):
    row = _job_row("PENDING", age_seconds=settings.TASK_VISIBILITY_TIMEOUT - 60)
    assert _get(row)["status"] == "PENDING"


def test_a_job_started_longer_than_its_time_limit_plus_the_recovery_time_is_reported_lost(demo):
    too_long = compute_genealogy.time_limit + settings.TASK_VISIBILITY_TIMEOUT + 60
    row = _job_row("STARTED", age_seconds=too_long + 5, started_age_seconds=too_long)
    body = _get(row)
    assert body["status"] == "FAILURE"
    assert body["error"].startswith("Lost: still running")


def test_a_job_started_within_its_time_limit_is_still_started(demo):
    row = _job_row("STARTED", age_seconds=100, started_age_seconds=compute_genealogy.time_limit)
    assert _get(row)["status"] == "STARTED"


def test_the_recovery_time_is_the_brokers_visibility_timeout():
    assert celery_app.conf.broker_transport_options["visibility_timeout"] == settings.TASK_VISIBILITY_TIMEOUT
    assert settings.TASK_VISIBILITY_TIMEOUT > settings.CELERY_TASK_TIME_LIMIT


def test_graph_refreshes_after_writes_store_no_task_result(
    demo, celery_conf, django_capture_on_commit_callbacks
):
    celery_conf(task_always_eager=True)  # the refresh runs (inline), as a worker would run it
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        services.lot_create(
            lot_code="FG-NO-RESULT",
            actor=demo_user(Role.OPERATOR),
            parents=[services.ParentRef(loc=("parents", 0), lot_code="MIX-BATCH-88")],
        )
    assert not TaskResult.objects.exists()


def test_a_users_job_keeps_its_result(demo, celery_conf):
    celery_conf(task_always_eager=True)
    job_id = jobs.genealogy_job_start(lot_code="MIX-BATCH-88")
    assert TaskResult.objects.get(task_id=job_id).status == "SUCCESS"


def test_beat_schedules_the_cleanup_of_expired_results_daily(tmp_path):
    # As the beat service runs it: `celery beat --schedule FILE` (a PersistentScheduler).
    scheduler = PersistentScheduler(app=celery_app, schedule_filename=str(tmp_path / "celerybeat-schedule"))
    try:
        entry = scheduler.schedule["celery.backend_cleanup"]
    finally:
        scheduler.close()
    assert entry.task == "celery.backend_cleanup"
    assert (entry.schedule.hour, entry.schedule.minute) == ({4}, {0})
    assert celery_app.conf.result_expires == settings.CELERY_RESULT_EXPIRES


def test_the_cleanup_deletes_expired_results_and_keeps_the_others(demo):
    expired = _job_row("SUCCESS", age_seconds=0)
    TaskResult.objects.filter(pk=expired.pk).update(
        date_done=timezone.now() - timedelta(seconds=settings.CELERY_RESULT_EXPIRES + 60)
    )
    fresh = _job_row("SUCCESS", age_seconds=0)
    celery_app.tasks["celery.backend_cleanup"].apply()
    assert not TaskResult.objects.filter(pk=expired.pk).exists()
    assert TaskResult.objects.filter(pk=fresh.pk).exists()
