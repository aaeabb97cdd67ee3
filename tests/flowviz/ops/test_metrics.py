"""GET /metrics: Prometheus text, request metrics by route, pool gauges, business metrics, workers."""

from __future__ import annotations

import concurrent.futures
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid

import pytest
from django.db import connection
from django.test import Client, override_settings
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.parser import text_string_to_metric_families

from tests.flowviz.deploy_files import ROOT


def _samples(exposition: str) -> dict[tuple[str, tuple], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
    }


def _scrape(client: Client | None = None) -> dict[tuple[str, tuple], float]:
    response = (client or Client()).get("/metrics")
    assert response.status_code == 200
    return _samples(response.content.decode())


def _value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_is_prometheus_text_format():
    response = Client().get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"] == CONTENT_TYPE_LATEST
    assert response["Content-Type"].startswith("text/plain; version=")
    assert "# TYPE flowviz_http_requests_total counter" in response.content.decode()


def test_requests_are_counted_by_method_route_and_status():
    client = Client()
    before = _scrape(client)
    for _ in range(3):
        assert client.get("/api/health").status_code == 200
    after = _scrape(client)
    labels = {"method": "GET", "route": "/api/health", "status": "200"}
    assert (
        _value(after, "flowviz_http_requests_total", **labels)
        - _value(before, "flowviz_http_requests_total", **labels)
        == 3
    )
    latency = {"method": "GET", "route": "/api/health"}
    assert (
        _value(after, "flowviz_http_request_duration_seconds_count", **latency)
        - _value(before, "flowviz_http_request_duration_seconds_count", **latency)
        == 3
    )


@pytest.mark.django_db
def test_requests_are_labelled_by_route_pattern_not_by_raw_path():
    client = Client()
    first, second = uuid.uuid4(), uuid.uuid4()
    for object_id in (first, second):
        client.get(f"/admin/lots/lot/{object_id}/change/")  # redirects to the login page
    exposition = client.get("/metrics").content.decode()
    assert str(first) not in exposition and str(second) not in exposition
    route = "/admin/lots/lot/<path:object_id>/change/"
    assert (
        _value(_samples(exposition), "flowviz_http_requests_total", method="GET", route=route, status="302")
        >= 2
    )


def test_unmatched_paths_share_one_label():
    client = Client()
    probe = f"/wp-login-{uuid.uuid4().hex}.php"
    assert client.get(probe).status_code == 404
    exposition = client.get("/metrics").content.decode()
    assert probe not in exposition
    assert 'route="<unmatched>",status="404"' in exposition


@pytest.mark.django_db
def test_business_metrics_move_after_a_lot_and_a_qc_decision_are_posted(
    demo, django_capture_on_commit_callbacks
):
    from tests.api_support import demo_user, post_json

    client = Client()
    operator = demo_user("OPERATOR")
    before = _scrape(client)
    with django_capture_on_commit_callbacks(execute=True):
        created = post_json(
            client, "/api/lots", {"lot_code": f"MIX-{uuid.uuid4().hex[:8]}", "lot_type": "MIX"}, operator
        )
    assert created.status_code == 201, created.content
    with django_capture_on_commit_callbacks(execute=True):
        decided = post_json(
            client,
            "/api/qc-decisions",
            {"lot_id": created.json()["id"], "decision": "HOLD", "notes": "metrics check: core temp high"},
            operator,
        )
    assert decided.status_code == 201, decided.content
    after = _scrape(client)

    assert (
        _value(after, "flowviz_lots_registered_total", lot_type="MIX")
        - _value(before, "flowviz_lots_registered_total", lot_type="MIX")
        == 1
    )
    assert (
        _value(after, "flowviz_qc_decisions_total", decision="HOLD")
        - _value(before, "flowviz_qc_decisions_total", decision="HOLD")
        == 1
    )


@pytest.mark.django_db
def test_database_pool_gauges_show_this_process_pool():
    from django.conf import settings

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    samples = _scrape()
    pool_options = settings.DATABASES["default"]["OPTIONS"].get("pool")
    if not pool_options:
        # DB_POOL=false (behind PgBouncer): no Django pool, so no pool series at all.
        assert not [key for key in samples if key[0].startswith("flowviz_db_pool")]
        return
    assert (
        _value(samples, "flowviz_db_pool_connections", alias="default", state="max")
        == pool_options["max_size"]
    )
    assert _value(samples, "flowviz_db_pool_connections", alias="default", state="open") >= 1
    assert ("flowviz_db_pool_requests_waiting", (("alias", "default"),)) in samples


@override_settings(METRICS_ALLOWED_IPS=["10.0.0.0/8", "192.0.2.7"])
def test_metrics_outside_the_allow_list_is_forbidden():
    assert Client(REMOTE_ADDR="203.0.113.9").get("/metrics").status_code == 403
    assert Client(REMOTE_ADDR="10.4.5.6").get("/metrics").status_code == 200
    assert Client(REMOTE_ADDR="192.0.2.7").get("/metrics").status_code == 200


@override_settings(METRICS_ALLOWED_IPS=["10.0.0.0/8"], NUM_PROXIES=1)
def test_metrics_allow_list_uses_the_address_seen_by_the_trusted_proxy():
    via_proxy = Client(REMOTE_ADDR="172.18.0.5")
    assert via_proxy.get("/metrics", HTTP_X_FORWARDED_FOR="10.1.1.1").status_code == 200
    # A client cannot forge its way in by prepending an allowed address.
    assert via_proxy.get("/metrics", HTTP_X_FORWARDED_FOR="10.1.1.1, 198.51.100.3").status_code == 403


@override_settings(METRICS_ALLOWED_IPS=[])
def test_empty_allow_list_leaves_metrics_open():
    assert Client(REMOTE_ADDR="198.51.100.3").get("/metrics").status_code == 200


# --- several gunicorn worker processes ------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read()


@pytest.fixture
def gunicorn_two_workers(tmp_path):
    metrics_dir = tmp_path / "prometheus"
    metrics_dir.mkdir()
    (metrics_dir / "counter_999999.db").write_bytes(b"stale")  # a previous run's file: removed at start
    port = _free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "flowviz.settings",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        "WEB_CONCURRENCY": "2",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "SECURE_SSL_REDIRECT": "false",
        "METRICS_ALLOWED_IPS": "127.0.0.1",
    }
    log = (tmp_path / "gunicorn.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "flowviz/ops/gunicorn_conf.py", "flowviz.asgi:application"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            _get(base + "/api/health")
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail("gunicorn did not start: " + (tmp_path / "gunicorn.log").read_text()[-2000:])
            time.sleep(0.2)
    yield base, metrics_dir
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()


def test_metrics_add_up_requests_served_by_two_gunicorn_workers(gunicorn_two_workers):
    base, metrics_dir = gunicorn_two_workers
    sent = 1  # the readiness poll of the fixture
    with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
        for _ in range(10):
            list(pool.map(lambda _: _get(base + "/api/health"), range(50)))
            sent += 50
            worker_pids = {re.sub(r"\D", "", path.stem) for path in metrics_dir.glob("counter_*.db")}
            if len(worker_pids) >= 2:
                break
    assert len(worker_pids) == 2, "both workers should have served requests"
    assert "999999" not in worker_pids

    labels = {"method": "GET", "route": "/api/health", "status": "200"}
    first = _value(_samples(_get(base + "/metrics").decode()), "flowviz_http_requests_total", **labels)
    second = _value(_samples(_get(base + "/metrics").decode()), "flowviz_http_requests_total", **labels)
    assert first == second == sent
