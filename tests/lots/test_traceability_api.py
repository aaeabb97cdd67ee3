"""Deep traceability over /api: the graph, the recall report (JSON and CSV) and genealogy jobs."""

from __future__ import annotations

import csv
import gzip
import io

import pytest
from asgiref.sync import async_to_sync
from django.test import AsyncClient, Client

from accounts.roles import Role
from flowviz.demo.seed import DEMO_LOTS
from quality.models import Decision, QcDecision
from tests.api_support import LOT_KEYS, error_body
from tests.lots.conftest import genealogy

pytestmark = pytest.mark.django_db

DEMO_IDS = {code: lot_id for lot_id, code, _, _ in DEMO_LOTS}


def get(url: str, headers: dict[str, str]):
    return Client().get(url, **headers)


# --- GET /api/traceability/{lot_code}/graph ------------------------------------------------


def test_graph_of_the_demo_mix_is_the_contract_shape(headers):
    response = get("/api/traceability/MIX-BATCH-88/graph", headers())
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"root", "nodes", "edges", "ancestor_count", "descendant_count"}
    assert body["root"] == "MIX-BATCH-88"
    assert [(n["lot"]["lot_code"], n["depth"]) for n in body["nodes"]] == [
        ("RAW-BEEF-001", -1),
        ("RAW-SPICE-001", -1),
        ("MIX-BATCH-88", 0),
        ("FG-DONER-X1", 1),
    ]
    assert (body["ancestor_count"], body["descendant_count"]) == (2, 1)
    for node in body["nodes"]:
        assert list(node) == ["lot", "depth", "qc_status", "held_by"]
        assert (node["qc_status"], node["held_by"]) == (None, [])
        assert set(node["lot"]) == LOT_KEYS
    mix = body["nodes"][2]["lot"]
    assert mix["id"] == DEMO_IDS["MIX-BATCH-88"]
    assert mix["weight_kg"] == "540.00"
    assert mix["metadata"] == {}
    assert mix["created_at"].endswith("Z")
    assert {(e["parent_lot_id"], e["child_lot_id"], e["quantity_used_kg"]) for e in body["edges"]} == {
        (DEMO_IDS["RAW-BEEF-001"], DEMO_IDS["MIX-BATCH-88"], "500.00"),
        (DEMO_IDS["RAW-SPICE-001"], DEMO_IDS["MIX-BATCH-88"], "40.00"),
        (DEMO_IDS["MIX-BATCH-88"], DEMO_IDS["FG-DONER-X1"], "530.00"),
    }


def test_graph_body_equals_the_one_step_lot_shape(headers):
    graph = get("/api/traceability/MIX-BATCH-88/graph", headers()).json()
    one_step = get("/api/traceability/MIX-BATCH-88", headers()).json()
    central = next(n["lot"] for n in graph["nodes"] if n["depth"] == 0)
    assert central == one_step["central"]


def test_graph_direction_up_and_down(headers):
    up = get("/api/traceability/FG-DONER-X1/graph?direction=up", headers()).json()
    assert {n["lot"]["lot_code"]: n["depth"] for n in up["nodes"]} == {
        "RAW-BEEF-001": -2,
        "RAW-SPICE-001": -2,
        "MIX-BATCH-88": -1,
        "FG-DONER-X1": 0,
    }
    down = get("/api/traceability/MIX-BATCH-88/graph?direction=down", headers()).json()
    assert (down["ancestor_count"], down["descendant_count"]) == (0, 1)


def test_graph_max_depth(headers):
    body = get("/api/traceability/FG-DONER-X1/graph?max_depth=1", headers()).json()
    assert [n["lot"]["lot_code"] for n in body["nodes"]] == ["MIX-BATCH-88", "FG-DONER-X1"]
    assert len(body["edges"]) == 1
    root_only = get("/api/traceability/FG-DONER-X1/graph?max_depth=0", headers()).json()
    assert (len(root_only["nodes"]), root_only["edges"]) == (1, [])


def test_graph_is_sent_gzip_compressed_to_a_client_that_accepts_it(headers):
    plain = get("/api/traceability/MIX-BATCH-88/graph", headers())
    url = "/api/traceability/MIX-BATCH-88/graph"
    packed = Client().get(url, HTTP_ACCEPT_ENCODING="br, gzip", **headers())
    assert packed.status_code == 200
    assert packed["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in packed["Vary"]
    assert gzip.decompress(packed.content) == plain.content


@pytest.mark.parametrize("accept", ["", "identity", "gzip;q=0", "br"])
def test_graph_is_sent_plain_unless_gzip_is_accepted(headers, accept):
    response = Client().get("/api/traceability/MIX-BATCH-88/graph", HTTP_ACCEPT_ENCODING=accept, **headers())
    assert response.status_code == 200
    assert not response.has_header("Content-Encoding")
    assert "Accept-Encoding" in response["Vary"]
    assert response.json()["root"] == "MIX-BATCH-88"


def test_graph_of_an_unknown_lot_is_a_plain_404_even_with_gzip_accepted(headers):
    response = Client().get("/api/traceability/NOPE/graph", HTTP_ACCEPT_ENCODING="gzip", **headers())
    assert (response.status_code, response.json()) == (404, error_body("Lot not found"))


def test_graph_is_open_to_every_role(headers):
    for role in Role.values:
        assert get("/api/traceability/MIX-BATCH-88/graph", headers(role)).status_code == 200


def test_graph_of_an_unknown_lot_is_404(headers):
    response = get("/api/traceability/NOPE/graph", headers())
    assert (response.status_code, response.json()) == (404, error_body("Lot not found"))


@pytest.mark.parametrize("query", ["direction=sideways", "max_depth=-1", "max_depth=abc"])
def test_graph_bad_parameters_are_422(headers, query):
    response = get(f"/api/traceability/MIX-BATCH-88/graph?{query}", headers())
    assert response.status_code == 422
    assert isinstance(response.json()["detail"], list)


def test_graph_needs_a_token(demo):
    response = Client().get("/api/traceability/MIX-BATCH-88/graph")
    assert (response.status_code, response.json()) == (401, error_body("Not authenticated"))


# --- GET /api/recall/{lot_code} -------------------------------------------------------------


def test_recall_of_a_raw_lot_lists_the_finished_good_with_path_length_and_weight(headers):
    response = get("/api/recall/RAW-BEEF-001", headers(Role.AUDITOR))
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {
        "lot_code",
        "generated_at",
        "affected_count",
        "total_weight_kg",
        "lots",
        "reconciliation",
    }
    assert (body["lot_code"], body["affected_count"], body["total_weight_kg"]) == (
        "RAW-BEEF-001",
        1,
        "530.00",
    )
    [entry] = body["lots"]
    assert set(entry) == {"lot", "path_length", "latest_decision", "latest_decision_at", "recalled_kg"}
    assert set(entry["lot"]) == LOT_KEYS
    assert (entry["lot"]["lot_code"], entry["path_length"], entry["latest_decision"]) == (
        "FG-DONER-X1",
        2,
        None,
    )
    # 500 kg of beef in the 540 kg mix; the FG lot drew 530 kg of the mix: 500 x 530 / 540.
    assert entry["recalled_kg"] == "490.74"


def test_recall_reports_the_latest_qc_decision_of_each_finished_good(headers):
    lots = genealogy(
        [("SRC", "FG-1"), ("SRC", "MID"), ("MID", "FG-2")], lot_types={"FG-1": "FG", "FG-2": "FG"}
    )
    QcDecision.objects.create(lot=lots["FG-1"], decision=Decision.PASS)
    QcDecision.objects.create(lot=lots["FG-1"], decision=Decision.HOLD)
    body = get("/api/recall/SRC", headers(Role.MANAGER)).json()
    assert [(e["lot"]["lot_code"], e["path_length"], e["latest_decision"]) for e in body["lots"]] == [
        ("FG-1", 1, "HOLD"),
        ("FG-2", 2, None),
    ]
    assert body["lots"][0]["latest_decision_at"].endswith("Z")
    assert (body["affected_count"], body["total_weight_kg"]) == (2, "200.00")


async def _download(url: str, auth: dict[str, str]):
    # Streamed through ASGI, as in production: the CSV body is an async iterator.
    response = await AsyncClient().get(url, headers={"Authorization": auth["HTTP_AUTHORIZATION"]})
    return response, b"".join([chunk async for chunk in response.streaming_content])


def test_recall_csv_parses_and_matches_the_json(headers):
    genealogy([("SRC", "FG-1"), ("SRC", "MID"), ("MID", "FG-2")], lot_types={"FG-1": "FG", "FG-2": "FG"})
    auth = headers(Role.ADMIN)
    report = get("/api/recall/SRC", auth).json()
    response, content = async_to_sync(_download)("/api/recall/SRC?format=csv", auth)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"] == 'attachment; filename="recall-SRC.csv"'
    rows = list(csv.DictReader(io.StringIO(content.decode())))
    assert [
        (
            r["lot_code"],
            r["lot_id"],
            r["weight_kg"],
            int(r["path_length"]),
            r["latest_decision"],
            r["recalled_kg"],
        )
        for r in rows
    ] == [
        (
            e["lot"]["lot_code"],
            e["lot"]["id"],
            e["lot"]["weight_kg"],
            e["path_length"],
            e["latest_decision"] or "",
            e["recalled_kg"],
        )
        for e in report["lots"]
    ]


@pytest.mark.parametrize("role", [Role.OPERATOR, Role.VIEWER])
def test_recall_is_refused_to_operators_and_viewers(headers, role):
    response = get("/api/recall/RAW-BEEF-001", headers(role))
    assert (response.status_code, response.json()) == (
        403,
        error_body("Requires one of: ADMIN, MANAGER, AUDITOR"),
    )


def test_recall_of_an_unknown_lot_is_404(headers):
    response = get("/api/recall/NOPE", headers(Role.ADMIN))
    assert (response.status_code, response.json()) == (404, error_body("Lot not found"))


def test_recall_bad_format_is_422(headers):
    assert get("/api/recall/RAW-BEEF-001?format=xml", headers(Role.ADMIN)).status_code == 422


# --- Genealogy jobs (tasks inline here; tests/lots/test_tasks.py runs a real worker) ---------


def test_job_runs_and_its_result_is_the_graph(headers):
    auth = headers()
    started = Client().post("/api/traceability/MIX-BATCH-88/jobs", **auth)
    assert started.status_code == 202
    job = started.json()
    assert set(job) == {"job_id", "status", "status_url"}
    assert (job["status"], job["status_url"]) == ("PENDING", f"/api/jobs/{job['job_id']}")
    status = get(job["status_url"], auth)
    assert status.status_code == 200
    body = status.json()
    assert (body["job_id"], body["status"], body["error"]) == (job["job_id"], "SUCCESS", None)
    assert body["result"] == get("/api/traceability/MIX-BATCH-88/graph", auth).json()


def test_job_for_an_unknown_lot_is_404(headers):
    response = Client().post("/api/traceability/NOPE/jobs", **headers())
    assert (response.status_code, response.json()) == (404, error_body("Lot not found"))


def test_unknown_job_id_is_404_and_a_malformed_one_422(headers):
    unknown = get("/api/jobs/6f1c1d1e-0000-4000-8000-000000000000", headers())
    assert (unknown.status_code, unknown.json()) == (404, error_body("Job not found"))
    assert get("/api/jobs/not-a-uuid", headers()).status_code == 422


def test_openapi_documents_the_traceability_endpoints(headers):
    schema = Client().get("/api/openapi.json").json()
    paths = schema["paths"]
    graph = paths["/api/traceability/{lot_code}/graph"]["get"]
    assert {p["name"] for p in graph["parameters"]} >= {"lot_code", "direction", "max_depth"}
    assert "GraphOut" in str(graph["responses"]["200"])
    assert "RecallOut" in str(paths["/api/recall/{lot_code}"]["get"]["responses"]["200"])
    assert "JobCreatedOut" in str(paths["/api/traceability/{lot_code}/jobs"]["post"]["responses"]["202"])
    assert "JobOut" in str(paths["/api/jobs/{job_id}"]["get"]["responses"]["200"])


def test_lot_codes_with_spaces_and_a_huge_max_depth_are_served(headers):
    genealogy([("RAW 1: beef", "MIX 1")])
    auth = headers()
    for _ in range(2):  # computed, then from the cache
        response = get("/api/traceability/RAW%201%3A%20beef/graph?max_depth=99999999999999999999", auth)
        assert response.status_code == 200
        assert [n["lot"]["lot_code"] for n in response.json()["nodes"]] == ["RAW 1: beef", "MIX 1"]
