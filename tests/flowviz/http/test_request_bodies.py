"""What a JSON request body must be before any schema reads it (flowviz/http/parsers.py):
sent as application/json, one value per key, no NUL (issue 14, items 10 and 13)."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from accounts.roles import Role
from lots.models import Lot
from quality.models import QcDecision
from tests.api_support import bearer, demo_user, error_body

pytestmark = pytest.mark.django_db

MIX_ID = "22222222-2222-2222-2222-222222222201"
UNSUPPORTED = "Unsupported Media Type: send the body as JSON with Content-Type: application/json"


def _post(path: str, data: str | bytes, content_type: str = "application/json", role: str = Role.ADMIN):
    return Client().post(path, data, content_type=content_type, **bearer(demo_user(role)))


def _field_named(response, field: str) -> None:
    assert response.status_code == 422, response.content
    body = response.json()
    assert body["error"].startswith(f"{field}:"), body
    assert body["detail"][0]["loc"][:2] == ["body", "payload"]


# --- Duplicate keys (item 13) -----------------------------------------------------------------


def test_a_qc_decision_with_the_decision_key_twice_is_refused_and_nothing_recorded(demo):
    body = (
        '{"lot_id": "'
        + MIX_ID
        + '", "decision": "HOLD", "notes": "salmonella swab positive", "decision": "PASS"}'
    )
    response = _post("/api/qc-decisions", body)
    _field_named(response, "decision")
    assert "appears more than once" in response.json()["error"]
    assert not QcDecision.objects.filter(lot_id=MIX_ID).exists()


def test_a_duplicate_key_inside_metadata_is_named_with_its_path(demo):
    response = _post("/api/lots", '{"lot_code": "DUP-1", "metadata": {"a": {"b": 1, "b": 2}}}')
    _field_named(response, "metadata.a.b")
    assert not Lot.objects.filter(lot_code="DUP-1").exists()


# --- Content-Type (item 13) -------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/xml",
        "application/json; charset=latin-1",
    ],
)
def test_a_json_body_sent_as_another_media_type_is_415(demo, content_type):
    response = _post("/api/lots", json.dumps({"lot_code": "CT-1"}), content_type=content_type)
    assert response.status_code == 415, response.content
    assert response.json() == error_body(UNSUPPORTED)
    assert not Lot.objects.filter(lot_code="CT-1").exists()


@pytest.mark.parametrize(
    "content_type", ["application/json", "application/json; charset=utf-8", "Application/JSON"]
)
def test_application_json_with_or_without_a_utf8_charset_is_read(demo, content_type):
    response = _post("/api/lots", json.dumps({"lot_code": "CT-2"}), content_type=content_type)
    assert response.status_code == 201, response.content


def test_login_sent_as_a_form_is_415(demo):
    response = Client().post("/api/login", {"email": "admin@doner-kft.hu"})
    assert response.status_code == 415
    assert response.json() == error_body(UNSUPPORTED)


# --- NUL in a body (item 10) ------------------------------------------------------------------

NUL = "\u0000"


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/lots", {"lot_code": f"A{NUL}B"}, "lot_code"),
        ("/api/lots", {"lot_code": "NUL-1", "metadata": {"note": f"x{NUL}"}}, "metadata.note"),
        ("/api/lots", {"lot_code": "NUL-1", "metadata": {f"k{NUL}": 1}}, f"metadata.k{NUL}"),
        (
            "/api/lots",
            {"lot_code": "NUL-1", "parents": [{"lot_code": f"RAW{NUL}"}]},
            "parents[0].lot_code",
        ),
        ("/api/qc-decisions", {"lot_id": MIX_ID, "decision": "PASS", "notes": f"ok{NUL}"}, "notes"),
        (
            "/api/qc-decisions",
            {"lot_id": MIX_ID, "decision": "PASS", "digital_signature": f"sig{NUL}"},
            "digital_signature",
        ),
        ("/api/login", {"email": f"admin{NUL}@doner-kft.hu"}, "email"),
        ("/api/flows", {"name": {"hu": f"a{NUL}", "en": "b"}}, "name.hu"),
    ],
)
def test_a_nul_character_anywhere_in_a_body_is_422_naming_the_field(demo, path, body, field):
    before = (Lot.objects.count(), QcDecision.objects.count())
    response = _post(path, json.dumps(body))
    _field_named(response, field)
    assert (Lot.objects.count(), QcDecision.objects.count()) == before


def test_a_nul_character_in_a_flow_graph_is_422(demo):
    from tests.flowviz.production.flow_support import flow_with_draft, line_graph

    graph = line_graph()
    graph["nodes"][0]["data"]["label"]["en"] = f"Goods{NUL}in"
    response = Client().put(
        f"/api/flows/{flow_with_draft()}/versions/1",
        json.dumps({"graph_schema": graph}),
        content_type="application/json",
        **bearer(demo_user(Role.OPERATOR)),
    )
    _field_named(response, "graph_schema.nodes[0].data.label.en")


def test_an_unpaired_surrogate_in_a_body_is_422(demo):
    response = _post("/api/lots", '{"lot_code": "\\ud800"}')
    _field_named(response, "lot_code")


def test_a_number_too_large_to_be_finite_is_422(demo):
    response = _post("/api/lots", '{"lot_code": "BIG-1", "weight_kg": 1e400}')
    _field_named(response, "weight_kg")


# --- Validated once ---------------------------------------------------------------------------


def test_a_request_body_is_validated_once(demo, monkeypatch):
    # The metadata check is looked up in lots.schemas at each call: it counts the passes.
    from lots import schemas

    passes = []
    metadata_check = schemas.json_limits_value_error

    def counted(value):
        passes.append(value)
        return metadata_check(value)

    monkeypatch.setattr(schemas, "json_limits_value_error", counted)
    body = {"lot_code": "MIX-ONCE-1", "metadata": {"shift": "A"}, "parents": [{"lot_code": "RAW-BEEF-001"}]}
    response = _post("/api/lots", json.dumps(body))
    assert response.status_code == 201, response.content
    assert passes == [{"shift": "A"}]


def test_every_request_body_of_the_api_is_a_request_body_model():
    from ninja.params.models import BodyModel

    from flowviz.api import api
    from flowviz.http.schemas import RequestBody

    bodies = set()
    for _prefix, router in api._routers:
        for path_view in router.path_operations.values():
            for operation in path_view.operations:
                for model in operation.models:
                    if issubclass(model, BodyModel):
                        bodies.update(field.annotation for field in model.model_fields.values())
    assert len(bodies) >= 5, bodies
    assert {body.__name__ for body in bodies if not issubclass(body, RequestBody)} == set()
