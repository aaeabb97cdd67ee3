"""The OpenAPI document says what the server does (issue 14, item 15): every status a request
can get is documented, recall documents its CSV, and the schema's rules for emails, decimals,
notes, lot codes and free JSON are the server's. Schemathesis checks the whole document
against a live server in CI (.ci/schemathesis); these pin the parts it found."""

from __future__ import annotations

import json
import re
from decimal import Decimal

import pytest
from django.test import Client

from accounts.roles import Role
from tests.api_support import bearer, demo_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def document() -> dict:
    response = Client().get("/api/openapi.json")
    assert response.status_code == 200
    return json.loads(response.content)


def _operations(document: dict):
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            yield f"{method.upper()} {path}", operation


def test_the_document_has_no_repeated_keys():
    # Swagger UI refuses a document with a repeated key ("duplicated mapping key").
    def no_repeats(pairs):
        keys = [key for key, _ in pairs]
        assert len(keys) == len(set(keys)), keys
        return dict(pairs)

    json.loads(Client().get("/api/openapi.json").content, object_pairs_hook=no_repeats)


def test_every_operation_has_its_own_operation_id(document):
    # The frontend's type generator names each operation by its operationId.
    ids = [operation["operationId"] for _, operation in _operations(document)]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)


def test_every_operation_documents_the_503_of_a_database_outage_with_retry_after(document):
    for name, operation in _operations(document):
        if " /api/health" in name:  # the probes answer for themselves
            continue
        answer = operation["responses"].get("503")
        assert answer is not None, name
        assert "Retry-After" in answer.get("headers", {}), name


def test_every_operation_with_a_body_documents_400_413_415_and_422(document):
    with_body = [(name, op) for name, op in _operations(document) if "requestBody" in op]
    assert len(with_body) >= 5
    for name, operation in with_body:
        assert {"400", "413", "415", "422"} <= set(operation["responses"]), name


def test_every_operation_with_parameters_documents_422_and_with_a_path_404(document):
    for name, operation in _operations(document):
        parameters = operation.get("parameters") or []
        if parameters:
            assert "422" in operation["responses"], name
        if any(parameter["in"] == "path" for parameter in parameters):
            assert "404" in operation["responses"], name


def test_recall_documents_its_csv_download(document):
    content = document["paths"]["/api/recall/{lot_code}"]["get"]["responses"]["200"]["content"]
    assert set(content) == {"application/json", "text/csv"}


def _property(document: dict, schema: str, field: str) -> dict:
    return document["components"]["schemas"][schema]["properties"][field]


def _login(email: str) -> int:
    return (
        Client().post("/api/login", json.dumps({"email": email}), content_type="application/json").status_code
    )


@pytest.mark.parametrize(
    "email", ["", "no-at-sign", "a@b", "a b@c.de", "a@@b.de", "admin@flowviz.com", "  nobody@example.com "]
)
def test_the_login_email_rule_of_the_schema_is_the_servers(document, email):
    pattern = _property(document, "LoginIn", "email")["pattern"]
    schema_accepts = re.search(pattern, email) is not None
    status = _login(email)
    assert (status != 422) == schema_accepts, (email, status)


@pytest.mark.parametrize(
    ("value", "accepted"),
    [
        ("540.00", True),
        ("0005.5", True),
        ("10000", True),
        (7, True),
        (12.25, True),
        ("10000.01", False),
        ("1e2", False),
        ("+5", False),
        (" 5", False),
        ("5.", False),
        ("1.005", False),
        (1.005, False),
        (-1, False),
        (True, False),
    ],
)
def test_the_weight_rule_of_the_schema_is_the_servers(demo, document, value, accepted):
    number, text, _ = _property(document, "LotIn", "weight_kg")["anyOf"]
    if isinstance(value, str):
        schema_accepts = re.search(text["pattern"], value) is not None
    else:
        schema_accepts = (
            not isinstance(value, bool)
            and number["minimum"] <= value <= number["maximum"]
            and Decimal(str(value)) % Decimal(str(number["multipleOf"])) == 0
        )
    assert schema_accepts == accepted, value
    response = Client().post(
        "/api/lots",
        json.dumps({"lot_code": f"W-{value!r}", "weight_kg": value}),
        content_type="application/json",
        **bearer(demo_user(Role.ADMIN)),
    )
    assert (response.status_code == 201) == accepted, (value, response.content)


@pytest.mark.parametrize(
    ("body", "accepted"),
    [
        ({"decision": "PASS"}, True),
        ({"decision": "HOLD", "notes": "salmonella swab positive"}, True),
        ({"decision": "FAIL", "notes": " a b c d e f g h i j "}, True),
        ({"decision": "HOLD"}, False),
        ({"decision": "FAIL", "notes": "too short"}, False),
        ({"decision": "HOLD", "notes": "a b c d e f g h i"}, False),
    ],
)
def test_the_qc_notes_rule_of_the_schema_is_the_servers(demo, document, body, accepted):
    passing, blocking = document["components"]["schemas"]["QcDecisionIn"]["anyOf"]
    assert passing["properties"]["decision"] == {"const": "PASS"}
    assert blocking["required"] == ["notes"]
    notes_pattern = blocking["properties"]["notes"]["pattern"]
    schema_accepts = body["decision"] == "PASS" or re.search(notes_pattern, body.get("notes", "")) is not None
    assert schema_accepts == accepted, body
    full = {"lot_id": "22222222-2222-2222-2222-222222222201", **body}
    response = Client().post(
        "/api/qc-decisions",
        json.dumps(full),
        content_type="application/json",
        **bearer(demo_user(Role.ADMIN)),
    )
    assert (response.status_code == 201) == accepted, (body, response.content)


def test_lot_codes_metadata_and_graph_numbers_carry_the_servers_limits(document):
    assert _property(document, "LotIn", "lot_code")["pattern"] == "^[^/]+$"
    metadata = _property(document, "LotIn", "metadata")["anyOf"][0]
    assert metadata["additionalProperties"] == {"$ref": "#/components/schemas/JsonValue"}
    numbers = [
        part for part in document["components"]["schemas"]["JsonValue"]["anyOf"] if part["type"] == "number"
    ]
    assert numbers == [{"type": "number", "minimum": -(2**53 - 1), "maximum": 2**53 - 1}]
    position_x = document["components"]["schemas"]["Position"]["properties"]["x"]
    assert (position_x["minimum"], position_x["maximum"]) == (-(2**53 - 1), 2**53 - 1)
