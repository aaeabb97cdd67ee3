"""The API's authentication on the event loop's own pool (flowviz/ops/async_db.py).

Each test serves several requests in one event loop, as a server worker does, against data
committed to the real database (the pool's connections are not the test's transaction).
"""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import sync_to_async
from django.db import connection

from accounts.models import User
from accounts.roles import Role
from accounts.tokens import token_issue
from flowviz.http import asgi as api_asgi
from flowviz.ops import async_db
from flowviz.ops.breakers import database_breaker
from tests.api_support import asgi_request_async, demo_user

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def event_loop_auth(settings, demo):
    settings.DB_ASYNC_AUTH = True
    yield
    asyncio.run(async_db.pool_close())


def _bearer(user: User) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_issue(user_id=str(user.pk), role=user.role)}"}


def _in_thread(fn):
    """A coroutine function running `fn` in a worker thread, its connection closed after (a
    connection left open there would outlive the test)."""

    def run():
        try:
            fn()
        finally:
            connection.close()

    return sync_to_async(run)


def _serve(*steps):
    """Run the coroutine functions one after another in one event loop; their results."""

    async def run():
        results = [await step() for step in steps]
        await async_db.pool_close()
        return results

    return asyncio.run(run())


@pytest.fixture
def submits(monkeypatch) -> list[str]:
    """The calls the API handler sent to a request's worker thread, by function name."""
    seen: list[str] = []
    submit = api_asgi._RequestExecutor.submit

    def counting(self, fn, /, *args, **kwargs):
        seen.append(getattr(fn, "__qualname__", repr(fn)))
        return submit(self, fn, *args, **kwargs)

    monkeypatch.setattr(api_asgi._RequestExecutor, "submit", counting)
    return seen


def test_the_pool_belongs_to_the_loop_of_the_first_api_request(event_loop_auth):
    headers = _bearer(demo_user(Role.VIEWER))

    async def request_then_ask():
        await asgi_request_async("/api/health")
        return async_db.available()

    async def other_loop():
        # asgiref's async_to_sync and asyncio.run make loops of their own: they keep the ORM.
        return await asyncio.to_thread(lambda: asyncio.run(asgi_available()))

    async def asgi_available():
        await asgi_request_async("/api/lots", headers=headers)
        return async_db.available()

    assert _serve(request_then_ask, other_loop) == [True, False]


def test_an_idempotent_write_first_leaves_the_pool_to_the_server_loop(event_loop_auth):
    import json

    headers = {
        **_bearer(demo_user(Role.OPERATOR)),
        "Content-Type": "application/json",
        "Idempotency-Key": "first-request-of-the-worker",
    }
    lot = json.dumps({"lot_code": "RAW-IDEMPOTENT-1", "lot_type": "RAW"}).encode()

    async def write_then_ask():
        status, _, _ = await asgi_request_async("/api/lots", method="POST", headers=headers, body=lot)
        return status, async_db.available()

    [(status, available)] = _serve(write_then_ask)
    assert status == 201
    assert available  # the write's own loop (async_to_sync) did not take the pool


def test_requests_arriving_together_at_the_start_share_one_pool(event_loop_auth, monkeypatch):
    headers = _bearer(demo_user(Role.VIEWER))
    pools = []
    pool_get = async_db._pool_get

    async def recording_pool_get():
        pools.append(await pool_get())
        return pools[-1]

    monkeypatch.setattr(async_db, "_pool_get", recording_pool_get)

    async def together():
        reads = (asgi_request_async("/api/lots", headers=headers) for _ in range(5))
        return [status for status, _, _ in await asyncio.gather(*reads)]

    [statuses] = _serve(together)
    assert statuses == [200] * 5
    assert len(pools) == 5
    assert len({id(pool) for pool in pools}) == 1


def test_a_warm_cached_read_authenticates_without_a_worker_thread(event_loop_auth, submits):
    headers = _bearer(demo_user(Role.VIEWER))

    async def read():
        return await asgi_request_async("/api/traceability/MIX-BATCH-88", headers=headers)

    async def mark():
        submits.clear()

    first, _, second = _serve(read, mark, read)
    assert first[0] == second[0] == 200
    assert second[2] == first[2]
    assert submits == []


def _lots_read_twice(submits: list[str]) -> int:
    """GET /api/lots twice in one serving loop, `submits` cleared in between (it then holds what
    the second request sent to its worker thread); the second request's status."""
    headers = _bearer(demo_user(Role.VIEWER))

    async def read():
        return (await asgi_request_async("/api/lots", headers=headers))[0]

    async def mark():
        submits.clear()

    _, _, status = _serve(read, mark, read)
    return status


def test_a_database_read_makes_one_trip_to_the_worker_thread_and_none_to_close(event_loop_auth, submits):
    # The handler's query runs in the request's worker thread, which hands its connection back
    # at once (flowviz.http.asgi.db_call): closing the response needs no second trip.
    assert _lots_read_twice(submits) == 200
    assert len(submits) == 1


def test_without_the_pool_a_request_keeps_djangos_closing_trip_to_its_thread(
    event_loop_auth, submits, monkeypatch
):
    # DB_POOL=false: the thread's persistent connection stays with it, and request_finished must
    # run there to check it (CONN_MAX_AGE, a broken connection).
    monkeypatch.delitem(connection.settings_dict["OPTIONS"], "pool")
    assert _lots_read_twice(submits) == 200
    assert len(submits) == 2


def test_a_deactivated_user_is_refused_at_once_on_the_event_loop_path(event_loop_auth):
    user = demo_user(Role.VIEWER)
    headers = _bearer(user)

    async def read():
        return (await asgi_request_async("/api/lots", headers=headers))[0]

    deactivate = _in_thread(lambda: User.objects.filter(pk=user.pk).update(is_active=False))

    before, _, after = _serve(read, deactivate, read)
    assert (before, after) == (200, 401)


def test_a_demoted_user_loses_a_role_at_once_on_the_event_loop_path(event_loop_auth):
    user = demo_user(Role.AUDITOR)
    headers = _bearer(user)

    async def recall():
        return (await asgi_request_async("/api/recall/RAW-BEEF-001", headers=headers))[0]

    demote = _in_thread(lambda: User.objects.filter(pk=user.pk).update(role=Role.VIEWER))

    before, _, after = _serve(recall, demote, recall)
    assert (before, after) == (200, 403)


def test_a_write_authenticated_on_the_event_loop_path_is_recorded_by_the_service(event_loop_auth):
    import json

    from lots.models import Lot

    user = demo_user(Role.OPERATOR)
    headers = {**_bearer(user), "Content-Type": "application/json"}
    lot = {"lot_code": "RAW-ASYNC-1", "lot_type": "RAW", "weight_kg": "12.50"}

    async def write():
        payload = json.dumps(lot).encode()
        return await asgi_request_async("/api/lots", method="POST", headers=headers, body=payload)

    [(status, _, body)] = _serve(write)
    assert status == 201, body
    assert str(Lot.objects.get(lot_code="RAW-ASYNC-1").weight_kg) == "12.50"


def test_with_the_database_breaker_open_the_event_loop_path_answers_503(event_loop_auth):
    headers = _bearer(demo_user(Role.VIEWER))

    async def trip():
        database_breaker.failed("test: the database is down")

    async def read():
        return await asgi_request_async("/api/lots", headers=headers)

    _, (status, answer_headers, body) = _serve(trip, read)
    assert status == 503
    assert "retry-after" in answer_headers
    assert b'"detail"' in body and b'"error"' in body
