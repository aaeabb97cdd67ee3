"""Cached traceability: warm reads skip the database, every kind of write retires exactly the
answers it changes (after commit), and a dead Valkey only costs the cache, never the answer."""

from __future__ import annotations

from decimal import Decimal

import orjson
import pytest
from django.db import transaction
from django.test import Client, override_settings
from prometheus_client import REGISTRY

from accounts.roles import Role
from lots import cache as trace_cache
from lots import changes
from lots.models import Lot
from tests.api_support import bearer, demo_user, post_json
from tests.lots.conftest import cache_hit_queries, genealogy

pytestmark = pytest.mark.django_db


def _one_step(lot_code: str) -> dict:
    """The cached one-step answer, parsed."""
    return orjson.loads(trace_cache.one_step_cached(lot_code=lot_code))


def graph(code: str, **params) -> dict:
    import orjson

    return orjson.loads(trace_cache.graph_json_cached(lot_code=code, **params))


def codes(body: dict) -> dict[str, int]:
    return {node["lot"]["lot_code"]: node["depth"] for node in body["nodes"]}


def served_from_cache(django_assert_num_queries, code: str) -> bool:
    """True when the graph of `code` is answered without a query beyond the cache generation's."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        trace_cache.graph_json_cached(lot_code=code)
    others = [query for query in queries if "cache_generation" not in query["sql"]]
    return not others and len(queries) == cache_hit_queries()


def _samples(source: str) -> float:
    return (
        REGISTRY.get_sample_value(
            "flowviz_traceability_query_duration_seconds_count", {"kind": "graph", "source": source}
        )
        or 0.0
    )


def test_second_read_is_served_from_the_cache_and_counted_as_such(demo, django_assert_num_queries):
    before_db, before_cache = _samples("database"), _samples("cache")
    first = trace_cache.graph_json_cached(lot_code="MIX-BATCH-88")
    with django_assert_num_queries(cache_hit_queries()):
        second = trace_cache.graph_json_cached(lot_code="MIX-BATCH-88")
    assert first == second
    assert (_samples("database") - before_db, _samples("cache") - before_cache) == (1, 1)


def test_parameters_are_part_of_the_key(demo):
    assert len(graph("MIX-BATCH-88", direction="up")["nodes"]) == 3
    assert len(graph("MIX-BATCH-88", direction="down")["nodes"]) == 2
    assert len(graph("MIX-BATCH-88", max_depth=0)["nodes"]) == 1


def test_lot_created_with_a_parent_retires_the_graphs_of_the_parent_and_its_ancestors(
    demo, django_capture_on_commit_callbacks
):
    for code in ("RAW-BEEF-001", "MIX-BATCH-88", "FG-DONER-X1"):
        graph(code)
    operator = demo_user(Role.OPERATOR)
    with django_capture_on_commit_callbacks(execute=True):
        response = post_json(
            Client(),
            "/api/lots",
            {"lot_code": "FG-DONER-X2", "lot_type": "FG", "parents": [{"lot_code": "MIX-BATCH-88"}]},
            operator,
        )
    assert response.status_code == 201
    assert codes(graph("RAW-BEEF-001"))["FG-DONER-X2"] == 2
    assert codes(graph("MIX-BATCH-88"))["FG-DONER-X2"] == 1
    assert "FG-DONER-X2" not in codes(graph("FG-DONER-X1"))


def test_link_added_retires_ancestors_and_descendants_but_not_unrelated_lots(
    demo, django_assert_num_queries, django_capture_on_commit_callbacks
):
    genealogy([("NEW-RAW", "NEW-DEB"), ("UNRELATED-A", "UNRELATED-B")])
    for code in ("RAW-BEEF-001", "MIX-BATCH-88", "FG-DONER-X1", "NEW-RAW", "UNRELATED-A"):
        graph(code)
    manager = demo_user(Role.MANAGER)
    with django_capture_on_commit_callbacks(execute=True):
        response = post_json(
            Client(), "/api/lots/MIX-BATCH-88/parents", {"parents": [{"lot_code": "NEW-DEB"}]}, manager
        )
    assert response.status_code == 201
    assert codes(graph("NEW-RAW"))["FG-DONER-X1"] == 3  # ancestor of the new link
    assert codes(graph("FG-DONER-X1"))["NEW-RAW"] == -3  # descendant of the new link
    assert served_from_cache(django_assert_num_queries, "UNRELATED-A")
    assert served_from_cache(django_assert_num_queries, "RAW-BEEF-001")  # a sibling's graph is unchanged


def test_lot_edited_through_the_admin_hook_retires_graphs_and_neighbours_one_step(
    demo, django_capture_on_commit_callbacks
):
    assert _one_step(lot_code="FG-DONER-X1")["parents"][0]["weight_kg"] == "540.00"
    graph("RAW-BEEF-001")
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        mix = Lot.objects.get(lot_code="MIX-BATCH-88")
        mix.weight_kg = Decimal("541.25")
        mix.save()
        changes.lot_edited(lot_id=mix.pk)
    assert _one_step(lot_code="FG-DONER-X1")["parents"][0]["weight_kg"] == "541.25"
    mix_node = next(n for n in graph("RAW-BEEF-001")["nodes"] if n["lot"]["lot_code"] == "MIX-BATCH-88")
    assert mix_node["lot"]["weight_kg"] == "541.25"


def test_renamed_lot_no_longer_answers_under_its_old_code(demo, django_capture_on_commit_callbacks):
    assert trace_cache.graph_json_cached(lot_code="MIX-BATCH-88") is not None
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        mix = Lot.objects.get(lot_code="MIX-BATCH-88")
        mix.lot_code = "MIX-BATCH-88B"
        mix.save()
        changes.lot_edited(lot_id=mix.pk, previous_lot_code="MIX-BATCH-88")
    assert trace_cache.graph_json_cached(lot_code="MIX-BATCH-88") is None
    assert "MIX-BATCH-88B" in codes(graph("FG-DONER-X1"))


def test_nothing_is_invalidated_before_the_commit(demo, django_assert_num_queries):
    graph("MIX-BATCH-88")
    with transaction.atomic():
        changes.genealogy_changed(lot_ids=[Lot.objects.get(lot_code="MIX-BATCH-88").pk])
        # Inside the transaction (and in a rolled-back one) the cached answer still stands.
        assert served_from_cache(django_assert_num_queries, "MIX-BATCH-88")


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_read_never_returns_a_graph_older_than_the_last_committed_write(demo):
    """Write, read, write, read against real Redis and real commits (no test transaction)."""
    operator = demo_user(Role.OPERATOR)
    client = Client()
    auth = bearer(operator)
    expected = {"RAW-BEEF-001", "MIX-BATCH-88", "FG-DONER-X1"}
    for step in range(3):
        body = client.get("/api/traceability/RAW-BEEF-001/graph", **auth).json()
        assert set(codes(body)) == expected
        assert client.get("/api/traceability/RAW-BEEF-001/graph", **auth).json() == body  # now cached
        new_code = f"FG-STEP-{step}"
        response = post_json(
            client, "/api/lots", {"lot_code": new_code, "parents": [{"lot_code": "MIX-BATCH-88"}]}, operator
        )
        assert response.status_code == 201
        expected.add(new_code)
    assert set(codes(client.get("/api/traceability/RAW-BEEF-001/graph", **auth).json())) == expected


_DEAD_VALKEY = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",
        "OPTIONS": {
            "CLIENT_CLASS": "django_redis.client.DefaultClient",
            "REDIS_CLIENT_CLASS": "valkey.client.Valkey",
            "CONNECTION_POOL_CLASS": "valkey.connection.ConnectionPool",
            "SOCKET_CONNECT_TIMEOUT": 0.2,
            "SOCKET_TIMEOUT": 0.2,
        },
    }
}


def test_reads_fall_back_to_the_database_when_valkey_is_down(demo, headers):
    auth = headers()
    with override_settings(CACHES=_DEAD_VALKEY):
        graph_response = Client().get("/api/traceability/MIX-BATCH-88/graph", **auth)
        one_step = Client().get("/api/traceability/MIX-BATCH-88", **auth)
    assert graph_response.status_code == 200
    assert len(graph_response.json()["nodes"]) == 4
    assert one_step.status_code == 200
    assert [lot["lot_code"] for lot in one_step.json()["parents"]] == ["RAW-BEEF-001", "RAW-SPICE-001"]


def test_writes_commit_when_valkey_is_down(demo, django_capture_on_commit_callbacks):
    with override_settings(CACHES=_DEAD_VALKEY), django_capture_on_commit_callbacks(execute=True):
        response = post_json(
            Client(),
            "/api/lots",
            {"lot_code": "FG-NO-CACHE", "parents": [{"lot_code": "MIX-BATCH-88"}]},
            demo_user(Role.OPERATOR),
        )
    assert response.status_code == 201
    assert Lot.objects.filter(lot_code="FG-NO-CACHE").exists()


def test_link_deleted_after_the_hook_retires_the_former_relatives(demo, django_capture_on_commit_callbacks):
    """The admin calls the hook before deleting: the relatives are counted while they still are."""
    from lots.models import LotGenealogy

    assert "FG-DONER-X1" in codes(graph("RAW-BEEF-001"))
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        link = LotGenealogy.objects.get(
            parent_lot__lot_code="MIX-BATCH-88", child_lot__lot_code="FG-DONER-X1"
        )
        changes.genealogy_changed(lot_ids=[link.parent_lot_id, link.child_lot_id], removing=True)
        link.delete()
    assert "FG-DONER-X1" not in codes(graph("RAW-BEEF-001"))
    assert _one_step(lot_code="FG-DONER-X1")["parents"] == []


def test_deleted_lot_no_longer_answers_from_the_cache(django_capture_on_commit_callbacks):
    lots = genealogy([], lot_types={"LONELY": "RAW"})
    assert trace_cache.graph_json_cached(lot_code="LONELY") is not None
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        changes.genealogy_changed(lot_ids=[lots["LONELY"].pk], removing=True)
        lots["LONELY"].delete()
    assert trace_cache.graph_json_cached(lot_code="LONELY") is None


def test_a_lot_created_walks_its_relatives_once_after_the_commit(demo, django_capture_on_commit_callbacks):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from lots.services import ParentRef, lot_create

    parent = ParentRef(loc=("parents", 0), lot_code="MIX-BATCH-88")
    with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks(execute=True):
        lot_create(lot_code="FG-ONE-WALK", actor=demo_user(Role.OPERATOR), parents=[parent])
    walks = [query["sql"] for query in queries.captured_queries if "WITH RECURSIVE" in query["sql"]]
    # The cycle check walks down from the new lot (one query); the cache walks once, after the commit.
    assert sum(1 for sql in walks if "up(lot_id)" in sql) == 1
    assert "FG-ONE-WALK" in codes(graph("RAW-BEEF-001"))


def test_a_lot_registered_without_parents_sets_off_no_cache_or_queue_work(
    demo, django_capture_on_commit_callbacks, monkeypatch
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from lots.services import lot_create

    queued = []
    monkeypatch.setattr(changes, "genealogy_refresh_enqueue_one", lambda **kwargs: queued.append(kwargs))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        lot_create(lot_code="RAW-ALONE", actor=demo_user(Role.OPERATOR))
    with CaptureQueriesContext(connection) as queries:
        for callback in callbacks:
            callback()
    # No relatives: no cached answer can depend on the lot, nothing to walk, retire or warm.
    assert queries.captured_queries == [] and queued == []


def test_a_write_queues_a_refresh_only_for_a_graph_somebody_has_read(
    demo, django_capture_on_commit_callbacks, monkeypatch
):
    queued = []
    monkeypatch.setattr(changes, "genealogy_refresh_enqueue_one", lambda **kwargs: queued.append(kwargs))
    with django_capture_on_commit_callbacks(execute=True):
        _decide("MIX-BATCH-88", "PASS")
    assert queued == []  # its graph was never read: it is computed at its first read instead
    graph("MIX-BATCH-88")
    with django_capture_on_commit_callbacks(execute=True):
        _decide("MIX-BATCH-88", "PASS")
    mix_id = Lot.objects.get(lot_code="MIX-BATCH-88").pk
    assert queued == [{"lot_id": mix_id}]


def test_a_refresh_after_a_write_stores_no_task_result(demo, django_capture_on_commit_callbacks):
    from django_celery_results.models import TaskResult

    graph("MIX-BATCH-88")
    with django_capture_on_commit_callbacks(execute=True):
        _decide("MIX-BATCH-88", "PASS")
    assert "MIX-BATCH-88" in codes(graph("MIX-BATCH-88"))
    assert not TaskResult.objects.exists()


# --- QC state in cached graphs (issue 15) --------------------------------------------------


def _qc(body: dict) -> dict[str, tuple]:
    return {node["lot"]["lot_code"]: (node["qc_status"], node["held_by"]) for node in body["nodes"]}


def _decide(code: str, decision: str) -> None:
    body = {"lot_id": str(Lot.objects.get(lot_code=code).pk), "decision": decision}
    if decision != "PASS":
        body["notes"] = "Listeria on the supplier's line"
    response = post_json(Client(), "/api/qc-decisions", body, demo_user(Role.AUDITOR))
    assert response.status_code == 201, response.content


def test_a_hold_and_its_release_show_in_every_cached_graph_that_holds_a_descendant(
    demo, django_capture_on_commit_callbacks
):
    # OTHER is a co-ancestor of MIX unrelated to RAW: its graph shows MIX, not RAW.
    genealogy([("RAW", "MIX"), ("OTHER", "MIX"), ("MIX", "FG")])
    for code in ("RAW", "OTHER", "MIX", "FG"):
        graph(code)
    with django_capture_on_commit_callbacks(execute=True):
        _decide("RAW", "HOLD")
    assert _qc(graph("OTHER")) == {"OTHER": (None, []), "MIX": (None, ["RAW"]), "FG": (None, ["RAW"])}
    assert _qc(graph("FG"))["RAW"] == ("HOLD", [])
    assert _qc(graph("MIX", direction="down")) == {"MIX": (None, ["RAW"]), "FG": (None, ["RAW"])}
    with django_capture_on_commit_callbacks(execute=True):
        _decide("RAW", "PASS")
    assert _qc(graph("OTHER"))["FG"] == (None, [])
    assert _qc(graph("FG"))["RAW"] == ("PASS", [])


def test_a_pass_that_changes_no_hold_updates_the_lot_in_its_relatives_cached_graphs_only(
    demo, django_assert_num_queries, django_capture_on_commit_callbacks
):
    genealogy([("RAW", "MIX"), ("MIX", "FG"), ("UNRELATED-A", "UNRELATED-B")])
    for code in ("RAW", "FG", "UNRELATED-A"):
        graph(code)
    with django_capture_on_commit_callbacks(execute=True):
        _decide("MIX", "PASS")
    assert _qc(graph("RAW"))["MIX"] == ("PASS", [])
    assert _qc(graph("FG"))["MIX"] == ("PASS", [])
    assert served_from_cache(django_assert_num_queries, "UNRELATED-A")


def test_cached_graph_bodies_equal_the_database_after_a_hold(demo, django_capture_on_commit_callbacks):
    from lots.selectors import lot_graph_json

    genealogy([("RAW", "MIX"), ("MIX", "FG")])
    trace_cache.graph_gzip_cached(lot_code="FG")
    with django_capture_on_commit_callbacks(execute=True):
        _decide("RAW", "FAIL")
    assert trace_cache.graph_json_cached(lot_code="FG") == lot_graph_json(lot_code="FG")


@pytest.mark.redis
def test_a_write_retires_cached_answers_in_one_round_trip_to_valkey(
    demo, django_capture_on_commit_callbacks, monkeypatch, settings
):
    import valkey

    settings.THROTTLE_ENABLED = False  # the rate limit's own round trip
    graph("MIX-BATCH-88")
    trips = []
    real_execute = valkey.client.Pipeline.execute
    real_command = valkey.Valkey.execute_command

    def execute(self, *args, **kwargs):
        trips.append("pipeline")
        return real_execute(self, *args, **kwargs)

    def command(self, *args, **kwargs):
        trips.append(args[0])
        return real_command(self, *args, **kwargs)

    monkeypatch.setattr(valkey.client.Pipeline, "execute", execute)
    monkeypatch.setattr(valkey.Valkey, "execute_command", command)
    monkeypatch.setattr(changes, "genealogy_refresh_enqueue_one", lambda **kwargs: None)
    with django_capture_on_commit_callbacks(execute=True):
        _decide("MIX-BATCH-88", "PASS")
    assert trips == ["pipeline"]
    assert "MIX-BATCH-88" in codes(graph("MIX-BATCH-88"))  # its old graph is gone: read afresh


# How the walk for the relatives of written lots (lots.selectors._AFFECTED_SQL) begins.
_AFFECTED_WALK = "up(lot_id) AS (\n    SELECT id FROM lots WHERE id = ANY("


def _qc_status(body: dict, code: str) -> str | None:
    return next(node["qc_status"] for node in body["nodes"] if node["lot"]["lot_code"] == code)


@pytest.mark.django_db(transaction=True)
def test_a_decision_on_a_lot_linked_to_no_other_retires_its_answers_without_a_walk(demo):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from lots.services import qc_decision_record

    lot = Lot.objects.create(lot_code="RAW-GOODS-IN-7", lot_type="RAW")
    auditor = demo_user(Role.AUDITOR)
    assert _qc_status(graph("RAW-GOODS-IN-7"), "RAW-GOODS-IN-7") is None  # now cached
    with CaptureQueriesContext(connection) as queries:
        qc_decision_record(lot_id=lot.pk, decision="PASS", actor=auditor)
    # The decision's batch, then (tasks run inline here) the refresh of its graph, which was
    # read: no walk for relatives in between.
    assert queries[0]["sql"].startswith("SELECT pg_advisory_xact_lock_shared")
    assert not any(_AFFECTED_WALK in query["sql"] for query in queries)
    assert _qc_status(graph("RAW-GOODS-IN-7"), "RAW-GOODS-IN-7") == "PASS"


@pytest.mark.django_db(transaction=True)
def test_a_decision_on_a_linked_lot_still_retires_its_relatives_graphs(demo):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from lots.services import qc_decision_record

    lots = genealogy([("RAW", "MIX")])
    auditor = demo_user(Role.AUDITOR)
    assert _qc_status(graph("MIX"), "RAW") is None
    with CaptureQueriesContext(connection) as queries:
        qc_decision_record(lot_id=lots["RAW"].pk, decision="PASS", actor=auditor)
    assert any(_AFFECTED_WALK in query["sql"] for query in queries)
    assert _qc_status(graph("MIX"), "RAW") == "PASS"
