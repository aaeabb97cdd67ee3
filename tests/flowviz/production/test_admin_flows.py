"""Flow Editor designs in the admin: managers see flows with their versions, edit drafts through
the services, and see each version's graph; published and archived versions are read-only."""

from __future__ import annotations

import json
import re

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from accounts.roles import ROLE_GROUPS, Role
from flowviz.production import services
from flowviz.production.models import FlowDefinition, FlowStatus, FlowVersion
from tests.admin_support import bilingual, formset_data, user_with_role
from tests.flowviz.production.flow_support import (
    LINE_GRAPH,
    flow_published,
    flow_row,
    flow_with_draft,
    line_graph,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("role_groups")]


@pytest.fixture
def manager(client):
    user = user_with_role(Role.MANAGER)
    client.force_login(user)
    return user


def _version(flow_id, version_num: int) -> FlowVersion:
    return FlowVersion.objects.get(flow_definition_id=flow_id, version_num=version_num)


def _version_url(version: FlowVersion, action: str = "change") -> str:
    return reverse(f"admin:flowviz_flowversion_{action}", args=[version.pk])


def _flow_url(flow_id, action: str = "change") -> str:
    return reverse(f"admin:flowviz_flowdefinition_{action}", args=[flow_id])


def test_the_manager_group_may_edit_flows_and_their_versions():
    codenames = set(
        Group.objects.get(name=ROLE_GROUPS[Role.MANAGER]).permissions.values_list("codename", flat=True)
    )
    for model in ("flowdefinition", "flowversion"):
        assert {f"{action}_{model}" for action in ("add", "change", "delete", "view")} <= codenames


def test_the_auditor_group_may_only_view_flows():
    codenames = set(
        Group.objects.get(name=ROLE_GROUPS[Role.AUDITOR]).permissions.values_list("codename", flat=True)
    )
    assert {"view_flowdefinition", "view_flowversion"} <= codenames
    assert "change_flowversion" not in codenames


def test_a_manager_sees_flows_with_their_latest_version(client, manager):
    flow_published()
    response = client.get(reverse("admin:flowviz_flowdefinition_changelist"))
    assert response.status_code == 200
    assert "Doner line" in response.text
    assert "v2 (DRAFT)" in response.text


def test_a_flows_page_lists_its_versions_with_links(client, manager):
    flow_id = flow_published()
    response = client.get(_flow_url(flow_id))
    assert response.status_code == 200
    for number in (1, 2):
        assert _version_url(_version(flow_id, number)) in response.text


def test_a_flow_added_in_the_admin_starts_with_an_empty_draft(client, manager):
    data = {**bilingual("name", "Új sor", "New line"), "description": "from the admin"}
    data.update(formset_data("versions", [], initial=0))
    response = client.post(reverse("admin:flowviz_flowdefinition_add"), data)
    assert response.status_code == 302, response.context and response.context["adminform"].form.errors
    flow = FlowDefinition.objects.get(name__en="New line")
    assert flow.created_by == manager
    assert list(flow.versions.values_list("version_num", "status")) == [(1, "DRAFT")]


def test_a_flow_renamed_in_the_admin_is_touched(client, manager):
    flow_id = flow_with_draft()
    before = flow_row(flow_id).updated_at
    data = {**bilingual("name", "Átnevezett", "Renamed"), "description": ""}
    data.update(formset_data("versions", [], initial=0))
    response = client.post(_flow_url(flow_id), data)
    assert response.status_code == 302
    flow = flow_row(flow_id)
    assert flow.name == {"hu": "Átnevezett", "en": "Renamed"}
    assert flow.updated_at > before


def test_a_drafts_graph_edited_in_the_admin_is_stored_with_the_defaults(client, manager):
    flow_id = flow_with_draft(graph={"nodes": [], "edges": []})
    graph = line_graph()
    del graph["edges"][0]["animated"]
    response = client.post(_version_url(_version(flow_id, 1)), {"graph_schema": json.dumps(graph)})
    assert response.status_code == 302
    assert _version(flow_id, 1).graph_schema == LINE_GRAPH


def test_an_invalid_graph_in_the_admin_is_a_form_error_naming_the_field(client, manager):
    flow_id = flow_with_draft()
    graph = line_graph()
    graph["edges"][0]["target"] = "nowhere"
    response = client.post(_version_url(_version(flow_id, 1)), {"graph_schema": json.dumps(graph)})
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors["graph_schema"]
    assert errors == ["edges[0].target: The target 'nowhere' of edge 'e1' is not a node of this graph"]
    assert _version(flow_id, 1).graph_schema == LINE_GRAPH


@pytest.mark.parametrize("status", [FlowStatus.PUBLISHED, FlowStatus.ARCHIVED])
def test_a_frozen_versions_page_is_read_only(client, manager, status):
    flow_id = flow_published()
    if status == FlowStatus.ARCHIVED:
        services.flow_version_archive(flow_id=flow_id, version_num=1)
    version = _version(flow_id, 1)
    page = client.get(_version_url(version))
    assert page.status_code == 200
    assert 'name="graph_schema"' not in page.text
    assert 'name="_save"' not in page.text
    assert client.post(_version_url(version), {"graph_schema": "{}"}).status_code == 403
    assert _version(flow_id, 1).graph_schema == LINE_GRAPH


def test_a_published_version_cannot_be_deleted_in_the_admin(client, manager):
    version = _version(flow_published(), 1)
    assert client.post(_version_url(version, "delete"), {"post": "yes"}).status_code == 403
    assert FlowVersion.objects.filter(pk=version.pk).exists()


def test_a_flow_that_was_published_cannot_be_deleted_in_the_admin(client, manager):
    flow_id = flow_published()
    assert client.post(_flow_url(flow_id, "delete"), {"post": "yes"}).status_code == 403
    assert FlowDefinition.objects.filter(pk=flow_id).exists()


def test_a_flow_never_published_is_deleted_with_its_versions(client, manager):
    flow_id = flow_with_draft()
    response = client.post(_flow_url(flow_id, "delete"), {"post": "yes"})
    assert response.status_code == 302
    assert not FlowDefinition.objects.filter(pk=flow_id).exists()
    assert not FlowVersion.objects.filter(flow_definition_id=flow_id).exists()


def _node_ids(svg_page: str) -> set[str]:
    return set(re.findall(r'class="flow-node [^"]*" data-node-id="([^"]+)"', svg_page))


@pytest.mark.parametrize("version_num", [1, 2], ids=["published", "draft"])
def test_a_versions_page_draws_its_graph(client, manager, version_num):
    version = _version(flow_published(), version_num)
    page = client.get(_version_url(version)).text
    assert 'id="flow-graph"' in page
    assert _node_ids(page) == {node["id"] for node in LINE_GRAPH["nodes"]}
    assert page.count('class="flow-edge"') == len(LINE_GRAPH["edges"])


def _action(client, action: str, versions: list[FlowVersion]):
    return client.post(
        reverse("admin:flowviz_flowversion_changelist"),
        {"action": action, "_selected_action": [str(v.pk) for v in versions]},
        follow=True,
    )


def test_the_publish_action_publishes_through_the_service(client, manager):
    flow_id = flow_with_draft()
    response = _action(client, "publish", [_version(flow_id, 1)])
    assert "Doner line v1 published." in response.text
    assert _version(flow_id, 1).published_by == manager
    assert _version(flow_id, 2).status == FlowStatus.DRAFT


def test_the_publish_action_reports_a_graph_without_a_start_node_and_changes_nothing(client, manager):
    flow_id = flow_with_draft(graph={"nodes": [], "edges": []})
    response = _action(client, "publish", [_version(flow_id, 1)])
    assert "Cannot publish: Flow must have at least one START node" in response.text
    assert _version(flow_id, 1).status == FlowStatus.DRAFT


def test_the_archive_and_fork_actions_go_through_the_services(client, manager):
    flow_id = flow_published()
    _action(client, "archive", [_version(flow_id, 2)])
    response = _action(client, "fork", [_version(flow_id, 1)])
    assert "Doner line v1 copied into a new draft." in response.text
    assert list(
        FlowVersion.objects.filter(flow_definition_id=flow_id).values_list("version_num", "status")
    ) == [
        (3, "DRAFT"),
        (2, "ARCHIVED"),
        (1, "PUBLISHED"),
    ]


def test_an_auditor_sees_a_draft_but_cannot_change_it(client):
    client.force_login(user_with_role(Role.AUDITOR))
    version = _version(flow_with_draft(), 1)
    assert client.get(_version_url(version)).status_code == 200
    assert client.post(_version_url(version), {"graph_schema": "{}"}).status_code == 403
