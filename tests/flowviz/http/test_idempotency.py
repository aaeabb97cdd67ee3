"""Idempotent writes (issue 14): `Idempotency-Key` on the lot, link, QC decision and flow writes,
with Stripe's semantics, stored in PostgreSQL in the write's own transaction."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal
from io import StringIO

import psycopg
import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.utils import timezone

from accounts.models import User
from accounts.roles import Role
from flowviz.http.idempotency import HEADER, IN_PROGRESS, KEY_REUSED
from flowviz.http.models import IdempotencyKey
from flowviz.http.tasks import idempotency_keys_purge
from lots import services
from lots.models import Lot, LotGenealogy
from quality.models import QcDecision
from tests.api_support import bearer, demo_user, error_body, post_json
from tests.db_support import database_url
from tests.flowviz.production.flow_support import flow_with_draft

FG_ID = "33333333-3333-3333-3333-333333333301"


def _keyed(key: str) -> dict[str, str]:
    return {f"HTTP_{HEADER.upper().replace('-', '_')}": key}


def _post(user: User, url: str, body: dict, key: str):
    return post_json(Client(raise_request_exception=False), url, body, user, **_keyed(key))


@pytest.fixture
def operator(demo):
    return demo_user(Role.OPERATOR)


def test_a_retry_with_the_same_key_replays_the_first_answer_and_writes_once(operator):
    body = {"lot_code": "IDEM-1", "lot_type": "RAW", "weight_kg": "12.50"}
    first = _post(operator, "/api/lots", body, "key-1")
    retry = _post(operator, "/api/lots", body, "key-1")
    assert (first.status_code, retry.status_code) == (201, 201)
    assert retry.content == first.content
    assert retry["Content-Type"] == first["Content-Type"]
    assert retry["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first
    assert Lot.objects.filter(lot_code="IDEM-1").count() == 1


def test_without_a_key_a_retry_is_a_new_request(operator):
    body = {"lot_code": "IDEM-2"}
    assert post_json(Client(), "/api/lots", body, operator).status_code == 201
    assert post_json(Client(), "/api/lots", body, operator).status_code == 409


def test_the_same_key_with_another_body_is_422_and_writes_nothing(operator):
    assert _post(operator, "/api/lots", {"lot_code": "IDEM-3"}, "key-3").status_code == 201
    response = _post(operator, "/api/lots", {"lot_code": "IDEM-4"}, "key-3")
    assert response.status_code == 422
    assert response.json()["detail"] == [
        {"type": "idempotency_key_reused", "loc": ["header", HEADER], "msg": KEY_REUSED}
    ]
    assert response.json()["error"] == f"{HEADER}: {KEY_REUSED}"
    assert not Lot.objects.filter(lot_code="IDEM-4").exists()


def test_the_same_key_on_another_path_is_422(operator):
    assert _post(operator, "/api/lots", {"lot_code": "IDEM-5"}, "key-5").status_code == 201
    body = {"parents": [{"lot_code": "RAW-SPICE-001", "quantity_used_kg": "1"}]}
    assert _post(operator, "/api/lots/IDEM-5/parents", body, "key-5").status_code == 422
    assert not LotGenealogy.objects.filter(child_lot__lot_code="IDEM-5").exists()


def test_a_refusal_of_the_service_is_stored_and_replayed_like_stripe_does(operator):
    # RAW-SPICE-001 weighs 50 kg, 40 of them drawn: 20 more is refused (409)...
    body = {"parents": [{"lot_code": "RAW-SPICE-001", "quantity_used_kg": "20"}]}
    Lot.objects.create(lot_code="IDEM-6")
    first = _post(operator, "/api/lots/IDEM-6/parents", body, "key-6")
    assert first.status_code == 409
    # ...and stays the answer to that request, even once the same request would succeed.
    Lot.objects.filter(lot_code="RAW-SPICE-001").update(weight_kg=Decimal("500"))
    retry = _post(operator, "/api/lots/IDEM-6/parents", body, "key-6")
    assert (retry.status_code, retry.content) == (409, first.content)
    assert retry["Idempotent-Replayed"] == "true"
    assert not LotGenealogy.objects.filter(child_lot__lot_code="IDEM-6").exists()


def test_a_request_refused_before_the_handler_stores_nothing(operator):
    # Stripe stores nothing when the parameters fail validation: the key stays free.
    assert _post(operator, "/api/lots", {"lot_code": ""}, "key-7").status_code == 422
    assert _post(operator, "/api/lots", {"lot_code": "IDEM-7"}, "key-7").status_code == 201
    assert not IdempotencyKey.objects.filter(key="key-7", response_status=422).exists()


def test_a_server_error_rolls_the_key_back_with_the_write_and_a_retry_runs_again(operator):
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("ALTER TABLE lots ADD CONSTRAINT lots_test_refuse CHECK (lot_code <> 'IDEM-8')")
    assert _post(operator, "/api/lots", {"lot_code": "IDEM-8"}, "key-8").status_code == 500
    assert not IdempotencyKey.objects.filter(key="key-8").exists()
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE lots DROP CONSTRAINT lots_test_refuse")
    assert _post(operator, "/api/lots", {"lot_code": "IDEM-8"}, "key-8").status_code == 201


def test_keys_are_per_user(operator):
    other = demo_user(Role.MANAGER)
    assert _post(operator, "/api/lots", {"lot_code": "IDEM-9"}, "shared-key").status_code == 201
    # The same key from another user is another key: no 422, no replay of the first user's lot.
    response = _post(other, "/api/lots", {"lot_code": "IDEM-10"}, "shared-key")
    assert response.status_code == 201 and "Idempotent-Replayed" not in response
    assert response.json()["lot_code"] == "IDEM-10"


def test_a_qc_decision_is_recorded_once_for_retries(demo):
    auditor = demo_user(Role.AUDITOR)
    body = {"lot_id": FG_ID, "decision": "PASS", "notes": "retried from a tablet"}
    answers = [_post(auditor, "/api/qc-decisions", body, "qc-key") for _ in range(3)]
    assert {(a.status_code, a.content) for a in answers} == {(201, answers[0].content)}
    assert QcDecision.objects.filter(lot_id=FG_ID, notes="retried from a tablet").count() == 1


def test_a_retried_flow_delete_replays_its_204(demo):
    manager = demo_user(Role.MANAGER)
    flow_id = flow_with_draft(actor=manager)
    client = Client()
    first = client.delete(f"/api/flows/{flow_id}", **bearer(manager), **_keyed("flow-del"))
    retry = client.delete(f"/api/flows/{flow_id}", **bearer(manager), **_keyed("flow-del"))
    assert (first.status_code, retry.status_code, retry.content) == (204, 204, b"")
    # Without the key the retry is a new request: the flow is gone.
    assert client.delete(f"/api/flows/{flow_id}", **bearer(manager)).status_code == 404


def test_a_retried_flow_graph_update_replays_its_answer(demo):
    manager = demo_user(Role.MANAGER)
    flow_id = flow_with_draft(actor=manager)
    url = f"/api/flows/{flow_id}/versions/1"
    body = json.dumps({"graph_schema": {"nodes": [], "edges": []}})
    answers = [
        Client().put(url, body, content_type="application/json", **bearer(manager), **_keyed("put-key"))
        for _ in range(2)
    ]
    assert [a.status_code for a in answers] == [200, 200]
    assert answers[1].content == answers[0].content and answers[1]["Idempotent-Replayed"] == "true"


@pytest.mark.parametrize("key", ["", "x" * 256, "with space", "naïve"])
def test_a_malformed_key_is_422(operator, key):
    response = _post(operator, "/api/lots", {"lot_code": "IDEM-11"}, key)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["header", HEADER]
    assert not Lot.objects.filter(lot_code="IDEM-11").exists()


def test_an_expired_key_is_free_again(operator, settings):
    assert _post(operator, "/api/lots", {"lot_code": "IDEM-12"}, "old-key").status_code == 201
    IdempotencyKey.objects.filter(key="old-key").update(created_at=timezone.now() - timedelta(hours=25))
    response = _post(operator, "/api/lots", {"lot_code": "IDEM-13"}, "old-key")
    assert response.status_code == 201 and "Idempotent-Replayed" not in response


def _stored(key: str, *, hours_old: float) -> None:
    row = IdempotencyKey.objects.create(
        user=User.objects.first(), key=key, fingerprint="f", response_status=201, response_body=b"{}"
    )
    IdempotencyKey.objects.filter(pk=row.pk).update(created_at=timezone.now() - timedelta(hours=hours_old))


def test_the_purge_command_deletes_expired_keys_only(demo):
    _stored("expired", hours_old=24.5)
    _stored("fresh", hours_old=23)
    out = StringIO()
    call_command("idempotency_keys_purge", stdout=out)
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["fresh"]
    assert "Deleted 1 expired idempotency key(s)." in out.getvalue()


def test_the_beat_task_deletes_expired_keys(demo, settings):
    from flowviz.celery import app

    assert settings.CELERY_BEAT_SCHEDULE["idempotency-keys-purge"]["task"] == idempotency_keys_purge.name
    assert idempotency_keys_purge.name in app.tasks
    _stored("expired", hours_old=30)
    assert idempotency_keys_purge.apply().get() == 1
    assert not IdempotencyKey.objects.exists()


def test_openapi_documents_the_header_on_the_idempotent_writes_only():
    spec = Client().get("/api/openapi.json").json()
    keyed = {
        (method, path)
        for path, operations in spec["paths"].items()
        for method, operation in operations.items()
        if any(p["name"] == HEADER and p["in"] == "header" for p in operation.get("parameters", []))
    }
    assert keyed == {
        ("post", "/api/lots"),
        ("post", "/api/lots/{lot_code}/parents"),
        ("post", "/api/qc-decisions"),
        ("post", "/api/flows"),
        ("delete", "/api/flows/{flow_id}"),
        ("put", "/api/flows/{flow_id}/versions/{version_num}"),
        ("post", "/api/flows/{flow_id}/versions/{version_num}/publish"),
        ("post", "/api/flows/{flow_id}/versions/{version_num}/fork"),
        ("post", "/api/flows/{flow_id}/versions/{version_num}/archive"),
    }
    for method, path in keyed:
        assert {"409", "422"} <= set(spec["paths"][path][method]["responses"]), (method, path)


# --- Simultaneous requests with one key, on real PostgreSQL ------------------------------------


@pytest.mark.django_db(transaction=True)
def test_simultaneous_requests_with_one_key_write_once_and_all_get_the_first_answer(settings, monkeypatch):
    settings.THROTTLE_ENABLED = False
    # A slow write (0.3 s inside its transaction), so the other seven surely arrive during it.
    slow_create = services.lot_create

    def lot_create(**fields):
        time.sleep(0.3)
        return slow_create(**fields)

    monkeypatch.setattr(services, "lot_create", lot_create)
    headers = {**bearer(User.objects.create_user("op@flowviz.com", role=Role.OPERATOR)), **_keyed("race")}
    barrier = threading.Barrier(8)

    def send(_):
        try:
            client = Client()
            barrier.wait(timeout=30)
            response = client.post(
                "/api/lots", '{"lot_code": "RACE-IDEM"}', content_type="application/json", **headers
            )
            return response.status_code, response.content, response.has_header("Idempotent-Replayed")
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(send, range(8)))
    assert Counter(status for status, _, _ in answers) == {201: 8}
    assert len({content for _, content, _ in answers}) == 1
    assert sorted(replayed for _, _, replayed in answers) == [False] + [True] * 7
    assert Lot.objects.filter(lot_code="RACE-IDEM").count() == 1
    assert IdempotencyKey.objects.filter(key="race").count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_request_whose_key_is_held_longer_than_the_wait_gets_409_in_progress(settings):
    settings.THROTTLE_ENABLED = False
    settings.IDEMPOTENCY_WAIT_SECONDS = 0.3
    user = User.objects.create_user("op2@flowviz.com", role=Role.OPERATOR)
    # Another transaction (another server process, say) has claimed the key and not finished.
    with psycopg.connect(database_url(connection.settings_dict["NAME"])) as other:
        other.execute(
            "INSERT INTO idempotency_keys (user_id, key, fingerprint, created_at)"
            " VALUES (%s, 'slow', 'f', now())",
            [user.pk],
        )
        response = _post(user, "/api/lots", {"lot_code": "SLOW-1"}, "slow")
        other.rollback()
    assert response.status_code == 409
    assert response.json() == error_body(IN_PROGRESS)
    assert not Lot.objects.filter(lot_code="SLOW-1").exists()
    # Once the other request is gone, a retry runs.
    assert _post(user, "/api/lots", {"lot_code": "SLOW-1"}, "slow").status_code == 201


def _asgi_post(path: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict, bytes]:
    """One POST through flowviz.asgi.application, as uvicorn would send it."""
    import asyncio

    from flowviz.asgi import application

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        + [(b"host", b"127.0.0.1"), (b"content-type", b"application/json")],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    messages: list[dict] = []

    async def run() -> None:
        sent = False

        async def receive():
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            await asyncio.sleep(3600)

        async def send(message):
            messages.append(message)

        await asyncio.wait_for(application(scope, receive, send), timeout=60)

    asyncio.run(run())
    start = next(m for m in messages if m["type"] == "http.response.start")
    content = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
    return start["status"], {k.decode().lower(): v.decode() for k, v in start["headers"]}, content


@pytest.mark.django_db(transaction=True)
def test_a_retry_through_the_asgi_application_replays_the_first_answer(settings):
    # The real server's road: the write, the key and the stored answer in one transaction of
    # one worker thread, the handler's sync_to_async calls run back in it.
    settings.THROTTLE_ENABLED = False
    user = User.objects.create_user("asgi@flowviz.com", role=Role.OPERATOR)
    headers = {"authorization": bearer(user)["HTTP_AUTHORIZATION"], HEADER: "asgi-key"}
    first = _asgi_post("/api/lots", b'{"lot_code": "ASGI-IDEM"}', headers)
    retry = _asgi_post("/api/lots", b'{"lot_code": "ASGI-IDEM"}', headers)
    assert (first[0], retry[0]) == (201, 201)
    assert retry[2] == first[2] and retry[1]["idempotent-replayed"] == "true"
    assert Lot.objects.filter(lot_code="ASGI-IDEM").count() == 1
    assert IdempotencyKey.objects.get(key="asgi-key").response_status == 201


@pytest.mark.django_db(transaction=True)
def test_through_the_asgi_application_a_failed_write_leaves_no_key(settings):
    # The key is claimed on the write's own connection and transaction: rolled back with it.
    settings.THROTTLE_ENABLED = False
    user = User.objects.create_user("asgi2@flowviz.com", role=Role.OPERATOR)
    headers = {"authorization": bearer(user)["HTTP_AUTHORIZATION"], HEADER: "asgi-500"}
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE lots ADD CONSTRAINT lots_test_refuse CHECK (lot_code <> 'ASGI-500')")
    try:
        status, _, _ = _asgi_post("/api/lots", b'{"lot_code": "ASGI-500"}', headers)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE lots DROP CONSTRAINT lots_test_refuse")
    assert status == 500
    assert not IdempotencyKey.objects.filter(key="asgi-500").exists()
