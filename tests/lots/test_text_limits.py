"""The contract's text limits on lot metadata (issue 14, item 9): refused on every write path,
and rows written before the limits (or by the legacy server) never break a read."""

from __future__ import annotations

import csv
import io
import json
import uuid

import orjson
import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from accounts.roles import Role
from lots.models import Lot, LotGenealogy, LotType
from tests.admin_support import user_with_role
from tests.api_support import bearer, demo_user, get_json, post_json
from tests.lots.test_fsma import download

pytestmark = pytest.mark.django_db

MAX_SAFE_INTEGER = 2**53 - 1  # JavaScript's Number.MAX_SAFE_INTEGER


def _nested(levels: int) -> dict:
    """An object `levels` levels deep: {"a": {"a": ... {} }}."""
    value: dict = {}
    for _ in range(levels - 1):
        value = {"a": value}
    return value


def _register(metadata: object, code: str = "LIMITS-1"):
    body = {"lot_code": code, "metadata": metadata}
    return post_json(Client(), "/api/lots", body, demo_user(Role.OPERATOR))


def _refused_at_metadata(response) -> None:
    assert response.status_code == 422, response.content
    assert response.json()["error"].startswith("metadata"), response.json()
    assert not Lot.objects.filter(lot_code="LIMITS-1").exists()


def test_metadata_32_levels_deep_is_accepted(demo):
    response = _register(_nested(32))
    assert response.status_code == 201, response.content
    assert response.json()["metadata"] == _nested(32)


def test_metadata_33_levels_deep_is_refused(demo):
    _refused_at_metadata(_register(_nested(33)))


def test_metadata_252_levels_deep_is_refused(demo):
    _refused_at_metadata(_register(_nested(252)))


@pytest.mark.parametrize("number", ["1e20", "-1e20", "123456789012345678901234567890", "9007199254740992"])
def test_metadata_number_that_does_not_read_back_is_refused(demo, number):
    body = '{"lot_code": "LIMITS-1", "metadata": {"n": ' + number + "}}"
    _refused_at_metadata(post_json(Client(), "/api/lots", body, demo_user(Role.OPERATOR)))


def test_metadata_numbers_within_the_safe_range_read_back_exactly(demo):
    metadata = {"big": MAX_SAFE_INTEGER, "small": -MAX_SAFE_INTEGER, "float": 1.5e-7, "whole": 3.0}
    assert _register(metadata).status_code == 201
    listed = get_json(Client(), "/api/lots?q=LIMITS-1", demo_user(Role.VIEWER)).json()
    assert listed[0]["metadata"] == metadata


def test_metadata_over_64_kib_is_refused(demo):
    _refused_at_metadata(_register({"blob": "x" * (64 * 1024)}))


def test_the_service_refuses_metadata_over_the_limits_for_every_caller(demo):
    from flowviz.core.errors import FieldInvalid
    from lots.services import lot_create

    with pytest.raises(FieldInvalid) as refused:
        lot_create(lot_code="LIMITS-1", actor=demo_user(Role.ADMIN), metadata={"n": 10**20})
    assert refused.value.loc[0] == "metadata"
    assert not Lot.objects.filter(lot_code="LIMITS-1").exists()


def test_the_admin_lot_form_refuses_metadata_over_the_limits(client, demo):
    client.force_login(user_with_role(Role.ADMIN, superuser=True))
    lot = Lot.objects.get(lot_code="RAW-BEEF-001")
    url = reverse("admin:lots_lot_change", args=[lot.pk])
    form = {
        "lot_code": lot.lot_code,
        "lot_type": lot.lot_type,
        "weight_kg": str(lot.weight_kg or ""),
        "temperature_c": "",
        "metadata": json.dumps(_nested(40)),
        "created_at_0": "2026-01-01",
        "created_at_1": "10:00:00",
    }
    response = client.post(url, form)
    assert response.status_code == 200  # the form again, with its error
    assert "nested deeper than 32 levels" in response.content.decode()
    lot.refresh_from_db()
    assert lot.metadata != _nested(40)


# --- Reads: rows written before the limits --------------------------------------------------

_BAD_METADATA = {
    "deep_252": json.dumps(_nested(252)),
    "float_1e20": '{"n": 1e20}',
    "huge_int": '{"n": 123456789012345678901234567890, "m": -98765432109876543210987654321}',
}


@pytest.fixture
def poisoned(demo) -> dict[str, str]:
    """Lots holding metadata the limits refuse, written as raw SQL (the legacy server's way),
    each a finished-goods child of RAW-BEEF-001 so that every read path meets it."""
    parent = Lot.objects.get(lot_code="RAW-BEEF-001")
    codes = {}
    with connection.cursor() as cursor:
        for name, metadata in _BAD_METADATA.items():
            lot_id, code = uuid.uuid4(), f"POISON-{name}"
            cursor.execute(
                "INSERT INTO lots (id, lot_code, lot_type, weight_kg, metadata)"
                " VALUES (%s, %s, %s, 1, %s::jsonb)",
                [lot_id, code, LotType.FG, metadata],
            )
            LotGenealogy.objects.create(parent_lot=parent, child_lot_id=lot_id)
            codes[name] = code
    return codes


def _viewer_get(path: str, role: str = Role.ADMIN):
    response = get_json(Client(), path, demo_user(role))
    assert response.status_code == 200, (path, response.status_code, response.content[:300])
    return response


def test_the_lot_list_reads_rows_written_before_the_limits(poisoned):
    body = orjson.loads(_viewer_get("/api/lots?limit=1000").content)
    assert set(poisoned.values()) <= {lot["lot_code"] for lot in body}


@pytest.mark.parametrize("name", sorted(_BAD_METADATA))
def test_lot_detail_and_one_step_read_rows_written_before_the_limits(poisoned, name):
    code = poisoned[name]
    assert orjson.loads(_viewer_get(f"/api/lots/{code}").content)["lot_code"] == code
    assert orjson.loads(_viewer_get(f"/api/traceability/{code}").content)["central"]["lot_code"] == code


def test_graph_recall_and_holds_read_rows_written_before_the_limits(poisoned):
    graph = orjson.loads(_viewer_get("/api/traceability/RAW-BEEF-001/graph").content)
    assert set(poisoned.values()) <= {node["lot"]["lot_code"] for node in graph["nodes"]}
    recall = orjson.loads(_viewer_get("/api/recall/RAW-BEEF-001").content)
    assert set(poisoned.values()) <= {entry["lot"]["lot_code"] for entry in recall["lots"]}
    for form in ("csv", "fsma204"):
        response, content = download(f"/api/recall/RAW-BEEF-001?format={form}", Role.ADMIN)
        assert response.status_code == 200
        rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline="")))
        assert set(poisoned.values()) <= {cell for row in rows[1:] for cell in row}
    _viewer_get("/api/holds")


def test_the_admin_pages_read_rows_written_before_the_limits(client, poisoned):
    client.force_login(user_with_role(Role.ADMIN, superuser=True))
    assert client.get(reverse("admin:lots_lot_changelist")).status_code == 200
    for code in poisoned.values():
        lot = Lot.objects.get(lot_code=code)
        assert client.get(reverse("admin:lots_lot_change", args=[lot.pk])).status_code == 200, code
    parent = Lot.objects.get(lot_code="RAW-BEEF-001")
    assert client.get(reverse("admin:lots_lot_change", args=[parent.pk])).status_code == 200


def test_a_genealogy_job_over_rows_written_before_the_limits_reads_back(poisoned):
    client, auth = Client(), bearer_of(Role.ADMIN)
    started = client.post("/api/traceability/RAW-BEEF-001/jobs", **auth)
    assert started.status_code == 202, started.content
    job = client.get(started.json()["status_url"], **auth)
    assert job.status_code == 200, job.content[:300]
    body = orjson.loads(job.content)
    assert body["status"] == "SUCCESS"
    assert set(poisoned.values()) <= {node["lot"]["lot_code"] for node in body["result"]["nodes"]}


def bearer_of(role: str) -> dict[str, str]:
    return bearer(demo_user(role))
