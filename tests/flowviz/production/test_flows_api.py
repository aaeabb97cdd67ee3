"""The Flow Editor endpoints (contract section 10): shapes, status codes and the version rules."""

from __future__ import annotations

import json
import uuid

import pytest
from django.test import Client

from accounts.roles import Role
from flowviz.production import selectors
from flowviz.production.models import FlowDefinition, FlowStatus, FlowVersion
from tests.api_support import bearer, demo_user, error_body, get_json, post_json
from tests.flowviz.production.flow_support import (
    FLOW_NAME,
    flow_published,
    flow_row,
    flow_with_draft,
    line_graph,
)

DEFINITION_KEYS = {"id", "name", "description", "created_by", "created_at", "updated_at"}
LIST_ITEM_KEYS = {
    "id",
    "name",
    "description",
    "created_at",
    "updated_at",
    "latest_version_num",
    "latest_status",
    "version_count",
}
VERSION_KEYS = {
    "id",
    "flow_definition_id",
    "version_num",
    "status",
    "graph_schema",
    "created_by",
    "published_at",
    "published_by",
    "created_at",
}
VERSION_LIST_ITEM_KEYS = VERSION_KEYS - {"graph_schema", "published_by"}
EMPTY_GRAPH = {"nodes": [], "edges": [], "viewport": {"x": 0, "y": 0, "zoom": 1}}


def _put(path: str, body: object, role: str = Role.OPERATOR):
    headers = bearer(demo_user(role))
    return Client().put(path, json.dumps(body), content_type="application/json", **headers)


def _version_path(flow_id: uuid.UUID, version_num: int | str, action: str = "") -> str:
    return f"/api/flows/{flow_id}/versions/{version_num}" + (f"/{action}" if action else "")


def _post(path: str, role: str = Role.MANAGER, body: object | None = None):
    return post_json(Client(), path, body if body is not None else {}, demo_user(role))


# --- definitions ---------------------------------------------------------------------------


def test_create_answers_the_definition_and_starts_version_1_as_an_empty_draft(demo):
    operator = demo_user(Role.OPERATOR)
    response = post_json(Client(), "/api/flows", {"name": FLOW_NAME, "description": "Line 1"}, operator)
    assert response.status_code == 201
    body = response.json()
    assert set(body) == DEFINITION_KEYS
    assert (body["name"], body["description"], body["created_by"]) == (FLOW_NAME, "Line 1", str(operator.pk))
    assert body["updated_at"] == body["created_at"]
    version = FlowVersion.objects.get(flow_definition_id=body["id"])
    assert (version.version_num, version.status, version.graph_schema) == (1, FlowStatus.DRAFT, EMPTY_GRAPH)
    assert version.created_by == operator


def test_create_without_a_description_stores_null(demo):
    response = post_json(Client(), "/api/flows", {"name": FLOW_NAME}, demo_user(Role.ADMIN))
    assert response.json()["description"] is None


@pytest.mark.parametrize(
    ("body", "line"),
    [
        ({}, "name: Field required"),
        ({"name": {"hu": "x"}}, "name.en: Field required"),
        ({"name": {"hu": " ", "en": ""}}, "name: Value error, give the name in at least one language"),
        ({"name": FLOW_NAME, "owner": "me"}, "owner: Extra inputs are not permitted"),
        (
            {"name": FLOW_NAME, "description": "x" * 2001},
            "description: String should have at most 2000 characters",
        ),
    ],
    ids=["no_name", "one_language_missing", "blank_name", "unknown_field", "long_description"],
)
def test_create_with_a_bad_body_is_422_naming_the_field_and_writes_nothing(demo, body, line):
    response = post_json(Client(), "/api/flows", body, demo_user(Role.ADMIN))
    assert response.status_code == 422
    assert response.json()["error"] == line
    assert not FlowDefinition.objects.exists()


def test_list_items_carry_the_latest_version_and_the_count_most_recently_updated_first(demo):
    older = flow_published()
    newer = flow_with_draft(name={"hu": "Új", "en": "New"})
    body = get_json(Client(), "/api/flows", demo_user(Role.VIEWER)).json()
    assert [item["id"] for item in body] == [str(newer), str(older)]
    assert all(set(item) == LIST_ITEM_KEYS for item in body)
    assert [(i["latest_version_num"], i["latest_status"], i["version_count"]) for i in body] == [
        (1, "DRAFT", 1),
        (2, "DRAFT", 2),
    ]


def test_a_flow_without_versions_is_listed_with_null_latest_and_count_0(demo):
    flow_id = flow_with_draft()
    FlowVersion.objects.filter(flow_definition_id=flow_id).delete()
    (item,) = get_json(Client(), "/api/flows", demo_user(Role.VIEWER)).json()
    assert (item["latest_version_num"], item["latest_status"], item["version_count"]) == (None, None, 0)


def test_the_list_is_one_query_however_many_flows(demo, django_assert_num_queries):
    for _ in range(5):
        flow_published()
    with django_assert_num_queries(1):
        assert len(selectors.flow_list()) == 5


def test_detail_is_the_definition(demo):
    flow_id = flow_with_draft()
    body = get_json(Client(), f"/api/flows/{flow_id}", demo_user(Role.VIEWER)).json()
    assert set(body) == DEFINITION_KEYS
    assert body["id"] == str(flow_id)


def test_an_unknown_flow_is_404(demo):
    response = get_json(Client(), f"/api/flows/{uuid.uuid4()}", demo_user(Role.VIEWER))
    assert (response.status_code, response.json()) == (404, error_body("Flow definition not found"))


def test_a_malformed_flow_id_is_422_naming_it(demo):
    response = get_json(Client(), "/api/flows/not-a-uuid", demo_user(Role.VIEWER))
    assert response.status_code == 422
    assert response.json()["error"].startswith("flow_id: ")


def test_delete_removes_the_flow_and_its_versions(demo):
    flow_id = flow_with_draft()
    response = Client().delete(f"/api/flows/{flow_id}", **bearer(demo_user(Role.MANAGER)))
    assert (response.status_code, response.content) == (204, b"")
    assert not FlowDefinition.objects.filter(pk=flow_id).exists()
    assert not FlowVersion.objects.filter(flow_definition_id=flow_id).exists()


def test_delete_of_a_flow_that_was_ever_published_is_409_and_deletes_nothing(demo):
    flow_id = flow_published()
    FlowVersion.objects.filter(flow_definition_id=flow_id, version_num=1).update(status=FlowStatus.ARCHIVED)
    response = Client().delete(f"/api/flows/{flow_id}", **bearer(demo_user(Role.ADMIN)))
    assert response.status_code == 409
    assert "archive" in response.json()["detail"]
    assert FlowVersion.objects.filter(flow_definition_id=flow_id).count() == 2


# --- versions ------------------------------------------------------------------------------


def test_versions_are_listed_highest_number_first_without_their_graphs(demo):
    flow_id = flow_published()
    body = get_json(Client(), f"/api/flows/{flow_id}/versions", demo_user(Role.VIEWER)).json()
    assert [(v["version_num"], v["status"]) for v in body] == [(2, "DRAFT"), (1, "PUBLISHED")]
    assert all(set(v) == VERSION_LIST_ITEM_KEYS for v in body)


def test_versions_of_an_unknown_flow_is_404(demo):
    response = get_json(Client(), f"/api/flows/{uuid.uuid4()}/versions", demo_user(Role.VIEWER))
    assert (response.status_code, response.json()) == (404, error_body("Flow definition not found"))


def test_a_version_has_its_graph(demo):
    flow_id = flow_with_draft()
    body = get_json(Client(), _version_path(flow_id, 1), demo_user(Role.VIEWER)).json()
    assert set(body) == VERSION_KEYS
    assert body["graph_schema"] == line_graph()


def test_an_unknown_version_is_404_naming_it(demo):
    flow_id = flow_with_draft()
    response = get_json(Client(), _version_path(flow_id, 9), demo_user(Role.VIEWER))
    assert (response.status_code, response.json()) == (404, error_body("Version 9 not found for this flow"))


def test_a_version_of_an_unknown_flow_is_404_for_the_flow(demo):
    response = get_json(Client(), _version_path(uuid.uuid4(), 1), demo_user(Role.VIEWER))
    assert response.json() == error_body("Flow definition not found")


@pytest.mark.parametrize("number", ["0", "2147483648", "abc"])
def test_a_version_number_out_of_range_is_422(demo, number):
    response = get_json(Client(), _version_path(flow_with_draft(), number), demo_user(Role.VIEWER))
    assert response.status_code == 422
    assert response.json()["error"].startswith("version_num: ")


def test_the_latest_draft_is_the_flows_draft(demo):
    flow_id = flow_published()
    body = get_json(Client(), f"/api/flows/{flow_id}/versions/latest/draft", demo_user(Role.VIEWER)).json()
    assert (body["version_num"], body["status"]) == (2, "DRAFT")


def test_no_draft_is_404(demo):
    flow_id = flow_with_draft()
    _post(_version_path(flow_id, 1, "archive"))
    response = get_json(Client(), f"/api/flows/{flow_id}/versions/latest/draft", demo_user(Role.VIEWER))
    assert (response.status_code, response.json()) == (
        404,
        error_body("No draft version found for this flow"),
    )


def test_put_replaces_a_drafts_graph_fills_the_defaults_and_touches_the_flow(demo):
    flow_id = flow_with_draft()
    before = flow_row(flow_id).updated_at
    graph = line_graph()
    del graph["nodes"][1]["type"], graph["edges"][0]["animated"], graph["viewport"]
    response = _put(_version_path(flow_id, 1), {"graph_schema": graph})
    assert response.status_code == 200
    stored = response.json()["graph_schema"]
    assert stored == line_graph()
    assert FlowVersion.objects.get(flow_definition_id=flow_id).graph_schema == stored
    assert flow_row(flow_id).updated_at > before


def test_put_keeps_keys_the_editor_added(demo):
    flow_id = flow_with_draft()
    graph = line_graph()
    graph["nodes"][1]["selected"] = True
    graph["nodes"][1]["data"]["color"] = "#4a9eff"
    stored = _put(_version_path(flow_id, 1), {"graph_schema": graph}).json()["graph_schema"]
    assert stored["nodes"][1]["selected"] is True
    assert stored["nodes"][1]["data"]["color"] == "#4a9eff"


@pytest.mark.parametrize("status", [FlowStatus.PUBLISHED, FlowStatus.ARCHIVED])
def test_put_on_a_frozen_version_is_409_naming_its_status(demo, status):
    flow_id = flow_published()
    if status == FlowStatus.ARCHIVED:
        _post(_version_path(flow_id, 1, "archive"))
    response = _put(_version_path(flow_id, 1), {"graph_schema": {"nodes": [], "edges": []}})
    assert response.status_code == 409
    assert response.json() == error_body(f"Version 1 is {status}; only a DRAFT version can be changed")
    assert FlowVersion.objects.get(flow_definition_id=flow_id, version_num=1).graph_schema == line_graph()


def _invalid(change) -> dict:
    graph = line_graph()
    change(graph)
    return graph


# case → (how the graph is broken, the 422 error line)
INVALID_GRAPHS = {
    "edge_to_a_missing_node": (
        lambda g: g["edges"][1].update(target="nowhere"),
        "graph_schema.edges[1].target: The target 'nowhere' of edge 'e2' is not a node of this graph",
    ),
    "edge_from_a_missing_node": (
        lambda g: g["edges"][0].update(source="ghost"),
        "graph_schema.edges[0].source: The source 'ghost' of edge 'e1' is not a node of this graph",
    ),
    "duplicate_node_ids": (
        lambda g: g["nodes"][5].update(id="in"),
        "graph_schema.nodes[5].id: Duplicate node id 'in'",
    ),
    "duplicate_edge_ids": (
        lambda g: g["edges"][3].update(id="e1"),
        "graph_schema.edges[3].id: Duplicate edge id 'e1'",
    ),
    "unknown_node_type": (
        lambda g: g["nodes"][2]["data"].update(nodeType="robot"),
        "graph_schema.nodes[2].data.nodeType: Input should be 'start', 'end', 'process', 'qc_gate', "
        "'buffer' or 'group'",
    ),
    "position_as_text": (
        lambda g: g["nodes"][1]["position"].update(x="10"),
        "graph_schema.nodes[1].position.x: Input should be a valid number",
    ),
    "position_as_boolean": (
        lambda g: g["nodes"][1]["position"].update(y=True),
        "graph_schema.nodes[1].position.y: Input should be a valid number",
    ),
    "position_missing": (
        lambda g: g["nodes"][3].pop("position"),
        "graph_schema.nodes[3].position: Field required",
    ),
    "parent_missing": (
        lambda g: g["nodes"][2].update(parentId="lane-z"),
        "graph_schema.nodes[2].parentId: Parent 'lane-z' of node 'debone' is not a node of this graph",
    ),
    "parents_loop": (
        lambda g: g["nodes"][0].update(parentId="debone"),
        "graph_schema.nodes[0].parentId: Node 'lane-a' is inside itself (its parents loop)",
    ),
    "label_not_bilingual": (
        lambda g: g["nodes"][1]["data"].update(label="Goods in"),
        "graph_schema.nodes[1].data.label: Input should be a valid dictionary or instance of Label",
    ),
    "unknown_graph_key": (
        lambda g: g.update(layers=[]),
        "graph_schema.layers: Extra inputs are not permitted",
    ),
}


@pytest.mark.parametrize("case", sorted(INVALID_GRAPHS))
def test_an_invalid_graph_is_422_naming_the_field_and_writes_nothing(demo, case):
    flow_id = flow_with_draft(graph=EMPTY_GRAPH)
    before = flow_row(flow_id).updated_at
    change, line = INVALID_GRAPHS[case]
    response = _put(_version_path(flow_id, 1), {"graph_schema": _invalid(change)})
    assert response.status_code == 422
    assert response.json()["error"] == line
    assert FlowVersion.objects.get(flow_definition_id=flow_id).graph_schema == EMPTY_GRAPH
    assert flow_row(flow_id).updated_at == before


def test_publish_freezes_the_draft_and_starts_the_next_draft_as_its_copy(demo):
    manager = demo_user(Role.MANAGER)
    flow_id = flow_with_draft()
    response = _post(_version_path(flow_id, 1, "publish"))
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"published_version", "new_draft"}
    published, draft = body["published_version"], body["new_draft"]
    assert (published["version_num"], published["status"], published["published_by"]) == (
        1,
        "PUBLISHED",
        str(manager.pk),
    )
    assert published["published_at"] is not None
    assert (draft["version_num"], draft["status"], draft["published_at"]) == (2, "DRAFT", None)
    assert draft["graph_schema"] == published["graph_schema"] == line_graph()


@pytest.mark.parametrize(("missing", "message"), [("start", "START"), ("end", "END")])
def test_publish_without_a_start_or_end_node_is_400_and_changes_nothing(demo, missing, message):
    graph = line_graph()
    removed = {n["id"] for n in graph["nodes"] if n["data"]["nodeType"] == missing}
    graph["nodes"] = [n for n in graph["nodes"] if n["id"] not in removed]
    graph["edges"] = [e for e in graph["edges"] if not {e["source"], e["target"]} & removed]
    flow_id = flow_with_draft(graph=graph)
    response = _post(_version_path(flow_id, 1, "publish"))
    assert response.status_code == 400
    assert response.json() == error_body(f"Cannot publish: Flow must have at least one {message} node")
    assert list(FlowVersion.objects.filter(flow_definition_id=flow_id).values_list("status", flat=True)) == [
        "DRAFT"
    ]


def test_publishing_a_published_version_is_409(demo):
    flow_id = flow_published()
    response = _post(_version_path(flow_id, 1, "publish"))
    assert response.status_code == 409
    assert response.json() == error_body("Version 1 is PUBLISHED; only a DRAFT version can be published")


def test_fork_starts_a_draft_numbered_after_the_highest_copying_the_version(demo):
    flow_id = flow_published()
    _post(_version_path(flow_id, 2, "archive"))
    response = _post(_version_path(flow_id, 1, "fork"), Role.OPERATOR)
    assert response.status_code == 201
    body = response.json()
    assert (body["version_num"], body["status"], body["graph_schema"]) == (3, "DRAFT", line_graph())
    assert body["created_by"] == str(demo_user(Role.OPERATOR).pk)


def test_fork_while_the_flow_has_a_draft_is_409(demo):
    flow_id = flow_published()
    response = _post(_version_path(flow_id, 1, "fork"))
    assert response.status_code == 409
    assert response.json() == error_body(
        "This flow already has a draft (version 2); publish or archive it first"
    )
    assert FlowVersion.objects.filter(flow_definition_id=flow_id).count() == 2


@pytest.mark.parametrize("version_num", [1, 2], ids=["published", "draft"])
def test_archive_freezes_a_published_or_draft_version(demo, version_num):
    flow_id = flow_published()
    response = _post(_version_path(flow_id, version_num, "archive"))
    assert response.status_code == 200
    assert set(response.json()) == VERSION_KEYS
    assert response.json()["status"] == "ARCHIVED"


def test_archiving_an_archived_version_is_409(demo):
    flow_id = flow_with_draft()
    _post(_version_path(flow_id, 1, "archive"))
    response = _post(_version_path(flow_id, 1, "archive"))
    assert (response.status_code, response.json()) == (409, error_body("Version 1 is already ARCHIVED"))


@pytest.mark.parametrize("action", ["publish", "fork", "archive"])
def test_an_action_on_an_unknown_version_is_404(demo, action):
    response = _post(_version_path(flow_with_draft(), 7, action))
    assert (response.status_code, response.json()) == (404, error_body("Version 7 not found for this flow"))


def test_every_version_write_touches_the_flows_updated_at(demo):
    flow_id = flow_with_draft()
    stamps = [flow_row(flow_id).updated_at]
    for action, number in (("publish", 1), ("archive", 2), ("fork", 1)):
        assert _post(_version_path(flow_id, number, action)).status_code in (200, 201)
        stamps.append(flow_row(flow_id).updated_at)
    assert stamps == sorted(stamps) and len(set(stamps)) == 4
