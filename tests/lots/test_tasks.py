"""Celery genealogy jobs: the task, a real worker process, and writes with the broker down."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import orjson
import pytest
import valkey
from django.conf import settings
from django.db import transaction
from django.test import Client

from accounts.roles import Role
from lots import cache as trace_cache
from lots import changes, services
from lots.models import Lot
from lots.selectors import lot_graph_json
from lots.tasks import compute_genealogy, genealogy_enqueue
from tests.api_support import bearer, demo_user, error_body
from tests.db_support import database_url
from tests.lots.conftest import cache_hit_queries

pytestmark = pytest.mark.django_db

PROJECT_DIR = Path(__file__).resolve().parents[2]
DEAD_BROKER = "redis://127.0.0.1:1/0"


@pytest.fixture
def dead_broker(celery_conf, monkeypatch):
    """Tasks really published, to a broker address where nothing listens."""
    # Celery reads CELERY_BROKER_URL from the environment before its configuration.
    monkeypatch.setenv("CELERY_BROKER_URL", DEAD_BROKER)
    celery_conf(task_always_eager=False, broker_url=DEAD_BROKER)


def test_compute_genealogy_returns_the_graph_and_warms_the_cache(demo, django_assert_num_queries):
    mix = Lot.objects.get(lot_code="MIX-BATCH-88")
    result = compute_genealogy.apply(args=[str(mix.pk)]).get()
    assert result == orjson.loads(lot_graph_json(lot_code="MIX-BATCH-88"))
    with django_assert_num_queries(cache_hit_queries()):
        assert orjson.loads(trace_cache.graph_json_cached(lot_code="MIX-BATCH-88")) == result


def test_compute_genealogy_is_idempotent(demo):
    mix_id = str(Lot.objects.get(lot_code="MIX-BATCH-88").pk)
    assert compute_genealogy.apply(args=[mix_id]).get() == compute_genealogy.apply(args=[mix_id]).get()


def test_compute_genealogy_of_a_vanished_lot_is_none(db):
    assert compute_genealogy.apply(args=[str(uuid.uuid4())]).get() is None


def test_compute_genealogy_is_late_acknowledged_retried_and_time_limited():
    assert compute_genealogy.acks_late is True
    assert compute_genealogy.max_retries == 5
    assert (compute_genealogy.soft_time_limit, compute_genealogy.time_limit) == (120, 150)


def test_a_link_succeeds_with_the_broker_unreachable_and_the_failure_is_logged(
    demo, dead_broker, caplog, django_capture_on_commit_callbacks
):
    operator = demo_user(Role.OPERATOR)
    child = services.lot_create(lot_code="FG-NO-BROKER", actor=operator)
    trace_cache.graph_json_cached(lot_code="FG-NO-BROKER")  # read: its refresh is worth queuing
    started = time.monotonic()
    with (
        caplog.at_level(logging.ERROR, logger="lots.changes"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        links = services.lot_parents_add(
            lot_code=child.lot_code,
            actor=operator,
            parents=[services.ParentRef(loc=("parents", 0), lot_code="MIX-BATCH-88")],
        )
    assert time.monotonic() - started < 10
    assert Lot.objects.filter(pk=child.pk, parent_links__pk=links[0].pk).exists()
    assert any("could not queue the genealogy refresh" in record.getMessage() for record in caplog.records)


def test_write_inside_a_transaction_commits_with_the_broker_unreachable(
    demo, dead_broker, caplog, django_capture_on_commit_callbacks
):
    mix = Lot.objects.get(lot_code="MIX-BATCH-88")
    trace_cache.graph_json_cached(lot_code=mix.lot_code)
    with (
        caplog.at_level(logging.ERROR, logger="lots.changes"),
        django_capture_on_commit_callbacks(execute=True),
        transaction.atomic(),
    ):
        Lot.objects.filter(pk=mix.pk).update(temperature_c=-2)
        changes.genealogy_changed(lot_ids=[mix.pk])
    assert Lot.objects.get(pk=mix.pk).temperature_c == -2
    assert any("could not queue" in record.getMessage() for record in caplog.records)


def test_job_start_with_the_broker_unreachable_is_503_and_leaves_no_job(demo, dead_broker):
    from django_celery_results.models import TaskResult

    response = Client().post("/api/traceability/MIX-BATCH-88/jobs", **bearer(demo_user(Role.VIEWER)))
    assert (response.status_code, response.json()) == (
        503,
        error_body("The job queue is unavailable; try again later"),
    )
    assert not TaskResult.objects.exists()


def _start_worker(queue: str) -> subprocess.Popen:
    env = {
        **os.environ,
        # The worker uses this run's test database and the test settings (SECRET_KEY etc.).
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": database_url(),
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "DB_POOL": "false",
    }
    command = [sys.executable, "-m", "celery", "-A", "flowviz.celery", "worker", "--pool=solo", "-c", "1"]
    command += ["-Q", queue, "--without-heartbeat", "--without-gossip", "--without-mingle", "-l", "INFO"]
    return subprocess.Popen(
        command, cwd=PROJECT_DIR, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(not os.environ.get("CELERY_BROKER_URL"), reason="needs CELERY_BROKER_URL (a real broker)")
def test_a_real_worker_runs_a_job_to_success_and_the_jobs_endpoint_shows_it(demo, celery_conf, settings):
    # A queue of this test's own, so nothing else on the broker reaches this worker.
    queue = f"trace-test-{uuid.uuid4().hex[:8]}"
    settings.JOBS_QUEUE = settings.REFRESH_QUEUE = queue
    celery_conf(task_always_eager=False, task_default_queue=queue, broker_url=os.environ["CELERY_BROKER_URL"])
    worker = _start_worker(queue)
    try:
        auth = bearer(demo_user(Role.VIEWER))
        client = Client()
        started = client.post("/api/traceability/MIX-BATCH-88/jobs", **auth)
        assert started.status_code == 202
        status_url = started.json()["status_url"]
        deadline = time.monotonic() + 60
        body = client.get(status_url, **auth).json()
        while body["status"] in ("PENDING", "STARTED") and time.monotonic() < deadline:
            time.sleep(0.25)
            body = client.get(status_url, **auth).json()
        assert body["status"] == "SUCCESS", body
        assert body["error"] is None
        assert body["result"] == client.get("/api/traceability/MIX-BATCH-88/graph", **auth).json()
    finally:
        worker.terminate()
        try:
            output, _ = worker.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            output, _ = worker.communicate()
        # The queue was this test's alone: its bookkeeping keys go with it.
        broker = valkey.Valkey.from_url(os.environ["CELERY_BROKER_URL"])
        broker.delete(queue, *broker.keys(f"_kombu.binding*.{queue}"))
        broker.close()
    assert b"lots.compute_genealogy" in output  # the worker, not this process, ran it


def test_tasks_are_django_tasks_that_can_wait_for_the_commit():
    from flowviz import celery_app

    assert compute_genealogy.app is celery_app
    assert callable(compute_genealogy.delay_on_commit)


def test_an_inline_task_on_the_in_memory_broker_logs_no_broker_warning(demo, celery_conf, caplog):
    # Without CELERY_BROKER_URL the settings name kombu's in-memory transport: publishing inline
    # still takes a producer, and an empty URL made kombu warn "No hostname was supplied".
    celery_conf(broker_url=settings.INLINE_BROKER_URL, task_always_eager=True)
    with caplog.at_level(logging.DEBUG):
        genealogy_enqueue(lot_id=Lot.objects.get(lot_code="MIX-BATCH-88").pk)
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert any("succeeded" in r.getMessage() for r in caplog.records)


def _terminate_this_connection() -> None:
    """Kill this process's database session from another one, as a PostgreSQL restart does."""
    import psycopg
    from django.db import connection

    from tests.db_support import conninfo

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    with psycopg.connect(conninfo(connection.settings_dict["NAME"]), autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])


@pytest.mark.django_db(transaction=True)
def test_a_job_whose_database_connection_died_is_retried_on_a_fresh_one_and_succeeds(demo):
    mix_id = str(Lot.objects.get(lot_code="MIX-BATCH-88").pk)
    _terminate_this_connection()
    result = compute_genealogy.apply(args=[mix_id], throw=False)
    assert result.status == "SUCCESS", result.result
    assert result.result == orjson.loads(lot_graph_json(lot_code="MIX-BATCH-88"))
