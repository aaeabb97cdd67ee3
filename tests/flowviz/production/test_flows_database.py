"""The rules of flow versions hold in PostgreSQL itself and under simultaneous requests."""

from __future__ import annotations

import json
import threading
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import IntegrityError, connection, transaction
from django.test import Client

from accounts.models import User
from accounts.roles import Role
from flowviz.production.models import FlowDefinition, FlowStatus, FlowVersion
from tests.api_support import bearer
from tests.flowviz.production.flow_support import flow_published, flow_with_draft, line_graph

INSERT_VERSION = (
    "INSERT INTO flow_versions (id, flow_definition_id, version_num, status, graph_schema, created_at) "
    "VALUES (%s, %s, {number}, '{status}', '{{}}', now())"
)


def _sql(statement: str, params: list) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement, params)


def _refused(statement: str, params: list, message: str) -> None:
    with pytest.raises(IntegrityError, match=message):
        _sql(statement, params)


@pytest.mark.django_db
class TestTheDatabaseRefuses:
    def test_an_update_of_a_published_versions_graph(self):
        flow_id = flow_published()
        _refused(
            'UPDATE flow_versions SET graph_schema = \'{"nodes": [], "edges": []}\' '
            "WHERE flow_definition_id = %s AND version_num = 1",
            [flow_id],
            "is PUBLISHED and cannot be changed",
        )
        assert FlowVersion.objects.get(flow_definition_id=flow_id, version_num=1).graph_schema == line_graph()

    def test_an_update_of_an_archived_versions_graph(self):
        flow_id = flow_with_draft()
        FlowVersion.objects.filter(flow_definition_id=flow_id).update(status=FlowStatus.ARCHIVED)
        _refused(
            "UPDATE flow_versions SET graph_schema = '{}' WHERE flow_definition_id = %s",
            [flow_id],
            "is ARCHIVED and cannot be changed",
        )

    def test_a_published_version_turned_back_into_a_draft(self):
        flow_id = flow_published()
        FlowVersion.objects.filter(flow_definition_id=flow_id, status=FlowStatus.DRAFT).delete()
        _refused(
            "UPDATE flow_versions SET status = 'DRAFT' WHERE flow_definition_id = %s AND version_num = 1",
            [flow_id],
            "cannot be changed",
        )

    def test_a_delete_of_a_published_version(self):
        flow_id = flow_published()
        _refused(
            "DELETE FROM flow_versions WHERE flow_definition_id = %s AND version_num = 1",
            [flow_id],
            "was published and cannot be deleted",
        )

    def test_a_delete_of_a_flow_with_a_published_version_through_the_cascade(self):
        flow_id = flow_published()
        _refused(
            "DELETE FROM flow_definitions WHERE id = %s", [flow_id], "was published and cannot be deleted"
        )
        assert FlowVersion.objects.filter(flow_definition_id=flow_id).count() == 2

    def test_a_second_draft_of_one_flow(self):
        flow_id = flow_with_draft()
        _refused(
            INSERT_VERSION.format(number=2, status="DRAFT"),
            [uuid.uuid4(), flow_id],
            "flow_versions_one_draft",
        )

    def test_a_version_number_used_twice(self):
        flow_id = flow_published()
        _refused(
            INSERT_VERSION.format(number=1, status="ARCHIVED"),
            [uuid.uuid4(), flow_id],
            "flow_versions_flow_number_uniq",
        )


@pytest.mark.django_db
class TestTheDatabaseAllows:
    def test_a_drafts_graph_to_change(self):
        flow_id = flow_with_draft()
        _sql("UPDATE flow_versions SET graph_schema = '{}' WHERE flow_definition_id = %s", [flow_id])
        assert FlowVersion.objects.get(flow_definition_id=flow_id).graph_schema == {}

    def test_a_published_version_to_be_archived(self):
        flow_id = flow_published()
        _sql(
            "UPDATE flow_versions SET status = 'ARCHIVED' WHERE flow_definition_id = %s AND version_num = 1",
            [flow_id],
        )

    def test_a_flow_that_was_never_published_to_be_deleted_with_its_versions(self):
        flow_id = flow_with_draft()
        _sql("DELETE FROM flow_definitions WHERE id = %s", [flow_id])
        assert not FlowVersion.objects.filter(flow_definition_id=flow_id).exists()


def _simultaneously(paths: list[str], headers: dict[str, str]) -> list[int]:
    """POST every path from its own thread, all released at once; the status codes."""
    barrier = threading.Barrier(len(paths))

    def send(path: str) -> int:
        try:
            client = Client()
            barrier.wait(timeout=30)
            return client.post(path, json.dumps({}), content_type="application/json", **headers).status_code
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(paths)) as pool:
        return list(pool.map(send, paths))


@pytest.fixture
def manager_headers(settings):
    settings.THROTTLE_ENABLED = False
    return bearer(User.objects.create_user("flows@flowviz.com", role=Role.MANAGER))


@pytest.mark.django_db(transaction=True)
def test_ten_simultaneous_publishes_of_one_draft_give_one_200(manager_headers):
    flow_id = flow_with_draft()
    statuses = _simultaneously([f"/api/flows/{flow_id}/versions/1/publish"] * 10, manager_headers)
    assert Counter(statuses) == {200: 1, 409: 9}
    versions = FlowVersion.objects.filter(flow_definition_id=flow_id).order_by("version_num")
    assert [(v.version_num, v.status) for v in versions] == [(1, "PUBLISHED"), (2, "DRAFT")]


@pytest.mark.django_db(transaction=True)
def test_ten_simultaneous_forks_give_one_201(manager_headers):
    flow_id = flow_published()
    FlowVersion.objects.filter(flow_definition_id=flow_id, version_num=2).update(status=FlowStatus.ARCHIVED)
    statuses = _simultaneously([f"/api/flows/{flow_id}/versions/1/fork"] * 10, manager_headers)
    assert Counter(statuses) == {201: 1, 409: 9}
    assert FlowVersion.objects.filter(flow_definition_id=flow_id, status=FlowStatus.DRAFT).count() == 1
    assert FlowDefinition.objects.get(pk=flow_id).versions.count() == 3
