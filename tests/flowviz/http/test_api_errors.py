"""Cross-cutting API behaviour: error bodies, CORS, body size, OpenAPI, orjson rendering."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.roles import Role
from lots import selectors
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
