"""QC decisions over /api: record one (append-only), list a lot's decisions newest first."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone
from prometheus_client import REGISTRY

from accounts.roles import Role
from flowviz.production.models import Scenario
from lots.models import Lot
from quality.models import QcDecision, QcGate
from tests.api_support import demo_user, error_body, get_json, post_json

FG_ID = "33333333-3333-3333-3333-333333333301"
DECISION_KEYS = {
    "id",
    "lot_id",
    "qc_gate_id",
    "operator_id",
    "decision",
    "notes",
    "temperature_c",
    "digital_signature",
    "decided_at",
}


@pytest.fixture
def auditor(demo):
    return demo_user(Role.AUDITOR)


def record(user, body):
    return post_json(Client(), "/api/qc-decisions", body, user)


def test_record_returns_201_with_exactly_the_nine_keys(auditor):
    response = record(auditor, {"lot_id": FG_ID, "decision": "PASS", "temperature_c": "4.5"})
    assert response.status_code == 201
    body = response.json()
    assert set(body) == DECISION_KEYS
    assert body["temperature_c"] == "4.5"
    assert body["decided_at"].endswith("Z")
    assert QcDecision.objects.get(pk=body["id"]).temperature_c == Decimal("4.5")


def test_a_recorded_decision_is_exactly_its_documented_schema(auditor):
    # The handler renders its dict without ninja's validation: the body must still be what
    # QcDecisionOut (the OpenAPI document's schema) makes of it.
    from quality.schemas import QcDecisionOut

    body = {"lot_id": FG_ID, "decision": "HOLD", "notes": "Metal detector alarm", "temperature_c": "-18"}
    answered = record(auditor, body).json()
    assert answered == QcDecisionOut.model_validate(answered).model_dump(mode="json")
    assert answered["temperature_c"] == "-18.0"


def test_record_defaults_the_operator_to_the_caller(auditor):
    body = record(auditor, {"lot_id": FG_ID, "decision": "PASS"}).json()
    assert body["operator_id"] == str(auditor.pk)


def test_record_with_a_gate(auditor):
    scenario = Scenario.objects.create(name={"en": "s"}, version="1")
    gate = QcGate.objects.create(scenario=scenario, gate_number=Decimal("6.5"), name={"en": "Metal detector"})
    body = record(auditor, {"lot_id": FG_ID, "decision": "PASS", "qc_gate_id": str(gate.pk)}).json()
    assert body["qc_gate_id"] == str(gate.pk)


def test_hold_with_ten_non_blank_characters_of_notes_is_accepted(auditor):
    response = record(auditor, {"lot_id": FG_ID, "decision": "HOLD", "notes": "metal  found in line 2"})
    assert response.status_code == 201
    assert response.json()["notes"] == "metal  found in line 2"


def test_fail_without_notes_is_422_naming_notes(auditor):
    response = record(auditor, {"lot_id": FG_ID, "decision": "FAIL"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "payload", "notes"]


def test_record_counts_the_decision_after_commit(auditor, django_capture_on_commit_callbacks):
    def count():
        return REGISTRY.get_sample_value("flowviz_qc_decisions_total", {"decision": "HOLD"}) or 0.0

    before = count()
    with django_capture_on_commit_callbacks(execute=True):
        record(auditor, {"lot_id": FG_ID, "decision": "HOLD", "notes": "temperature too high"})
    assert count() == before + 1


def test_list_is_newest_first(auditor):
    lot = Lot.objects.get(pk=FG_ID)
    now = timezone.now()
    QcDecision.objects.create(lot=lot, decision="HOLD", notes="n" * 10, decided_at=now - timedelta(hours=1))
    QcDecision.objects.create(lot=lot, decision="PASS", decided_at=now)
    body = get_json(Client(), "/api/lots/FG-DONER-X1/qc-decisions", auditor).json()
    assert [d["decision"] for d in body] == ["PASS", "HOLD"]
    assert all(set(d) == DECISION_KEYS for d in body)


def test_list_of_a_lot_without_decisions_is_empty(auditor):
    assert get_json(Client(), "/api/lots/RAW-BEEF-001/qc-decisions", auditor).json() == []


def test_list_of_an_unknown_lot_is_404(auditor):
    response = get_json(Client(), "/api/lots/NOPE/qc-decisions", auditor)
    assert response.status_code == 404
    assert response.json() == error_body("Lot not found")


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_no_endpoint_edits_or_deletes_a_decision(auditor, method):
    decision = QcDecision.objects.create(lot_id=FG_ID, decision="PASS")
    response = getattr(Client(), method)(f"/api/qc-decisions/{decision.pk}")
    assert response.status_code in (404, 405)
    assert QcDecision.objects.filter(pk=decision.pk, decision="PASS").exists()
