"""The JSON renderer (flowviz/http/renderers.py) never fails on data a read can meet (issue 14,
item 9): beyond orjson's limits it falls back to the stdlib encoder in the same formats."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from decimal import Decimal

from flowviz.http.renderers import json_dumps


def _nested(levels: int) -> dict:
    value: dict = {}
    for _ in range(levels - 1):
        value = {"a": value}
    return value


def test_values_beyond_orjsons_limits_render_in_the_same_formats():
    common = {
        "at": datetime(2026, 1, 18, 12, 34, 56, 789000, tzinfo=UTC),
        "id": uuid.UUID(int=1),
        "kg": Decimal("540.00"),
    }
    plain = json.loads(json_dumps(common))
    for beyond in ({"big": 10**30}, {"deep": _nested(300)}):
        rendered = json.loads(json_dumps({**common, **beyond}))
        assert {key: rendered[key] for key in common} == plain
        assert rendered[next(iter(beyond))] == next(iter(beyond.values()))
    assert plain == {
        "at": "2026-01-18T12:34:56.789000Z",
        "id": "00000000-0000-0000-0000-000000000001",
        "kg": "540.00",
    }
