"""Bad input on every write: a 4xx with `detail`, and nothing written."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from accounts.roles import Role
from lots.models import Lot, LotGenealogy
from quality.models import QcDecision
from tests.api_support import bearer, demo_user

FG_ID = "33333333-3333-3333-3333-333333333301"


def _counts() -> tuple[int, int, int]:
    return Lot.objects.count(), LotGenealogy.objects.count(), QcDecision.objects.count()


def _post(path: str, body) -> object:
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return Client().post(path, data, content_type="application/json", **bearer(demo_user(Role.ADMIN)))


def _lot(**fields):
    return {"lot_code": "NEW-LOT", **fields}


# (body, the field the 422 must name — None when the error is about the whole body)
LOT_BAD_BODIES = {
    "lot_code_missing": ({}, "lot_code"),
    "lot_code_empty": ({"lot_code": ""}, "lot_code"),
    "lot_code_101_chars": ({"lot_code": "L" * 101}, "lot_code"),
    "lot_code_number": ({"lot_code": 12}, "lot_code"),
    "lot_code_huge": ({"lot_code": "L" * 1_000_000}, "lot_code"),
    "lot_type_unknown": (_lot(lot_type="PIZZA"), "lot_type"),
    "weight_negative": (_lot(weight_kg="-0.01"), "weight_kg"),
    "weight_over_max": (_lot(weight_kg="10000.01"), "weight_kg"),
    "weight_three_decimals": (_lot(weight_kg="1.005"), "weight_kg"),
    "weight_not_numeric": (_lot(weight_kg="heavy"), "weight_kg"),
    "weight_nan": (_lot(weight_kg="NaN"), "weight_kg"),
    "weight_infinity": (_lot(weight_kg="Infinity"), "weight_kg"),
    "weight_list": (_lot(weight_kg=[1]), "weight_kg"),
    "temperature_below_min": (_lot(temperature_c="-50.1"), "temperature_c"),
    "temperature_over_max": (_lot(temperature_c=100.1), "temperature_c"),
    "temperature_two_decimals": (_lot(temperature_c="4.55"), "temperature_c"),
    "production_run_not_uuid": (_lot(production_run_id="run-1"), "production_run_id"),
    "phase_not_uuid": (_lot(phase_id=5), "phase_id"),
    "operator_not_uuid": (_lot(operator_id="'; DROP TABLE users; --"), "operator_id"),
    "metadata_list": (_lot(metadata=[1, 2]), "metadata"),
    "metadata_huge": (_lot(metadata={"blob": "x" * 70_000}), "metadata"),
    "unknown_field": (_lot(colour="red"), "colour"),
    "sql_looking_key": (_lot(**{"lot_code) VALUES ('x'); DROP TABLE lots; --": 1}), None),
    "parents_not_list": (_lot(parents={"lot_code": "RAW-BEEF-001"}), "parents"),
    "parent_with_code_and_id": (
        _lot(parents=[{"lot_code": "RAW-BEEF-001", "lot_id": "11111111-1111-1111-1111-111111111101"}]),
        "parents",
    ),
    "parent_with_neither": (_lot(parents=[{"quantity_used_kg": 1}]), "parents"),
    "parent_unknown_field": (_lot(parents=[{"lot_code": "RAW-BEEF-001", "amount": 1}]), "parents"),
    "parent_quantity_negative": (
        _lot(parents=[{"lot_code": "RAW-BEEF-001", "quantity_used_kg": -1}]),
        "parents",
    ),
    "parent_quantity_three_decimals": (
        _lot(parents=[{"lot_code": "RAW-BEEF-001", "quantity_used_kg": "0.001"}]),
        "parents",
    ),
    "parent_listed_twice": (
        _lot(parents=[{"lot_code": "RAW-BEEF-001"}, {"lot_code": "RAW-BEEF-001"}]),
        "parents",
    ),
    "too_many_parents": (_lot(parents=[{"lot_code": f"P{i}"} for i in range(101)]), "parents"),
}

NOT_JSON_OBJECTS = {
    "broken_json": "{lot_code: 1",
    "json_list": "[]",
    "json_string": '"MIX"',
    "json_number": "42",
    "json_null": "null",
    "nan_literal": '{"lot_code": "X", "weight_kg": NaN}',
    "not_utf8": b"\xff\xfe\x00",
}


def _assert_refused(response, field, before) -> None:
    assert 400 <= response.status_code < 500, response.content
    body = response.json()
    assert "detail" in body
    if field is not None:
        assert response.status_code == 422
        assert any(field in error["loc"] for error in body["detail"]), body
    assert _counts() == before


@pytest.mark.parametrize("case", sorted(LOT_BAD_BODIES))
def test_bad_lot_body_is_refused_and_nothing_written(demo, case):
    body, field = LOT_BAD_BODIES[case]
    before = _counts()
    _assert_refused(_post("/api/lots", body), field, before)


@pytest.mark.parametrize(
    ("field", "value"),
    [("weight_kg", 0), ("weight_kg", "10000.00"), ("temperature_c", -50), ("temperature_c", "100.0")],
)
def test_numeric_bounds_are_inclusive(demo, field, value):
    response = _post("/api/lots", {"lot_code": f"EDGE-{field}-{value}", field: value})
    assert response.status_code == 201, response.content


@pytest.mark.parametrize("case", sorted(NOT_JSON_OBJECTS))
def test_lot_body_that_is_not_a_json_object_is_4xx(demo, case):
    before = _counts()
    _assert_refused(_post("/api/lots", NOT_JSON_OBJECTS[case]), None, before)


PARENTS_BAD_BODIES = {
    "empty_list": ({"parents": []}, "parents"),
    "bare_list": ([{"lot_code": "RAW-BEEF-001"}], None),
    "unknown_field": ({"parents": [{"lot_code": "RAW-BEEF-001"}], "force": True}, "force"),
    "quantity_over_max": (
        {"parents": [{"lot_code": "RAW-BEEF-001", "quantity_used_kg": 10000.01}]},
        "parents",
    ),
    "code_wrong_type": ({"parents": [{"lot_code": 7}]}, "parents"),
}


@pytest.mark.parametrize("case", sorted(PARENTS_BAD_BODIES))
def test_bad_parents_body_is_refused_and_nothing_written(demo, case):
    body, field = PARENTS_BAD_BODIES[case]
    before = _counts()
    _assert_refused(_post("/api/lots/FG-DONER-X1/parents", body), field, before)


@pytest.mark.parametrize("case", sorted(NOT_JSON_OBJECTS))
def test_parents_body_that_is_not_a_json_object_is_4xx(demo, case):
    before = _counts()
    _assert_refused(_post("/api/lots/FG-DONER-X1/parents", NOT_JSON_OBJECTS[case]), None, before)


def _qc(**fields):
    return {"lot_id": FG_ID, "decision": "PASS", **fields}


QC_BAD_BODIES = {
    "lot_missing": ({"decision": "PASS"}, "lot_id"),
    "lot_not_uuid": (_qc(lot_id="FG-DONER-X1"), "lot_id"),
    "lot_unknown": (_qc(lot_id="99999999-9999-9999-9999-999999999999"), "lot_id"),
    "decision_missing": ({"lot_id": FG_ID}, "decision"),
    "decision_unknown": (_qc(decision="MAYBE"), "decision"),
    "decision_lowercase": (_qc(decision="pass"), "decision"),
    "gate_unknown": (_qc(qc_gate_id="99999999-9999-9999-9999-999999999999"), "qc_gate_id"),
    "operator_unknown": (_qc(operator_id="99999999-9999-9999-9999-999999999999"), "operator_id"),
    "hold_without_notes": (_qc(decision="HOLD"), "notes"),
    "fail_with_nine_characters": (_qc(decision="FAIL", notes="123456789"), "notes"),
    "fail_with_blank_padding": (_qc(decision="FAIL", notes="  a b c d e f g h i  "), "notes"),
    "notes_1001_chars": (_qc(notes="n" * 1001), "notes"),
    "notes_number": (_qc(notes=5), "notes"),
    "temperature_below_min": (_qc(temperature_c=-50.1), "temperature_c"),
    "temperature_over_max": (_qc(temperature_c="100.1"), "temperature_c"),
    "temperature_two_decimals": (_qc(temperature_c=4.25), "temperature_c"),
    "signature_huge": (_qc(digital_signature="s" * 100_000), "digital_signature"),
    "unknown_field": (_qc(decided_at="2020-01-01T00:00:00Z"), "decided_at"),
    "sql_looking_key": (_qc(**{"decision = 'PASS' WHERE 1=1; --": "x"}), None),
}


@pytest.mark.parametrize("case", sorted(QC_BAD_BODIES))
def test_bad_qc_decision_body_is_refused_and_nothing_written(demo, case):
    body, field = QC_BAD_BODIES[case]
    before = _counts()
    _assert_refused(_post("/api/qc-decisions", body), field, before)


@pytest.mark.parametrize("case", sorted(NOT_JSON_OBJECTS))
def test_qc_decision_body_that_is_not_a_json_object_is_4xx(demo, case):
    before = _counts()
    _assert_refused(_post("/api/qc-decisions", NOT_JSON_OBJECTS[case]), None, before)


@pytest.mark.parametrize(
    ("fields"),
    [
        {"decision": "HOLD", "notes": "1234567890"},
        {"notes": "n" * 1000},
        {"temperature_c": "-50.0"},
        {"temperature_c": 100},
    ],
)
def test_qc_decision_limits_are_inclusive(demo, fields):
    assert _post("/api/qc-decisions", _qc(**fields)).status_code == 201
