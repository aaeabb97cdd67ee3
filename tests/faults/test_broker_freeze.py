"""Issue 14, fault 3 with the Celery broker frozen (SIGSTOP): writes keep their usual latency
(the after-commit publish has a socket timeout, then the broker breaker skips it) and a job
start answers 503 at once instead of hanging."""

from __future__ import annotations

import statistics
import threading
import time

import pytest
from django.test import Client
from django_celery_results.models import TaskResult

from accounts.roles import Role
from tests.api_support import bearer, demo_user, post_json

pytestmark = pytest.mark.django_db

# Without a socket timeout a publish waits for the whole freeze: the freeze ends by itself
# after this long, so such a test fails instead of hanging.
FREEZE_LIMIT_SECONDS = 15


class _Freeze:
    def __init__(self, server):
        self.server = server
        self.timer = threading.Timer(FREEZE_LIMIT_SECONDS, self._thaw)

    def _thaw(self) -> None:
        if self.server.frozen:
            self.server.thaw()

    def __enter__(self):
        self.server.freeze()
        self.timer.start()
        return self

    def __exit__(self, *exc) -> None:
        self.timer.cancel()
        self._thaw()


def _timed_lot_create(client: Client, code: str, capture) -> tuple[int, float]:
    started = time.monotonic()
    # The request and its after-commit work (invalidation, publish of the refresh), timed together.
    with capture(execute=True):
        response = post_json(
            client,
            "/api/lots",
            {"lot_code": code, "parents": [{"lot_code": "MIX-BATCH-88"}]},
            demo_user(Role.OPERATOR),
        )
    return response.status_code, time.monotonic() - started


def test_writes_keep_their_latency_while_the_broker_is_frozen(
    demo, broker_server, django_capture_on_commit_callbacks
):
    client = Client()
    # A write before the freeze: the process holds a live broker connection, as in production.
    assert _timed_lot_create(client, "FG-BEFORE-FREEZE", django_capture_on_commit_callbacks)[0] == 201
    with _Freeze(broker_server):
        results = [
            _timed_lot_create(client, f"FG-BROKER-FROZEN-{i}", django_capture_on_commit_callbacks)
            for i in range(8)
        ]
    assert [status for status, _ in results] == [201] * 8
    latencies = [seconds for _, seconds in results]
    # One write waits for the broker's socket timeout; the breaker spares the others.
    assert statistics.median(latencies) < 0.3, latencies
    assert max(latencies) < 3.0, latencies


def test_a_job_start_answers_503_at_once_while_the_broker_is_frozen(demo, broker_server):
    client, auth = Client(), bearer(demo_user(Role.VIEWER))
    assert client.post("/api/traceability/MIX-BATCH-88/jobs", **auth).status_code == 202
    with _Freeze(broker_server):
        timings = []
        for _ in range(3):
            started = time.monotonic()
            response = client.post("/api/traceability/MIX-BATCH-88/jobs", **auth)
            timings.append((response.status_code, time.monotonic() - started))
    assert [status for status, _ in timings] == [503] * 3
    assert timings[0][1] < 3.0, timings
    assert max(seconds for _, seconds in timings[1:]) < 0.3, timings
    assert TaskResult.objects.count() == 1  # the job accepted before the freeze, nothing else
