"""Liveness (/api/health, no I/O) and readiness (/api/health/ready: database, cache, broker)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time

import pytest
from django.conf import settings
from django.test import Client, override_settings

from tests.flowviz.deploy_files import ROOT

CLOSED = "127.0.0.1:1"  # nothing listens on port 1

_REDIS_CACHE_AT_CLOSED_PORT = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": f"redis://{CLOSED}/0",
        "OPTIONS": {
            "REDIS_CLIENT_CLASS": "valkey.client.Valkey",
            "CONNECTION_POOL_CLASS": "valkey.connection.ConnectionPool",
            "SOCKET_CONNECT_TIMEOUT": 0.5,
            "SOCKET_TIMEOUT": 0.5,
        },
    }
}


def _ready(client: Client | None = None):
    response = (client or Client()).get("/api/health/ready")
    return response.status_code, response.json()


@override_settings(CACHES=_REDIS_CACHE_AT_CLOSED_PORT)
def test_liveness_does_no_io():
    # No django_db mark: any database access would raise; the cache points at a closed port.
    response = Client().get("/api/health")
    assert response.status_code == 200
    assert set(response.json()) == {"status", "timestamp"}


def test_liveness_answers_ok_and_the_current_utc_time_ending_in_z():
    from datetime import UTC, datetime, timedelta

    before = datetime.now(UTC)
    response = Client().get("/api/health")
    body = response.json()
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert body["status"] == "ok"
    assert body["timestamp"].endswith("Z")
    answered = datetime.fromisoformat(body["timestamp"])
    assert before <= answered <= before + timedelta(seconds=5)


@pytest.mark.django_db
def test_ready_is_200_when_database_cache_and_broker_answer():
    # Real PostgreSQL, Valkey and broker in the CI service pass; the embedded default otherwise.
    assert _ready() == (200, {"status": "ok", "checks": {"database": "ok", "cache": "ok", "broker": "ok"}})


@pytest.mark.redis
@pytest.mark.django_db
def test_ready_checks_the_real_broker_when_one_is_configured():
    broker = settings.CELERY_BROKER_URL or settings.CACHES["default"]["LOCATION"]
    with override_settings(CELERY_BROKER_URL=broker):
        assert _ready() == (
            200,
            {"status": "ok", "checks": {"database": "ok", "cache": "ok", "broker": "ok"}},
        )


@pytest.mark.django_db
@override_settings(CELERY_BROKER_URL="", CELERY_TASK_ALWAYS_EAGER=True)
def test_inline_tasks_have_no_broker_to_reach_and_report_ok():
    status, body = _ready()
    assert status == 200
    assert body["checks"]["broker"] == "ok"


@pytest.mark.django_db
@override_settings(CACHES=_REDIS_CACHE_AT_CLOSED_PORT)
def test_ready_is_503_naming_the_cache_when_its_port_is_closed():
    status, body = _ready()
    assert status == 503
    assert body["status"] == "unavailable"
    assert body["checks"]["cache"].startswith("error: ")
    assert body["checks"]["database"] == "ok"


@pytest.mark.django_db
@override_settings(CELERY_BROKER_URL=f"redis://{CLOSED}/0")
def test_ready_is_503_naming_the_broker_when_its_port_is_closed():
    status, body = _ready()
    assert status == 503
    assert body["status"] == "unavailable"
    assert body["checks"]["broker"].startswith("error: ")
    assert body["checks"]["database"] == body["checks"]["cache"] == "ok"
    # The public body carries a short reason, not the address or driver message.
    assert "127.0.0.1" not in json.dumps(body)


@pytest.mark.django_db
@override_settings(CELERY_BROKER_URL=f"amqp://guest:guest@{CLOSED}//")
def test_ready_checks_a_non_redis_broker_through_kombu():
    status, body = _ready()
    assert status == 503
    assert body["checks"]["broker"] != "ok"


@pytest.fixture
def silent_server():
    """A TCP server that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    for conn in accepted:
        conn.close()
    listener.close()


@pytest.mark.django_db
def test_ready_gives_up_on_a_silent_service_within_the_timeout(silent_server):
    with override_settings(CELERY_BROKER_URL=f"redis://127.0.0.1:{silent_server}/0", READINESS_TIMEOUT=0.5):
        started = time.monotonic()
        status, body = _ready()
        elapsed = time.monotonic() - started
    assert status == 503
    assert body["checks"]["broker"] in {"timeout", "error: TimeoutError"}
    assert elapsed < 2.0


def _ready_in_subprocess(**env: str) -> tuple[int, dict]:
    script = (
        "import json, django; django.setup();"
        "from django.test.utils import setup_test_environment; setup_test_environment();"
        "from django.test import Client; r = Client().get('/api/health/ready');"
        "print(json.dumps([r.status_code, r.json()]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "READINESS_TIMEOUT": "1", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    status, body = json.loads(result.stdout.strip().splitlines()[-1])
    return status, body


@pytest.mark.parametrize("use_pool", ["true", "false"])
def test_ready_is_503_naming_the_database_when_its_port_is_closed(use_pool):
    status, body = _ready_in_subprocess(
        DATABASE_URL=f"postgres://postgres@{CLOSED}/flowviz", DB_POOL=use_pool, DB_POOL_TIMEOUT="1"
    )
    assert status == 503
    assert body["status"] == "unavailable"
    assert body["checks"]["database"] in {"timeout", "error: OperationalError"}
    assert body["checks"]["cache"] == body["checks"]["broker"] == "ok"
