"""Hold propagation (issue 15) over real HTTP on PostgreSQL: a HOLD or FAIL makes every lot made
from the held lot suspect; a suspect lot cannot be consumed; a later PASS releases it."""

from __future__ import annotations

import io
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.roles import Role
from flowviz.core.errors import FieldInvalid
from lots.models import Lot, LotGenealogy, LotSuspicion, LotType
from lots.selectors import lot_qc_states
from lots.services import qc_decision_record
from quality.models import Decision, QcDecision
from tests.api_support import demo_user, get_json, post_json
from tests.lots.conftest import genealogy

pytestmark = pytest.mark.django_db

CHAIN = [("RAW", "MIX"), ("MIX", "SKW"), ("SKW", "FG")]
CHAIN_TYPES = {"RAW": LotType.RAW, "MIX": LotType.MIX, "SKW": LotType.SKW, "FG": LotType.FG}
NOTES = "Salmonella swab positive"


@pytest.fixture
def chain(demo) -> dict[str, Lot]:
    """RAW -> MIX -> SKW -> FG, 100 kg each, 10 kg drawn per link."""
    return genealogy(CHAIN, lot_types=CHAIN_TYPES)


def decide(lot: Lot, decision: str, role: str = Role.AUDITOR):
    body = {"lot_id": str(lot.pk), "decision": decision}
    if decision != Decision.PASS:
        body["notes"] = NOTES
    response = post_json(Client(), "/api/qc-decisions", body, demo_user(role))
    assert response.status_code == 201, response.content
    return response


def register(code: str, *parents: str):
    body = {"lot_code": code, "parents": [{"lot_code": p, "quantity_used_kg": "1.00"} for p in parents]}
    return post_json(Client(), "/api/lots", body, demo_user(Role.OPERATOR))


def link(child: str, *parents: str):
    body = {"parents": [{"lot_code": p, "quantity_used_kg": "1.00"} for p in parents]}
    return post_json(Client(), f"/api/lots/{child}/parents", body, demo_user(Role.OPERATOR))


def held_by(code: str) -> tuple[str, ...]:
    lot = Lot.objects.get(lot_code=code)
    return tuple(held for held, _ in lot_qc_states(lot_ids=[lot.pk])[lot.pk].held_by)


def graph_nodes(code: str) -> dict[str, dict]:
    body = get_json(Client(), f"/api/traceability/{code}/graph", demo_user(Role.VIEWER)).json()
    return {node["lot"]["lot_code"]: node for node in body["nodes"]}


def test_hold_on_raw_makes_every_lot_made_from_it_suspect(chain):
    decide(chain["RAW"], Decision.HOLD)
    nodes = graph_nodes("RAW")
    assert {code: (node["qc_status"], node["held_by"]) for code, node in nodes.items()} == {
        "RAW": ("HOLD", []),
        "MIX": (None, ["RAW"]),
        "SKW": (None, ["RAW"]),
        "FG": (None, ["RAW"]),
    }


def test_a_suspect_lot_cannot_be_consumed_by_a_new_lot(chain):
    decide(chain["RAW"], Decision.HOLD)
    response = register("FG-NEW", "SKW")
    assert response.status_code == 409
    assert response.json()["detail"] == "Parent lot SKW is suspect: made from RAW (HOLD)"
    assert not Lot.objects.filter(lot_code="FG-NEW").exists()


def test_a_suspect_lot_cannot_be_linked_as_a_parent(chain):
    Lot.objects.create(lot_code="FG-OLD", lot_type=LotType.FG)
    decide(chain["RAW"], Decision.FAIL)
    response = link("FG-OLD", "SKW")
    assert response.status_code == 409
    assert response.json()["detail"] == "Parent lot SKW is suspect: made from RAW (FAIL)"
    assert not LotGenealogy.objects.filter(child_lot__lot_code="FG-OLD").exists()


def test_a_parent_that_is_itself_on_hold_keeps_its_own_message(chain):
    decide(chain["RAW"], Decision.HOLD)
    decide(chain["MIX"], Decision.HOLD)
    response = register("SKW-NEW", "MIX")
    assert (response.status_code, response.json()["detail"]) == (
        409,
        "Parent lot MIX has QC status HOLD and cannot be consumed",
    )


def test_several_held_ancestors_are_named_sorted_with_their_status(demo):
    genealogy([("RAW-B", "MIX"), ("RAW-A", "MIX"), ("MIX", "SKW")])
    decide(Lot.objects.get(lot_code="RAW-B"), Decision.FAIL)
    decide(Lot.objects.get(lot_code="RAW-A"), Decision.HOLD)
    response = register("FG-NEW", "SKW")
    assert response.json()["detail"] == "Parent lot SKW is suspect: made from RAW-A (HOLD), RAW-B (FAIL)"


def test_pass_on_the_held_lot_releases_its_suspects(chain):
    decide(chain["RAW"], Decision.HOLD)
    decide(chain["RAW"], Decision.PASS)
    assert [held_by(code) for code in ("MIX", "SKW", "FG")] == [(), (), ()]
    assert register("FG-NEW", "SKW").status_code == 201
    assert link("FG", "MIX").status_code == 201
    assert not LotSuspicion.objects.exists()


def test_a_pass_does_not_release_a_hold_the_legacy_server_dated_after_it(chain):
    decide(chain["RAW"], Decision.HOLD)
    QcDecision.objects.create(
        lot=chain["RAW"], decision=Decision.HOLD, notes=NOTES, decided_at=timezone.now() + timedelta(hours=1)
    )
    decide(chain["RAW"], Decision.PASS)
    assert [held_by(code) for code in ("MIX", "SKW", "FG")] == [("RAW",)] * 3
    assert LotSuspicion.objects.filter(held_lot=chain["RAW"]).count() == 3


def test_a_decision_about_an_unknown_lot_writes_nothing(demo):
    with pytest.raises(FieldInvalid, match="does not exist"):
        qc_decision_record(lot_id=uuid.uuid4(), decision=Decision.PASS, actor=demo_user(Role.AUDITOR))
    assert not QcDecision.objects.exists()


# Outside a transaction (the API's case): inside one, a savepoint wraps the batch.
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("decision", [Decision.PASS, Decision.HOLD])
def test_a_decision_is_one_round_trip_to_the_database(chain, decision):
    auditor = demo_user(Role.AUDITOR)
    with CaptureQueriesContext(connection) as queries:
        qc_decision_record(lot_id=chain["RAW"].pk, decision=decision, actor=auditor, notes=NOTES)
    # Once committed, a PASS walks the lot's relatives to retire their cached graphs.
    decision_sql = [query["sql"] for query in queries if "WITH RECURSIVE\nup(" not in query["sql"]]
    assert len(decision_sql) == 1
    assert LotSuspicion.objects.filter(held_lot=chain["RAW"]).count() == (
        3 if decision == Decision.HOLD else 0
    )


def test_a_decision_is_dated_when_its_row_is_written(chain):
    before = timezone.now()
    record = qc_decision_record(lot_id=chain["RAW"].pk, decision=Decision.PASS, actor=demo_user(Role.AUDITOR))
    assert before <= record.decided_at <= timezone.now()
    assert QcDecision.objects.get(pk=record.pk).decided_at == record.decided_at


def test_a_pass_on_a_suspect_lot_itself_does_not_release_it(chain):
    decide(chain["RAW"], Decision.HOLD)
    decide(chain["SKW"], Decision.PASS)  # its own QC is fine; the meat in it is not
    assert register("FG-NEW", "SKW").status_code == 409
    assert graph_nodes("SKW")["SKW"]["qc_status"] == "PASS"


def test_a_lot_made_before_the_hold_becomes_suspect_at_the_hold(chain):
    assert register("FG-EARLY", "SKW").status_code == 201
    assert held_by("FG-EARLY") == ()
    decide(chain["RAW"], Decision.HOLD)
    assert held_by("FG-EARLY") == ("RAW",)
    assert register("PALLET", "FG-EARLY").json()["detail"] == (
        "Parent lot FG-EARLY is suspect: made from RAW (HOLD)"
    )


def test_releasing_one_of_two_holds_leaves_the_lot_suspect_of_the_other(demo):
    lots = genealogy([("RAW-A", "MIX"), ("RAW-B", "MIX")])
    decide(lots["RAW-A"], Decision.HOLD)
    decide(lots["RAW-B"], Decision.HOLD)
    decide(lots["RAW-A"], Decision.PASS)
    assert held_by("MIX") == ("RAW-B",)
    assert register("SKW-NEW", "MIX").json()["detail"] == "Parent lot MIX is suspect: made from RAW-B (HOLD)"


def test_fail_after_hold_keeps_the_suspects_and_names_the_new_status(chain):
    decide(chain["RAW"], Decision.HOLD)
    decide(chain["RAW"], Decision.FAIL)
    assert register("FG-NEW", "SKW").json()["detail"] == "Parent lot SKW is suspect: made from RAW (FAIL)"


def test_a_diamond_makes_the_shared_descendant_suspect_once(demo):
    lots = genealogy([("RAW", "A"), ("RAW", "B"), ("A", "D"), ("B", "D")])
    decide(lots["RAW"], Decision.HOLD)
    assert LotSuspicion.objects.filter(suspect_lot=lots["D"]).count() == 1
    assert graph_nodes("D")["D"]["held_by"] == ["RAW"]
    [hold] = get_json(Client(), "/api/holds", demo_user(Role.VIEWER)).json()
    assert hold["suspect_count"] == 3  # A, B and D, each once


# --- GET /api/holds -------------------------------------------------------------------------


def test_holds_lists_every_held_lot_newest_first_with_its_suspects(demo):
    genealogy(
        [("RAW-1", "MIX-1"), ("MIX-1", "FG-1"), ("MIX-1", "FG-2"), ("RAW-2", "FG-3")],
        lot_types={"FG-1": LotType.FG, "FG-2": LotType.FG, "FG-3": LotType.FG},
    )
    Lot.objects.filter(lot_code="FG-2").update(weight_kg=Decimal("12.50"))
    decide(Lot.objects.get(lot_code="RAW-1"), Decision.HOLD)
    decide(Lot.objects.get(lot_code="RAW-2"), Decision.FAIL)
    response = get_json(Client(), "/api/holds", demo_user(Role.VIEWER))
    assert response.status_code == 200
    newest, older = response.json()
    assert (newest["lot"]["lot_code"], newest["decision"], newest["notes"]) == ("RAW-2", "FAIL", NOTES)
    assert (newest["suspect_count"], newest["fg_lot_codes"], newest["fg_weight_kg"]) == (
        1,
        ["FG-3"],
        "100.00",
    )
    assert older["lot"]["lot_code"] == "RAW-1"
    assert (older["suspect_count"], older["fg_lot_count"], older["fg_lot_codes"]) == (3, 2, ["FG-1", "FG-2"])
    assert (older["fg_weight_kg"], older["fg_lots_without_weight"]) == ("112.50", 0)
    assert set(newest) == {
        "lot",
        "decision",
        "decision_id",
        "decided_at",
        "notes",
        "suspect_count",
        "fg_lot_count",
        "fg_lot_codes",
        "fg_weight_kg",
        "fg_lots_without_weight",
    }


def test_holds_leave_out_released_lots_and_passed_lots(chain):
    decide(chain["RAW"], Decision.HOLD)
    decide(chain["MIX"], Decision.PASS)
    decide(chain["RAW"], Decision.PASS)
    assert get_json(Client(), "/api/holds", demo_user(Role.VIEWER)).json() == []


def test_holds_are_one_query_however_many_holds(demo, django_assert_num_queries):
    lots = genealogy([(f"RAW-{i}", f"MIX-{i}") for i in range(5)])
    for i in range(5):
        QcDecision.objects.create(lot=lots[f"RAW-{i}"], decision=Decision.HOLD, notes=NOTES)
    from lots.selectors import holds_list

    with django_assert_num_queries(1):
        holds_list()


def test_holds_need_a_token(demo):
    assert Client().get("/api/holds").status_code == 401


# --- Decisions written behind FlowViz's back, and the admin's genealogy edits ---------------


def test_rebuild_spreads_a_hold_inserted_directly_into_qc_decisions_and_is_rerunnable(chain):
    # What the legacy server does in an adopted database: a plain INSERT, no spreading.
    QcDecision.objects.create(lot=chain["RAW"], decision=Decision.HOLD, notes=NOTES)
    assert held_by("FG") == ()
    out, err = io.StringIO(), io.StringIO()
    call_command("rebuild_suspicions", stdout=out, stderr=err)
    assert "[1/1] RAW: 3 suspect lots added, 0 removed" in err.getvalue()
    assert out.getvalue().startswith("3 suspicion rows changed")
    assert [held_by(code) for code in ("MIX", "SKW", "FG")] == [("RAW",)] * 3
    out = io.StringIO()
    call_command("rebuild_suspicions", stdout=out, stderr=io.StringIO())
    assert out.getvalue().startswith("0 suspicion rows changed")


def test_rebuild_removes_rows_of_a_hold_released_behind_flowviz_back(chain):
    decide(chain["RAW"], Decision.HOLD)
    QcDecision.objects.create(lot=chain["RAW"], decision=Decision.PASS)
    call_command("rebuild_suspicions", stdout=io.StringIO(), stderr=io.StringIO())
    assert not LotSuspicion.objects.exists()


def test_a_stale_row_of_a_released_hold_blocks_nothing(chain):
    decide(chain["RAW"], Decision.HOLD)
    QcDecision.objects.create(lot=chain["RAW"], decision=Decision.PASS)  # behind FlowViz's back
    assert LotSuspicion.objects.exists()
    assert register("FG-NEW", "SKW").status_code == 201
