"""Issue 14, fault 5 with a real broker of the test's own (no worker): users' jobs and the
refreshes after writes go to separate queues, and a job the broker lost (restarted without
persistence) is reported lost once the recovery time has passed, never pending forever."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
import valkey
from django.conf import settings
from django.test import Client
from django.utils import timezone
from django_celery_results.models import TaskResult

from accounts.roles import Role
from lots.models import Lot
from tests.api_support import bearer, demo_user, post_json

pytestmark = pytest.mark.django_db


def _queue_lengths(server) -> dict[str, int]:
    client = valkey.Valkey.from_url(server.url(1))
    try:
        return {name: client.llen(name) for name in (settings.JOBS_QUEUE, settings.REFRESH_QUEUE, "celery")}
    finally:
        client.close()


def test_jobs_and_refreshes_after_writes_go_to_separate_queues(
    demo, broker_server, django_capture_on_commit_callbacks
):
    client = Client()
    assert (
        client.post("/api/traceability/MIX-BATCH-88/jobs", **bearer(demo_user(Role.VIEWER))).status_code
        == 202
    )
    # A write queues the refresh of a graph somebody reads (issue 13): read it, then decide.
    graph = client.get("/api/traceability/MIX-BATCH-88/graph", **bearer(demo_user(Role.VIEWER)))
    assert graph.status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        body = {"lot_id": str(Lot.objects.get(lot_code="MIX-BATCH-88").pk), "decision": "PASS"}
        assert post_json(client, "/api/qc-decisions", body, demo_user(Role.AUDITOR)).status_code == 201
    assert _queue_lengths(broker_server) == {settings.JOBS_QUEUE: 1, settings.REFRESH_QUEUE: 1, "celery": 0}


def test_a_job_lost_by_a_broker_restart_is_reported_lost_after_the_recovery_time(demo, broker_server):
    client, auth = Client(), bearer(demo_user(Role.VIEWER))
    status_url = client.post("/api/traceability/MIX-BATCH-88/jobs", **auth).json()["status_url"]
    job = TaskResult.objects.get()
    # Queued longer than the recovery time (no worker runs here), but still in the broker.
    TaskResult.objects.filter(pk=job.pk).update(
        date_created=timezone.now() - timedelta(seconds=settings.TASK_VISIBILITY_TIMEOUT + 60)
    )
    assert client.get(status_url, **auth).json()["status"] == "PENDING"
    broker_server.restart()  # no persistence: the queued message is gone
    body = client.get(status_url, **auth).json()
    assert body["status"] == "FAILURE"
    assert body["error"].startswith("Lost:")


def test_a_job_is_not_reported_lost_while_the_broker_cannot_be_asked(demo, broker_server):
    client, auth = Client(), bearer(demo_user(Role.VIEWER))
    status_url = client.post("/api/traceability/MIX-BATCH-88/jobs", **auth).json()["status_url"]
    TaskResult.objects.update(
        date_created=timezone.now() - timedelta(seconds=settings.TASK_VISIBILITY_TIMEOUT + 60)
    )
    broker_server.kill()
    started = time.monotonic()
    assert client.get(status_url, **auth).json()["status"] == "PENDING"
    assert time.monotonic() - started < settings.BROKER_SOCKET_TIMEOUT + 1
