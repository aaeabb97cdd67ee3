"""Lots over /api: listing, one lot, registering with parents, linking, one-step traceability."""

from __future__ import annotations

from decimal import Decimal

import orjson
import pytest
from django.test import Client
from prometheus_client import REGISTRY

from accounts.roles import Role
from lots import selectors
from lots.models import Lot, LotGenealogy
from quality.models import QcDecision
from tests.api_support import LOT_KEYS, demo_user, error_body, get_json, post_json


@pytest.fixture
def viewer(demo):
    return demo_user(Role.VIEWER)


@pytest.fixture
def operator(demo):
    return demo_user(Role.OPERATOR)


def create(user, body):
    return post_json(Client(), "/api/lots", body, user)


def link(user, lot_code, parents):
    return post_json(Client(), f"/api/lots/{lot_code}/parents", {"parents": parents}, user)


# --- GET /api/lots ----------------------------------------------------------------------


def test_list_is_newest_first(operator, viewer):
    create(operator, {"lot_code": "NEWEST-1"})
    codes = [lot["lot_code"] for lot in get_json(Client(), "/api/lots", viewer).json()]
    assert codes[0] == "NEWEST-1"
    assert codes[1:] == ["FG-DONER-X1", "MIX-BATCH-88", "RAW-SPICE-001", "RAW-BEEF-001"]


def test_every_listed_lot_has_exactly_the_ten_keys(viewer):
    for lot in get_json(Client(), "/api/lots", viewer).json():
        assert set(lot) == LOT_KEYS


def test_list_filters_by_lot_type(viewer):
    lots = get_json(Client(), "/api/lots?lot_type=RAW", viewer).json()
    assert sorted(lot["lot_code"] for lot in lots) == ["RAW-BEEF-001", "RAW-SPICE-001"]


def test_list_filters_by_code_prefix(viewer):
    lots = get_json(Client(), "/api/lots?q=MIX-", viewer).json()
    assert [lot["lot_code"] for lot in lots] == ["MIX-BATCH-88"]


def test_list_code_prefix_matches_underscore_and_percent_literally(operator, viewer):
    for code in ("A_1", "AB1", "A%2", "AZ2"):
        create(operator, {"lot_code": code})
    underscore = get_json(Client(), "/api/lots?q=A_", viewer).json()
    percent = get_json(Client(), "/api/lots?q=A%25", viewer).json()
    assert [lot["lot_code"] for lot in underscore] == ["A_1"]
    assert [lot["lot_code"] for lot in percent] == ["A%2"]


def test_list_filters_combine(operator, viewer):
    from flowviz.production.models import ProductionRun

    run = ProductionRun.objects.create(run_code="PRD-20260118-2")
    create(operator, {"lot_code": "MIX-IN-RUN", "lot_type": "MIX", "production_run_id": str(run.pk)})
    create(operator, {"lot_code": "RAW-IN-RUN", "lot_type": "RAW", "production_run_id": str(run.pk)})
    create(operator, {"lot_code": "MIX-NO-RUN", "lot_type": "MIX"})
    query = f"lot_type=MIX&production_run_id={run.pk}&q=MIX-&limit=5&offset=0"
    assert [lot["lot_code"] for lot in get_json(Client(), f"/api/lots?{query}", viewer).json()] == [
        "MIX-IN-RUN"
    ]


def test_list_filters_by_production_run(operator, viewer):
    from flowviz.production.models import ProductionRun

    run = ProductionRun.objects.create(run_code="PRD-20260118-1")
    create(operator, {"lot_code": "IN-RUN", "production_run_id": str(run.pk)})
    lots = get_json(Client(), f"/api/lots?production_run_id={run.pk}", viewer).json()
    assert [lot["lot_code"] for lot in lots] == ["IN-RUN"]


def test_list_limit_and_offset_page_through(viewer):
    first = get_json(Client(), "/api/lots?limit=2", viewer).json()
    second = get_json(Client(), "/api/lots?limit=2&offset=2", viewer).json()
    assert [lot["lot_code"] for lot in first + second] == [
        "FG-DONER-X1",
        "MIX-BATCH-88",
        "RAW-SPICE-001",
        "RAW-BEEF-001",
    ]


def test_list_limit_defaults_to_100(operator, viewer):
    Lot.objects.bulk_create(Lot(lot_code=f"BULK-{i:03}") for i in range(105))
    assert len(get_json(Client(), "/api/lots", viewer).json()) == 100


@pytest.mark.parametrize(
    ("query", "status"),
    [("limit=1000", 200), ("limit=1001", 422), ("limit=0", 422), ("offset=-1", 422), ("lot_type=XYZ", 422)],
)
def test_list_query_bounds(viewer, query, status):
    assert get_json(Client(), f"/api/lots?{query}", viewer).status_code == status


# --- GET /api/lots/{lot_code} -----------------------------------------------------------


def test_detail_returns_the_lot_with_decimals_at_column_scale(viewer):
    lot = get_json(Client(), "/api/lots/MIX-BATCH-88", viewer).json()
    assert lot["id"] == "22222222-2222-2222-2222-222222222201"
    assert lot["weight_kg"] == "540.00"
    assert lot["metadata"] == {}
    assert lot["created_at"].endswith("Z")


def test_detail_of_an_unknown_lot_is_404(viewer):
    response = get_json(Client(), "/api/lots/NOPE", viewer)
    assert response.status_code == 404
    assert response.json() == error_body("Lot not found")


# --- POST /api/lots ---------------------------------------------------------------------


def test_create_returns_201_with_the_lot(operator):
    response = create(
        operator, {"lot_code": "SKW-1", "lot_type": "SKW", "weight_kg": "12.5", "temperature_c": -18}
    )
    assert response.status_code == 201
    lot = response.json()
    assert set(lot) == LOT_KEYS
    assert (lot["weight_kg"], lot["temperature_c"]) == ("12.50", "-18.0")
    assert Lot.objects.get(lot_code="SKW-1").weight_kg == Decimal("12.50")


def test_create_defaults_the_operator_to_the_caller(operator):
    lot = create(operator, {"lot_code": "MINE"}).json()
    assert lot["operator_id"] == str(operator.pk)


def test_create_accepts_an_explicit_operator(operator):
    other = demo_user(Role.ADMIN)
    lot = create(operator, {"lot_code": "THEIRS", "operator_id": str(other.pk)}).json()
    assert lot["operator_id"] == str(other.pk)


def test_create_null_metadata_is_stored_as_empty_object(operator):
    lot = create(operator, {"lot_code": "NOMETA", "metadata": None}).json()
    assert lot["metadata"] == {}


def test_create_writes_the_parent_links_in_the_same_request(operator):
    response = create(
        operator,
        {
            "lot_code": "MIX-2",
            "parents": [
                {"lot_code": "RAW-BEEF-001", "quantity_used_kg": "0"},
                {"lot_id": "11111111-1111-1111-1111-111111111102", "quantity_used_kg": 10},
            ],
        },
    )
    assert response.status_code == 201
    links = LotGenealogy.objects.filter(child_lot__lot_code="MIX-2").order_by("parent_lot__lot_code")
    assert [(link.parent_lot.lot_code, link.quantity_used_kg) for link in links] == [
        ("RAW-BEEF-001", Decimal("0.00")),
        ("RAW-SPICE-001", Decimal("10.00")),
    ]


def test_create_with_a_duplicate_code_is_409(operator):
    response = create(operator, {"lot_code": "MIX-BATCH-88"})
    assert response.status_code == 409
    assert response.json() == error_body("Lot code already exists")


def test_create_with_an_unknown_parent_is_422_naming_it_and_writes_nothing(operator):
    response = create(operator, {"lot_code": "ORPHAN", "parents": [{"lot_code": "GHOST-7"}]})
    assert response.status_code == 422
    error = response.json()["detail"][0]
    assert error["loc"] == ["body", "payload", "parents", 0, "lot_code"]
    assert "GHOST-7" in error["msg"]
    assert not Lot.objects.filter(lot_code="ORPHAN").exists()


@pytest.mark.parametrize("decision", ["HOLD", "FAIL"])
def test_parent_whose_latest_decision_blocks_it_cannot_be_consumed(operator, decision):
    QcDecision.objects.create(lot=Lot.objects.get(lot_code="RAW-BEEF-001"), decision=decision, notes="n" * 10)
    response = create(operator, {"lot_code": "BLOCKED", "parents": [{"lot_code": "RAW-BEEF-001"}]})
    assert response.status_code == 409
    assert response.json() == error_body(
        f"Parent lot RAW-BEEF-001 has QC status {decision} and cannot be consumed"
    )
    assert not Lot.objects.filter(lot_code="BLOCKED").exists()


def test_parent_released_by_a_later_pass_can_be_consumed(operator):
    from datetime import timedelta

    from django.utils import timezone

    beef = Lot.objects.get(lot_code="RAW-BEEF-001")
    earlier = timezone.now() - timedelta(minutes=5)
    QcDecision.objects.create(lot=beef, decision="HOLD", notes="n" * 10, decided_at=earlier)
    QcDecision.objects.create(lot=beef, decision="PASS")
    assert (
        create(operator, {"lot_code": "RELEASED", "parents": [{"lot_code": "RAW-BEEF-001"}]}).status_code
        == 201
    )


def test_mass_balance_allows_exactly_the_remaining_weight(operator):
    # RAW-SPICE-001 weighs 50.00 kg and MIX-BATCH-88 already used 40.00 kg of it.
    ok = create(
        operator, {"lot_code": "A", "parents": [{"lot_code": "RAW-SPICE-001", "quantity_used_kg": 10}]}
    )
    assert ok.status_code == 201


def test_mass_balance_refuses_a_cent_more_than_the_remaining_weight(operator):
    response = create(
        operator, {"lot_code": "B", "parents": [{"lot_code": "RAW-SPICE-001", "quantity_used_kg": "10.01"}]}
    )
    assert response.status_code == 409
    assert "Mass balance exceeded for parent lot RAW-SPICE-001" in response.json()["detail"]
    assert not Lot.objects.filter(lot_code="B").exists()


def test_mass_balance_is_not_checked_for_a_parent_without_weight(operator):
    create(operator, {"lot_code": "UNWEIGHED"})
    response = create(
        operator, {"lot_code": "C", "parents": [{"lot_code": "UNWEIGHED", "quantity_used_kg": 9999}]}
    )
    assert response.status_code == 201


def test_create_with_unknown_production_run_is_422_naming_the_field(operator):
    response = create(
        operator, {"lot_code": "D", "production_run_id": "99999999-9999-9999-9999-999999999999"}
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "payload", "production_run_id"]


@pytest.mark.parametrize("field", ["phase_id", "operator_id"])
def test_create_with_unknown_reference_is_422_naming_the_field(operator, field):
    response = create(operator, {"lot_code": "E", field: "99999999-9999-9999-9999-999999999999"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "payload", field]


def _lots_registered(lot_type: str) -> float:
    return REGISTRY.get_sample_value("flowviz_lots_registered_total", {"lot_type": lot_type}) or 0.0


def test_create_counts_the_lot_in_the_business_metric_after_commit(
    operator, django_capture_on_commit_callbacks
):
    before = _lots_registered("FRZ")
    with django_capture_on_commit_callbacks(execute=True):
        create(operator, {"lot_code": "FRZ-1", "lot_type": "FRZ"})
    assert _lots_registered("FRZ") == before + 1


def test_lot_without_type_is_counted_as_none(operator, django_capture_on_commit_callbacks):
    before = _lots_registered("NONE")
    with django_capture_on_commit_callbacks(execute=True):
        create(operator, {"lot_code": "UNTYPED"})
    assert _lots_registered("NONE") == before + 1


def test_refused_lot_is_not_counted(operator, django_capture_on_commit_callbacks):
    before = _lots_registered("MIX")
    with django_capture_on_commit_callbacks(execute=True):
        create(operator, {"lot_code": "MIX-BATCH-88", "lot_type": "MIX"})
    assert _lots_registered("MIX") == before


def test_create_invalidates_cached_traceability_of_the_lot_and_its_parents(operator, monkeypatch):
    import lots.services

    invalidated = []
    monkeypatch.setattr(lots.services, "genealogy_changed", lambda **changes: invalidated.append(changes))
    lot = create(operator, {"lot_code": "INV", "parents": [{"lot_code": "RAW-BEEF-001"}]}).json()
    # The new lot alone: its parents and their ancestors are found by walking up from it.
    assert invalidated == [{"lot_ids": [Lot.objects.get(pk=lot["id"]).pk]}]


# --- POST /api/lots/{lot_code}/parents --------------------------------------------------


def test_link_adds_parents_and_returns_the_new_links(operator):
    response = link(operator, "FG-DONER-X1", [{"lot_code": "RAW-SPICE-001", "quantity_used_kg": 1}])
    assert response.status_code == 201
    (new_link,) = response.json()
    assert set(new_link) == {"id", "parent_lot_id", "child_lot_id", "quantity_used_kg", "linked_at"}
    assert new_link["quantity_used_kg"] == "1.00"
    assert LotGenealogy.objects.filter(
        parent_lot__lot_code="RAW-SPICE-001", child_lot__lot_code="FG-DONER-X1"
    ).exists()


def test_link_that_would_create_a_cycle_is_409(operator):
    response = link(operator, "RAW-BEEF-001", [{"lot_code": "FG-DONER-X1"}])
    assert response.status_code == 409
    assert "cycle" in response.json()["detail"]


def test_link_to_itself_is_409(operator):
    assert link(operator, "RAW-BEEF-001", [{"lot_code": "RAW-BEEF-001"}]).status_code == 409


def test_link_that_already_exists_is_409(operator):
    response = link(operator, "MIX-BATCH-88", [{"lot_code": "RAW-BEEF-001"}])
    assert response.status_code == 409
    assert LotGenealogy.objects.count() == 3


def test_link_checks_mass_balance(operator):
    response = link(operator, "FG-DONER-X1", [{"lot_code": "RAW-BEEF-001", "quantity_used_kg": "0.01"}])
    assert response.status_code == 409


def test_link_to_an_unknown_lot_is_404(operator):
    response = link(operator, "NOPE", [{"lot_code": "RAW-BEEF-001"}])
    assert response.status_code == 404
    assert response.json() == error_body("Lot not found")


def test_link_with_an_unknown_parent_is_422(operator):
    response = link(operator, "FG-DONER-X1", [{"lot_code": "RAW-BEEF-001"}, {"lot_code": "GHOST"}])
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "payload", "parents", 1, "lot_code"]
    assert LotGenealogy.objects.count() == 3


def test_link_invalidates_cached_traceability_of_the_child_and_its_new_parents(operator, monkeypatch):
    import lots.services

    invalidated = []
    monkeypatch.setattr(lots.services, "genealogy_changed", lambda **changes: invalidated.append(changes))
    link(operator, "FG-DONER-X1", [{"lot_code": "RAW-SPICE-001"}])
    assert invalidated == [
        {
            "links": [
                (Lot.objects.get(lot_code="RAW-SPICE-001").pk, Lot.objects.get(lot_code="FG-DONER-X1").pk)
            ]
        }
    ]


def test_unknown_query_parameters_are_ignored(viewer):
    assert get_json(Client(), "/api/lots?_=1700000000", viewer).status_code == 200


# --- GET /api/traceability/{lot_code} ---------------------------------------------------


def test_traceability_of_the_demo_mix_is_one_step_each_way(viewer):
    trace = get_json(Client(), "/api/traceability/MIX-BATCH-88", viewer).json()
    assert set(trace) == {"central", "parents", "children"}
    assert trace["central"]["lot_code"] == "MIX-BATCH-88"
    assert [lot["lot_code"] for lot in trace["parents"]] == ["RAW-BEEF-001", "RAW-SPICE-001"]
    assert [lot["lot_code"] for lot in trace["children"]] == ["FG-DONER-X1"]


def test_traceability_lists_are_sorted_by_lot_code(operator, viewer):
    for code in ["Z-CHILD", "A-CHILD", "M-CHILD"]:
        create(operator, {"lot_code": code, "parents": [{"lot_code": "FG-DONER-X1"}]})
    trace = get_json(Client(), "/api/traceability/FG-DONER-X1", viewer).json()
    assert [lot["lot_code"] for lot in trace["children"]] == ["A-CHILD", "M-CHILD", "Z-CHILD"]


def test_traceability_of_an_unknown_lot_is_404(viewer):
    response = get_json(Client(), "/api/traceability/NOPE", viewer)
    assert response.status_code == 404
    assert response.json() == error_body("Lot not found")


def test_traceability_selector_returns_the_json_body(demo):
    trace = orjson.loads(selectors.lot_traceability_one_step(lot_code="MIX-BATCH-88"))
    assert trace["central"]["weight_kg"] == "540.00"
    assert all(isinstance(v, (str, dict, type(None))) for v in trace["central"].values())
    assert selectors.lot_traceability_one_step(lot_code="NOPE") is None
