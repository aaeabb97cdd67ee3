"""Characterization: the success and error body of every endpoint, compared with a golden file.

The frontend is unchanged, so a response whose keys, types or messages drift fails here.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from django.test import Client

from accounts.models import User
from accounts.roles import Role
from lots.models import Lot
from quality.models import QcDecision
from tests.api_support import assert_matches_golden, bearer, demo_user, get_json, post_json
from tests.flowviz.production.flow_support import FLOW_NAME, flow_published, flow_with_draft, line_graph

FG_ID = "33333333-3333-3333-3333-333333333301"


def _login_ok(client: Client):
    user = User.objects.create_user("golden@flowviz.com", "golden-pass-123", full_name="Golden User")
    user.role = Role.OPERATOR
    user.save()
    return post_json(client, "/api/login", {"email": "golden@flowviz.com", "password": "golden-pass-123"})


def _hold_fg(client: Client):
    QcDecision.objects.create(lot=Lot.objects.get(lot_code="FG-DONER-X1"), decision="HOLD", notes="x" * 12)


def _hold_beef(client: Client):
    """A HOLD on the demo's beef, recorded through the API (so it spreads to the mix and the FG)."""
    beef = Lot.objects.get(lot_code="RAW-BEEF-001")
    body = {"lot_id": str(beef.pk), "decision": "HOLD", "notes": "Supplier recall notice"}
    assert post_json(client, "/api/qc-decisions", body, demo_user(Role.AUDITOR)).status_code == 201


CASES: dict[str, Callable[[Client], object]] = {
    "health_200": lambda c: c.get("/api/health"),
    "login_200": _login_ok,
    "login_401": lambda c: post_json(c, "/api/login", {"email": "nobody@flowviz.com", "password": "x"}),
    "login_422_email": lambda c: post_json(c, "/api/login", {"email": "not-an-email"}),
    "login_400_not_json": lambda c: post_json(c, "/api/login", "{not json"),
    "lots_list_200": lambda c: get_json(c, "/api/lots", demo_user(Role.VIEWER)),
    "lots_list_401": lambda c: get_json(c, "/api/lots"),
    "lots_list_422_limit": lambda c: get_json(c, "/api/lots?limit=1001", demo_user(Role.VIEWER)),
    "lot_detail_200": lambda c: get_json(c, "/api/lots/MIX-BATCH-88", demo_user(Role.VIEWER)),
    "lot_detail_404": lambda c: get_json(c, "/api/lots/NO-SUCH-LOT", demo_user(Role.VIEWER)),
    "lot_create_201": lambda c: post_json(
        c,
        "/api/lots",
        {
            "lot_code": "SKW-GOLDEN-1",
            "lot_type": "SKW",
            "weight_kg": 12.5,
            "temperature_c": "-18",
            "metadata": {"line": 2},
            "parents": [{"lot_code": "MIX-BATCH-88", "quantity_used_kg": "10"}],
        },
        demo_user(Role.OPERATOR),
    ),
    "lot_create_403": lambda c: post_json(c, "/api/lots", {"lot_code": "X"}, demo_user(Role.VIEWER)),
    "lot_create_409_duplicate": lambda c: post_json(
        c, "/api/lots", {"lot_code": "MIX-BATCH-88"}, demo_user(Role.OPERATOR)
    ),
    "lot_create_409_mass_balance": lambda c: post_json(
        c,
        "/api/lots",
        {"lot_code": "MIX-2", "parents": [{"lot_code": "RAW-SPICE-001", "quantity_used_kg": 10.01}]},
        demo_user(Role.OPERATOR),
    ),
    "lot_create_409_parent_on_hold": lambda c: (
        _hold_fg(c),
        post_json(
            c, "/api/lots", {"lot_code": "PAL-1", "parents": [{"lot_id": FG_ID}]}, demo_user(Role.OPERATOR)
        ),
    )[1],
    "lot_create_422_unknown_parent": lambda c: post_json(
        c, "/api/lots", {"lot_code": "MIX-3", "parents": [{"lot_code": "NOPE"}]}, demo_user(Role.OPERATOR)
    ),
    "lot_create_422_bounds_and_unknown_field": lambda c: post_json(
        c,
        "/api/lots",
        {"lot_code": "X", "weight_kg": "10000.01", "temperature_c": "4.55", "DROP TABLE lots": 1},
        demo_user(Role.OPERATOR),
    ),
    "lot_parents_201": lambda c: post_json(
        c,
        "/api/lots/FG-DONER-X1/parents",
        {"parents": [{"lot_code": "RAW-SPICE-001", "quantity_used_kg": "2.5"}]},
        demo_user(Role.MANAGER),
    ),
    "lot_parents_409_cycle": lambda c: post_json(
        c, "/api/lots/RAW-BEEF-001/parents", {"parents": [{"lot_code": "FG-DONER-X1"}]}, demo_user(Role.ADMIN)
    ),
    "lot_parents_404": lambda c: post_json(
        c, "/api/lots/NOPE/parents", {"parents": [{"lot_code": "RAW-BEEF-001"}]}, demo_user(Role.ADMIN)
    ),
    "qc_decision_201": lambda c: post_json(
        c,
        "/api/qc-decisions",
        {"lot_id": FG_ID, "decision": "PASS", "temperature_c": 4.5, "digital_signature": "sig"},
        demo_user(Role.AUDITOR),
    ),
    "qc_decision_422_notes": lambda c: post_json(
        c,
        "/api/qc-decisions",
        {"lot_id": FG_ID, "decision": "FAIL", "notes": "   bad    "},
        demo_user(Role.ADMIN),
    ),
    "qc_decision_422_unknown_lot": lambda c: post_json(
        c,
        "/api/qc-decisions",
        {"lot_id": "99999999-9999-9999-9999-999999999999", "decision": "PASS"},
        demo_user(Role.ADMIN),
    ),
    "qc_decision_403": lambda c: post_json(
        c, "/api/qc-decisions", {"lot_id": FG_ID, "decision": "PASS"}, demo_user(Role.VIEWER)
    ),
    "qc_decisions_list_200": lambda c: (
        _hold_fg(c),
        get_json(c, "/api/lots/FG-DONER-X1/qc-decisions", demo_user(Role.VIEWER)),
    )[1],
    "qc_decisions_list_404": lambda c: get_json(c, "/api/lots/NOPE/qc-decisions", demo_user(Role.VIEWER)),
    "traceability_200": lambda c: get_json(c, "/api/traceability/MIX-BATCH-88", demo_user(Role.VIEWER)),
    "lot_create_409_parent_suspect": lambda c: (
        _hold_beef(c),
        post_json(
            c, "/api/lots", {"lot_code": "PAL-2", "parents": [{"lot_id": FG_ID}]}, demo_user(Role.OPERATOR)
        ),
    )[1],
    "traceability_graph_200": lambda c: (
        _hold_beef(c),
        get_json(c, "/api/traceability/MIX-BATCH-88/graph", demo_user(Role.VIEWER)),
    )[1],
    "holds_200": lambda c: (_hold_beef(c), get_json(c, "/api/holds", demo_user(Role.VIEWER)))[1],
    "recall_200": lambda c: get_json(c, "/api/recall/RAW-BEEF-001", demo_user(Role.AUDITOR)),
    "traceability_404": lambda c: get_json(c, "/api/traceability/NOPE", demo_user(Role.VIEWER)),
}


def _flow_path(suffix: str = "", *, published: bool = False) -> str:
    flow_id = flow_published(actor=demo_user(Role.MANAGER)) if published else flow_with_draft()
    return f"/api/flows/{flow_id}{suffix}"


def _put_graph(client: Client, path: str, graph: dict, role: str = Role.OPERATOR):
    return client.put(
        path, json.dumps({"graph_schema": graph}), content_type="application/json", **bearer(demo_user(role))
    )


def _broken_edge() -> dict:
    graph = line_graph()
    graph["edges"][1]["target"] = "nowhere"
    return graph


def _without(node_type: str) -> dict:
    graph = line_graph()
    removed = {n["id"] for n in graph["nodes"] if n["data"]["nodeType"] == node_type}
    graph["nodes"] = [n for n in graph["nodes"] if n["id"] not in removed]
    graph["edges"] = [e for e in graph["edges"] if not {e["source"], e["target"]} & removed]
    return graph


def _draft_archived(client: Client):
    path = _flow_path()
    post_json(client, path + "/versions/1/archive", {}, demo_user(Role.MANAGER))
    return path


def _published_without_draft(client: Client):
    path = _flow_path(published=True)
    post_json(client, path + "/versions/2/archive", {}, demo_user(Role.MANAGER))
    return path


MISSING_FLOW = "/api/flows/99999999-9999-4999-8999-999999999999"

FLOW_CASES: dict[str, Callable[[Client], object]] = {
    "flows_list_200": lambda c: (
        _flow_path(published=True),
        get_json(c, "/api/flows", demo_user(Role.VIEWER)),
    )[1],
    "flows_list_401": lambda c: get_json(c, "/api/flows"),
    "flow_create_201": lambda c: post_json(
        c, "/api/flows", {"name": FLOW_NAME, "description": "Line 1"}, demo_user(Role.OPERATOR)
    ),
    "flow_create_403": lambda c: post_json(c, "/api/flows", {"name": FLOW_NAME}, demo_user(Role.AUDITOR)),
    "flow_create_422_name": lambda c: post_json(
        c, "/api/flows", {"name": {"hu": "x"}}, demo_user(Role.ADMIN)
    ),
    "flow_detail_200": lambda c: get_json(c, _flow_path(), demo_user(Role.VIEWER)),
    "flow_detail_404": lambda c: get_json(c, MISSING_FLOW, demo_user(Role.VIEWER)),
    "flow_delete_204": lambda c: c.delete(_flow_path(), **bearer(demo_user(Role.MANAGER))),
    "flow_delete_403": lambda c: c.delete(_flow_path(), **bearer(demo_user(Role.OPERATOR))),
    "flow_delete_409_published": lambda c: c.delete(
        _flow_path(published=True), **bearer(demo_user(Role.ADMIN))
    ),
    "flow_versions_200": lambda c: get_json(
        c, _flow_path("/versions", published=True), demo_user(Role.VIEWER)
    ),
    "flow_versions_404": lambda c: get_json(c, MISSING_FLOW + "/versions", demo_user(Role.VIEWER)),
    "flow_version_200": lambda c: get_json(
        c, _flow_path("/versions/1", published=True), demo_user(Role.VIEWER)
    ),
    "flow_version_404": lambda c: get_json(c, _flow_path("/versions/5"), demo_user(Role.VIEWER)),
    "flow_draft_200": lambda c: get_json(c, _flow_path("/versions/latest/draft"), demo_user(Role.VIEWER)),
    "flow_draft_404": lambda c: get_json(
        c, _draft_archived(c) + "/versions/latest/draft", demo_user(Role.VIEWER)
    ),
    "flow_version_update_200": lambda c: _put_graph(c, _flow_path("/versions/1"), line_graph()),
    "flow_version_update_409_published": lambda c: _put_graph(
        c, _flow_path("/versions/1", published=True), line_graph()
    ),
    "flow_version_update_422_edge": lambda c: _put_graph(c, _flow_path("/versions/1"), _broken_edge()),
    "flow_version_update_422_types": lambda c: _put_graph(
        c,
        _flow_path("/versions/1"),
        {
            "nodes": [
                {
                    "id": "a",
                    "position": {"x": 0, "y": "0"},
                    "data": {"label": {"hu": "", "en": ""}, "nodeType": "x"},
                }
            ]
        },
    ),
    "flow_publish_200": lambda c: post_json(
        c, _flow_path("/versions/1/publish"), {}, demo_user(Role.MANAGER)
    ),
    "flow_publish_400_no_start": lambda c: post_json(
        c, _flow_path_with(_without("start")) + "/versions/1/publish", {}, demo_user(Role.MANAGER)
    ),
    "flow_publish_400_no_end": lambda c: post_json(
        c, _flow_path_with(_without("end")) + "/versions/1/publish", {}, demo_user(Role.MANAGER)
    ),
    "flow_publish_403": lambda c: post_json(
        c, _flow_path("/versions/1/publish"), {}, demo_user(Role.OPERATOR)
    ),
    "flow_publish_409": lambda c: post_json(
        c, _flow_path("/versions/1/publish", published=True), {}, demo_user(Role.ADMIN)
    ),
    "flow_fork_201": lambda c: post_json(
        c, _published_without_draft(c) + "/versions/1/fork", {}, demo_user(Role.OPERATOR)
    ),
    "flow_fork_409_draft": lambda c: post_json(
        c, _flow_path("/versions/1/fork", published=True), {}, demo_user(Role.OPERATOR)
    ),
    "flow_archive_200": lambda c: post_json(
        c, _flow_path("/versions/1/archive", published=True), {}, demo_user(Role.MANAGER)
    ),
    "flow_archive_409": lambda c: post_json(
        c, _draft_archived(c) + "/versions/1/archive", {}, demo_user(Role.MANAGER)
    ),
    "flow_archive_404": lambda c: post_json(
        c, _flow_path("/versions/3/archive"), {}, demo_user(Role.MANAGER)
    ),
}


def _flow_path_with(graph: dict) -> str:
    return f"/api/flows/{flow_with_draft(graph=graph)}"


CASES.update(FLOW_CASES)


@pytest.mark.parametrize("case", sorted(CASES))
def test_response_matches_golden_file(case, demo):
    response = CASES[case](Client())
    assert_matches_golden(case, response)


def test_throttled_login_matches_golden_file(demo, settings):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "login": "1/m"}
    client = Client()
    post_json(client, "/api/login", {"email": "nobody@flowviz.com"})
    assert_matches_golden("login_429", post_json(client, "/api/login", {"email": "nobody@flowviz.com"}))
