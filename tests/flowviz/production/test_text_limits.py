"""The contract's text limits on the Flow Editor's graphs and the scenario files (issue 14,
item 9): the same check as lot metadata (flowviz.core.json_limits) on every write path."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from accounts.roles import Role
from flowviz.core.errors import FieldInvalid
from flowviz.demo.seed import demo_scenario_data
from flowviz.production import services
from flowviz.production.models import FlowVersion, Scenario
from quality.models import QcGate
from tests.admin_support import user_with_role
from tests.api_support import bearer, demo_user
from tests.flowviz.production.flow_support import flow_with_draft, line_graph
from tests.flowviz.production.test_admin_scenario import _change_url, _page_data

pytestmark = pytest.mark.django_db


def _nested(levels: int) -> dict:
    value: dict = {}
    for _ in range(levels - 1):
        value = {"a": value}
    return value


def _put_graph(flow_id, body: str):
    return Client().put(
        f"/api/flows/{flow_id}/versions/1",
        body,
        content_type="application/json",
        **bearer(demo_user(Role.OPERATOR)),
    )


def test_a_graph_with_a_node_config_nested_too_deep_is_refused(demo):
    flow_id = flow_with_draft()
    graph = line_graph()
    graph["nodes"][1]["data"]["config"] = _nested(40)
    response = _put_graph(flow_id, json.dumps({"graph_schema": graph}))
    assert response.status_code == 422, response.content
    assert response.json()["error"].startswith("graph_schema.nodes[1].data.config")
    assert FlowVersion.objects.get(flow_definition_id=flow_id).graph_schema == line_graph()


def test_a_graph_position_that_would_not_read_back_is_refused(demo):
    flow_id = flow_with_draft()
    body = json.dumps({"graph_schema": line_graph()}).replace('"x": 0,', '"x": 1e20,', 1)
    response = _put_graph(flow_id, body)
    assert response.status_code == 422, response.content
    assert "graph_schema.nodes[1].position.x" in response.json()["error"]


def test_the_graph_service_refuses_a_graph_over_the_limits(demo):
    flow_id = flow_with_draft()
    graph = line_graph()
    graph["nodes"][0]["data"]["config"] = {"n": 2**60}
    with pytest.raises(FieldInvalid) as refused:
        services.flow_version_graph_update(flow_id=flow_id, version_num=1, graph_schema=graph)
    assert refused.value.loc[:3] == ("graph_schema", "nodes", 0)


def test_import_scenario_refuses_a_config_nested_too_deep(tmp_path):
    data = demo_scenario_data()
    data["config"]["deep"] = _nested(40)
    path = tmp_path / "scenario.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(CommandError, match="nested deeper than 32 levels"):
        call_command("import_scenario", str(path), stdout=StringIO())
    assert not Scenario.objects.exists()


def test_import_scenario_refuses_a_number_that_would_not_read_back(tmp_path):
    data = demo_scenario_data()
    data["config"]["limit"] = 10**20
    path = tmp_path / "scenario.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(CommandError, match="numbers must lie within"):
        call_command("import_scenario", str(path), stdout=StringIO())
    assert not Scenario.objects.exists()


# --- The admin's scenario editor: its JSON textareas and the core form fields ------------------


@pytest.fixture
def manager_client(client, role_groups):
    client.force_login(user_with_role(Role.MANAGER))
    return client


def test_the_scenario_page_refuses_a_config_nested_too_deep(manager_client):
    scenario = services.scenario_import(data=demo_scenario_data())
    data = _page_data(scenario)
    data["config"] = json.dumps({**scenario.config, "deep": _nested(40)})
    response = manager_client.post(_change_url(scenario), data)
    assert response.status_code == 200
    assert "nested deeper than 32 levels" in response.content.decode()
    scenario.refresh_from_db()
    assert "deep" not in scenario.config


def test_the_scenario_page_refuses_a_gate_checklist_over_64_kib(manager_client):
    scenario = services.scenario_import(data=demo_scenario_data())
    checklist = "\n".join(f"check {index} " + "x" * 100 for index in range(700))
    response = manager_client.post(
        _change_url(scenario), _page_data(scenario, qc_gates=(0, {"checklist": checklist}))
    )
    assert response.status_code == 200
    assert "larger than 65536 bytes" in response.content.decode()
    assert len(QcGate.objects.filter(scenario=scenario).order_by("gate_number").first().checklist) < 700
