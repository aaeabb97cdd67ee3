"""Every error body has `detail` and `error` (contract, "errors"), on real endpoints.

The frontend's older screens read `data.error` and crash without it; the typed client reads
`detail`. Unknown paths and wrong methods under /api/ are JSON too, never an HTML page.
"""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.roles import Role
from lots import jobs, selectors
from tests.api_support import bearer, demo_user, error_body, get_json, post_json


def _unauthenticated(client, settings, monkeypatch):
    return get_json(client, "/api/lots")


def _role_refused(client, settings, monkeypatch):
    return post_json(client, "/api/lots", {"lot_code": "X"}, demo_user(Role.VIEWER))


def _not_found(client, settings, monkeypatch):
    return get_json(client, "/api/lots/NO-SUCH-LOT", demo_user(Role.VIEWER))


def _wrong_method(client, settings, monkeypatch):
    return client.delete("/api/lots/MIX-BATCH-88")


def _conflict(client, settings, monkeypatch):
    return post_json(client, "/api/lots", {"lot_code": "MIX-BATCH-88"}, demo_user(Role.OPERATOR))


def _too_large(client, settings, monkeypatch):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    return post_json(
        client, "/api/lots", {"lot_code": "X", "metadata": {"b": "x" * 2000}}, demo_user("ADMIN")
    )


def _throttled(client, settings, monkeypatch):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "login": "1/m"}
    post_json(client, "/api/login", {"email": "nobody@flowviz.com"})
    return post_json(client, "/api/login", {"email": "nobody@flowviz.com"})


def _unhandled(client, settings, monkeypatch):
    def explode(**kwargs):
        raise RuntimeError("SELECT secret FROM somewhere")

    monkeypatch.setattr(selectors, "lot_get", explode)
    return get_json(Client(raise_request_exception=False), "/api/lots/MIX-BATCH-88", demo_user(Role.VIEWER))


def _unavailable(client, settings, monkeypatch):
    def queue_down(**kwargs):
        raise jobs.JobQueueUnavailable()

    monkeypatch.setattr(jobs, "genealogy_job_start", queue_down)
    return client.post("/api/traceability/MIX-BATCH-88/jobs", **bearer(demo_user(Role.VIEWER)))


def _unparsable(client, settings, monkeypatch):
    return post_json(client, "/api/lots", "{not json", demo_user(Role.OPERATOR))


# status → (a real request answering it, its message)
ERRORS = {
    400: (_unparsable, "Cannot parse request body"),
    401: (_unauthenticated, "Not authenticated"),
    403: (_role_refused, "Requires one of: ADMIN, MANAGER, OPERATOR"),
    404: (_not_found, "Lot not found"),
    405: (_wrong_method, "Method Not Allowed"),
    409: (_conflict, "Lot code already exists"),
    413: (_too_large, "Request body too large"),
    429: (_throttled, "Too many requests."),
    500: (_unhandled, "Internal server error"),
    503: (_unavailable, "The job queue is unavailable; try again later"),
}


@pytest.mark.parametrize("status", sorted(ERRORS))
def test_every_error_body_has_detail_and_error(demo, settings, monkeypatch, status):
    request, message = ERRORS[status]
    response = request(Client(), settings, monkeypatch)
    assert response.status_code == status
    assert response["Content-Type"].startswith("application/json")
    assert response.json() == error_body(message)


def test_a_500_body_has_no_internals(demo, settings, monkeypatch):
    response = _unhandled(Client(), settings, monkeypatch)
    assert b"SELECT" not in response.content


# body → (the first offending field's line)
VALIDATION = {
    "missing_required": ({}, "lot_code: Field required"),
    "nested": (
        {"lot_code": "X-1", "parents": [{"lot_code": "RAW-BEEF-001"}, {"lot_code": ""}]},
        "parents[1].lot_code: String should have at least 1 character",
    ),
    "unknown_field": ({"lot_code": "X-2", "colour": "red"}, "colour: Extra inputs are not permitted"),
    "not_an_object": ([1, 2], "body: Input should be a valid dictionary or object to extract fields from"),
}


@pytest.mark.parametrize("case", sorted(VALIDATION))
def test_a_422_error_line_names_the_first_offending_field(demo, case):
    body, line = VALIDATION[case]
    response = post_json(Client(), "/api/lots", body, demo_user(Role.OPERATOR))
    assert response.status_code == 422
    assert response.json()["error"] == line
    assert response.json()["detail"][0]["msg"] in line


def test_a_422_raised_by_a_service_names_its_field_too(demo):
    body = {"lot_code": "MIX-9", "parents": [{"lot_code": "RAW-BEEF-001"}, {"lot_code": "NOPE"}]}
    response = post_json(Client(), "/api/lots", body, demo_user(Role.OPERATOR))
    assert response.status_code == 422
    assert response.json() == {
        "detail": [
            {
                "type": "value_error",
                "loc": ["body", "payload", "parents", 1, "lot_code"],
                "msg": "Parent lot NOPE does not exist",
            }
        ],
        "error": "parents[1].lot_code: Parent lot NOPE does not exist",
    }


def test_a_422_on_a_query_parameter_names_it(demo):
    response = get_json(Client(), "/api/lots?limit=0", demo_user(Role.VIEWER))
    assert response.status_code == 422
    assert response.json()["error"] == "limit: Input should be greater than or equal to 1"


NOT_FOUND = error_body("Not Found")


@pytest.mark.parametrize(
    "path",
    ["/api/nope", "/api/", "/api/lots/a%2Fb", "/api/lots/MIX-BATCH-88/nope", "/api/flows/x/y/z/w"],
)
def test_an_unknown_api_path_is_a_json_404(db, path):
    response = Client().get(path)
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    assert response.json() == NOT_FOUND


def test_an_unknown_api_path_is_json_with_debug_on_too(db, settings):
    settings.DEBUG = True
    response = Client().post("/api/nope", "{}", content_type="application/json")
    assert response.status_code == 404
    assert response.json() == NOT_FOUND


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [("delete", "/api/lots/X", "GET"), ("get", "/api/login", "POST"), ("put", "/api/lots", "GET, POST")],
)
def test_a_wrong_method_on_a_known_path_is_a_json_405(db, method, path, allowed):
    response = getattr(Client(), method)(path)
    assert response.status_code == 405
    assert response.json() == error_body("Method Not Allowed")
    assert sorted(response["Allow"].split(", ")) == sorted(allowed.split(", "))


def test_outside_the_api_django_html_pages_stay(db):
    response = Client().get("/nope/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
