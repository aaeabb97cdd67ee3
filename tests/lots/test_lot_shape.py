"""One definition of the Lot shape: the SQL that renders it (lots.selectors.lot_json_sql), kept
equal to `LotOut`, the schema OpenAPI shows; every read that returns lots uses that SQL."""

from __future__ import annotations

import types
import typing
from datetime import UTC, datetime
from decimal import Decimal

import orjson
import pytest
from django.db import connection
from django.test import Client

from accounts.models import Role
from flowviz.http.renderers import json_dumps
from lots.models import Lot, LotGenealogy, LotType
from lots.schemas import LotOut
from lots.selectors import lot_get
from tests.api_support import demo_user, get_json, post_json

pytestmark = pytest.mark.django_db

# Values whose text is easy to get wrong when the database renders it.
EDGE_CASES = {
    "all-null": {"lot_type": None, "weight_kg": None, "temperature_c": None, "metadata": {}},
    "micro": {
        "lot_type": LotType.FG,
        "weight_kg": Decimal("9999.99"),
        "temperature_c": Decimal("-50.0"),
        "created_at": datetime(2026, 1, 2, 3, 4, 5, 678, tzinfo=UTC),
    },
    "whole-second": {"weight_kg": Decimal("0"), "created_at": datetime(1999, 12, 31, 23, 59, 59, tzinfo=UTC)},
    'QUOTE"\\ÉßÜ/\t\u0001': {
        "metadata": {
            'k "q"': 'a "b" \\ ü — 漢字 \n\u001f',
            "n": [1, 2.5, -0.0, 12345678901234567890, None, True],
            "nested": {"z": {}, "a": []},
        },
        "temperature_c": Decimal("4.5"),
    },
}


def _edge_lot(code: str) -> Lot:
    fields = dict(EDGE_CASES[code])
    created_at = fields.pop("created_at", None)
    lot = Lot.objects.create(lot_code=code, **fields)
    if created_at is not None:
        Lot.objects.filter(pk=lot.pk).update(created_at=created_at)
    return lot


def _allows_none(annotation: object) -> bool:
    return isinstance(annotation, types.UnionType | typing._UnionGenericAlias) and type(None) in (
        typing.get_args(annotation)
    )


@pytest.mark.parametrize("code", sorted(EDGE_CASES))
def test_the_rendered_lot_has_the_schemas_keys_in_order_and_validates_against_it(code):
    _edge_lot(code)
    text = lot_get(lot_code=code)
    rendered = orjson.loads(text)
    assert list(rendered) == list(LotOut.model_fields)
    model = LotOut.model_validate_json(text)
    # What the API's renderer makes of the validated schema is the same JSON, value for value
    # (timestamps with or without microseconds, decimals at their scale, lowercase UUIDs).
    assert orjson.loads(json_dumps(model.model_dump())) == rendered
    assert rendered["lot_code"] == code


def test_the_schema_allows_null_exactly_where_the_rendering_can_give_null():
    nullable = {name: _allows_none(info.annotation) for name, info in LotOut.model_fields.items()}
    # A column that can be NULL renders as null; metadata renders a NULL (a legacy row) as {}.
    columns = {
        name: Lot._meta.get_field(name.removesuffix("_id")).null and name != "metadata"
        for name in LotOut.model_fields
    }
    assert nullable == columns
    _edge_lot("all-null")
    rendered = orjson.loads(lot_get(lot_code="all-null"))
    assert {name for name, value in rendered.items() if value is None} == {
        name for name, allowed in nullable.items() if allowed
    }


def test_the_metadata_of_a_legacy_row_without_metadata_renders_as_an_empty_object():
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE lots ALTER COLUMN metadata DROP NOT NULL")
    lot = _edge_lot("all-null")
    with connection.cursor() as cursor:
        cursor.execute("UPDATE lots SET metadata = NULL WHERE id = %s", [lot.pk])
    assert orjson.loads(lot_get(lot_code="all-null"))["metadata"] == {}


def test_every_read_that_returns_a_lot_renders_it_the_same_way(demo):
    client = Client()
    viewer, manager = demo_user(Role.VIEWER), demo_user(Role.MANAGER)
    created = post_json(
        client,
        "/api/lots",
        {"lot_code": "FG-SHAPE-1", "lot_type": "FG", "weight_kg": "1.5", "metadata": {"line": '2 "b"'}},
        demo_user(Role.OPERATOR),
    )
    assert created.status_code == 201
    LotGenealogy.objects.create(
        parent_lot=Lot.objects.get(lot_code="MIX-BATCH-88"),
        child_lot=Lot.objects.get(lot_code="FG-SHAPE-1"),
        quantity_used_kg=Decimal("1.00"),
    )
    expected = orjson.loads(lot_get(lot_code="FG-SHAPE-1"))
    graph = get_json(client, "/api/traceability/MIX-BATCH-88/graph", viewer).json()
    recall = get_json(client, "/api/recall/MIX-BATCH-88", manager).json()
    seen = {
        "create": created.json(),
        "detail": get_json(client, "/api/lots/FG-SHAPE-1", viewer).json(),
        "list": get_json(client, "/api/lots?q=FG-SHAPE", viewer).json()[0],
        "one step": get_json(client, "/api/traceability/FG-SHAPE-1", viewer).json()["central"],
        "one step child": get_json(client, "/api/traceability/MIX-BATCH-88", viewer).json()["children"][1],
        "graph": next(n["lot"] for n in graph["nodes"] if n["lot"]["lot_code"] == "FG-SHAPE-1"),
        "recall": next(e["lot"] for e in recall["lots"] if e["lot"]["lot_code"] == "FG-SHAPE-1"),
    }
    assert seen == dict.fromkeys(seen, expected)
    assert expected["weight_kg"] == "1.50"
