"""The API docs work offline: Swagger UI comes from our own static files, and the OpenAPI
document is served at the server root too (the frontend's type generator reads it there)."""

from __future__ import annotations

import re
from pathlib import Path

from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.test import Client

SWAGGER_FILES = ("ninja/swagger-ui-bundle.js", "ninja/swagger-ui-init.js", "ninja/swagger-ui.css")


def _assets(page: str) -> list[str]:
    return re.findall(r'(?:src|href)="([^"]+)"', page)


def test_the_docs_page_loads_swagger_ui_from_our_own_static_files():
    page = Client().get("/api/docs").text
    assets = _assets(page)
    for name in SWAGGER_FILES:
        assert f"/static/{name}" in assets
    assert all(asset.startswith("/static/") for asset in assets), assets
    assert "cdn" not in page.lower()


def test_the_docs_page_points_swagger_ui_at_the_document_and_no_online_validator():
    page = Client().get("/api/docs").text
    assert '"url": "/api/openapi.json"' in page
    assert '"validatorUrl": null' in page


def test_the_swagger_files_are_found_and_collected(tmp_path: Path, settings):
    for name in SWAGGER_FILES:
        assert finders.find(name), name
    settings.STATIC_ROOT = tmp_path
    call_command("collectstatic", interactive=False, verbosity=0)
    for name in SWAGGER_FILES:
        assert (tmp_path / name).stat().st_size > 0


def test_the_openapi_document_at_the_root_is_the_one_under_api():
    root = Client().get("/openapi.json")
    assert root.status_code == 200
    assert root["Content-Type"].startswith("application/json")
    assert root.json() == Client().get("/api/openapi.json").json()
    assert "/api/flows" in root.json()["paths"]
