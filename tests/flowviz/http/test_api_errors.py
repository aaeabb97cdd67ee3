"""Cross-cutting API behaviour: error bodies, CORS, body size, OpenAPI, orjson rendering."""

from __future__ import annotations

import logging

import orjson
import pytest
from django.db import IntegrityError, connection, transaction
from django.test import Client, RequestFactory

from accounts.roles import Role
from flowviz.core.errors import CONFLICT_CONSTRAINTS
from lots import selectors
from lots.models import Lot, LotGenealogy
from tests.api_support import demo_user, error_body, get_json, post_json

FRONTEND = "https://flowviz.example.com"


def test_unexpected_error_is_a_json_500_without_internals(demo, monkeypatch):
    def explode(**kwargs):
        raise RuntimeError("SELECT secret FROM somewhere")

    monkeypatch.setattr(selectors, "lot_get", explode)
    response = get_json(
        Client(raise_request_exception=False), "/api/lots/MIX-BATCH-88", demo_user(Role.VIEWER)
    )
    assert response.status_code == 500
    assert response.json() == error_body("Internal server error")
    assert b"SELECT" not in response.content


def test_body_over_the_upload_limit_is_413_not_500(demo, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = post_json(
        Client(), "/api/lots", {"lot_code": "X", "metadata": {"b": "x" * 2000}}, demo_user("ADMIN")
    )
    assert response.status_code == 413
    assert response.json() == error_body("Request body too large")


def test_health_has_exactly_status_and_a_utc_timestamp():
    body = Client().get("/api/health").json()
    assert set(body) == {"status", "timestamp"}
    assert body["status"] == "ok"
    assert body["timestamp"].endswith("Z")


def test_cors_preflight_from_an_allowed_origin_allows_credentials(settings):
    settings.CORS_ALLOWED_ORIGINS = [FRONTEND]
    response = Client().options(
        "/api/lots",
        HTTP_ORIGIN=FRONTEND,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization, content-type",
    )
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == FRONTEND
    assert response["Access-Control-Allow-Credentials"] == "true"
    assert "authorization" in response["Access-Control-Allow-Headers"]


def test_cors_response_to_an_allowed_origin_names_it_never_star(settings):
    settings.CORS_ALLOWED_ORIGINS = [FRONTEND]
    response = Client().get("/api/health", HTTP_ORIGIN=FRONTEND)
    assert response["Access-Control-Allow-Origin"] == FRONTEND


def test_cors_ignores_other_origins(settings):
    settings.CORS_ALLOWED_ORIGINS = [FRONTEND]
    response = Client().get("/api/health", HTTP_ORIGIN="https://evil.example.net")
    assert "Access-Control-Allow-Origin" not in response


def test_cors_origins_come_from_the_allowed_origins_variable():
    import os
    import subprocess
    import sys

    env = {**os.environ, "ALLOWED_ORIGINS": "https://a.example, https://b.example"}
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.CORS_ALLOWED_ORIGINS)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={**env, "DJANGO_SETTINGS_MODULE": "tests.settings"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "['https://a.example', 'https://b.example']"


CONTRACT_OPERATIONS = [
    ("get", "/api/health"),
    ("post", "/api/login"),
    ("get", "/api/lots"),
    ("post", "/api/lots"),
    ("get", "/api/lots/{lot_code}"),
    ("post", "/api/lots/{lot_code}/parents"),
    ("post", "/api/qc-decisions"),
    ("get", "/api/lots/{lot_code}/qc-decisions"),
    ("get", "/api/traceability/{lot_code}"),
    ("post", "/api/logout"),
    ("get", "/api/flows"),
    ("post", "/api/flows"),
    ("get", "/api/flows/{flow_id}"),
    ("get", "/api/flows/{flow_id}/versions"),
    ("get", "/api/flows/{flow_id}/versions/latest/draft"),
    ("get", "/api/flows/{flow_id}/versions/{version_num}"),
    ("put", "/api/flows/{flow_id}/versions/{version_num}"),
    ("post", "/api/flows/{flow_id}/versions/{version_num}/publish"),
    ("post", "/api/flows/{flow_id}/versions/{version_num}/fork"),
    ("post", "/api/flows/{flow_id}/versions/{version_num}/archive"),
]


@pytest.mark.parametrize(("method", "path"), CONTRACT_OPERATIONS)
def test_openapi_documents_every_endpoint_with_its_response_schema(method, path):
    spec = Client().get("/api/openapi.json").json()
    operation = spec["paths"][path][method]
    success = next(code for code in operation["responses"] if code.startswith("2"))
    if success != "204":
        assert "schema" in operation["responses"][success]["content"]["application/json"]
    if method in ("post", "put") and not path.endswith(("/publish", "/fork", "/archive", "/logout")):
        assert "requestBody" in operation


def test_openapi_documents_the_delete_of_a_flow_as_204():
    spec = Client().get("/api/openapi.json").json()
    assert "204" in spec["paths"]["/api/flows/{flow_id}"]["delete"]["responses"]


def test_openapi_error_bodies_have_detail_and_error():
    schemas = Client().get("/api/openapi.json").json()["components"]["schemas"]
    assert set(schemas["DetailOut"]["required"]) == {"detail", "error"}
    assert set(schemas["ValidationErrorOut"]["required"]) == {"detail", "error"}


def test_openapi_marks_protected_endpoints_as_bearer_secured():
    spec = Client().get("/api/openapi.json").json()
    assert "security" in spec["paths"]["/api/lots"]["get"]
    assert "security" not in spec["paths"]["/api/health"]["get"]


def test_docs_page_is_served():
    response = Client().get("/api/docs")
    assert response.status_code == 200
    assert b"openapi.json" in response.content


# --- IntegrityError: the contract's constraints are 409, anything else a 500 (issue 14, #18) ---


def _integrity_error_from_postgresql(statement: str, params: list) -> IntegrityError:
    """A real IntegrityError, as PostgreSQL reports the violated constraint."""
    with pytest.raises(IntegrityError) as caught, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement, params)
    return caught.value


def test_a_violated_contract_constraint_is_a_409_logged_at_info(demo, caplog):
    from flowviz.api import api

    link = LotGenealogy.objects.first()
    exc = _integrity_error_from_postgresql(
        "INSERT INTO lot_genealogy (id, parent_lot_id, child_lot_id, linked_at)"
        " VALUES (gen_random_uuid(), %s, %s, now())",
        [link.parent_lot_id, link.child_lot_id],
    )
    with caplog.at_level(logging.INFO, logger="flowviz.api"):
        response = api.on_exception(RequestFactory().post("/api/lots/X/parents"), exc)
    assert response.status_code == 409
    assert orjson.loads(response.content) == error_body("The lots are already linked")
    assert [record.levelno for record in caplog.records if record.name == "flowviz.api"] == [logging.INFO]


def test_every_contract_constraint_named_for_409_exists_in_the_database(db):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname FROM pg_constraint"
            " UNION SELECT indexname FROM pg_indexes WHERE schemaname = 'public'"
        )
        names = {row[0] for row in cursor.fetchall()}
    assert set(CONFLICT_CONSTRAINTS) <= names


def test_an_integrity_error_outside_the_contract_is_a_500_logged_at_error(demo, caplog):
    # A constraint the code knows nothing of (say, added by a DBA): not the client's conflict.
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the seed's deferred checks, before DDL
        cursor.execute(
            "ALTER TABLE lots ADD CONSTRAINT lots_no_forbidden_code CHECK (lot_code <> 'FORBIDDEN')"
        )
    with caplog.at_level(logging.INFO, logger="flowviz.api"):
        client = Client(raise_request_exception=False)
        response = post_json(client, "/api/lots", {"lot_code": "FORBIDDEN"}, demo_user(Role.ADMIN))
    assert response.status_code == 500
    assert response.json() == error_body("Internal server error")
    errors = [record for record in caplog.records if record.name == "flowviz.api"]
    assert [record.levelno for record in errors] == [logging.ERROR]
    assert "lots_no_forbidden_code" in errors[0].getMessage()
    assert not Lot.objects.filter(lot_code="FORBIDDEN").exists()
