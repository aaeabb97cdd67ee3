"""JSON rendering with orjson: several times faster than the stdlib encoder on lot lists.

Datetimes are aware UTC and rendered ISO 8601 with a `Z`; UUIDs natively; anything else
(Decimal in an error context, an exception object) as its string, never a 500. What orjson
cannot encode (deeper than 254 levels, integers beyond 64 bits: rows written before the text
limits) falls back to the stdlib encoder, with the same formats.
"""

from __future__ import annotations

import json
import logging
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson
from django.http import HttpRequest, HttpResponse
from ninja.renderers import BaseRenderer

from flowviz.core.formats import timestamp_text

_OPTIONS = orjson.OPT_UTC_Z | orjson.OPT_NAIVE_UTC | orjson.OPT_NON_STR_KEYS


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    return str(value)


logger = logging.getLogger(__name__)


def _stdlib_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return timestamp_text(value if value.tzinfo else value.replace(tzinfo=UTC))
    if isinstance(value, uuid.UUID):
        return str(value)
    return _default(value)


def json_dumps(data: Any) -> bytes:
    try:
        return orjson.dumps(data, default=_default, option=_OPTIONS)
    except orjson.JSONEncodeError:
        # orjson stops at 254 levels and at 64-bit integers. Rows written before the text limits
        # (flowviz/core/json_limits.py) or by the legacy server may hold deeper metadata or larger
        # numbers: the stdlib encoder takes both, so such a row never breaks a read.
        logger.info("JSON beyond orjson's limits: rendered by the stdlib encoder")
        return json.dumps(data, default=_stdlib_default, ensure_ascii=False, separators=(",", ":")).encode()


JSON_CONTENT_TYPE = "application/json; charset=utf-8"


def json_response(body: bytes, *, status: int = 200) -> HttpResponse:
    """JSON bytes already rendered (lots by PostgreSQL: lots.selectors.lot_json_sql; cached
    answers; `json_dumps` of contract text), answered as they are: ninja does not validate them
    again. The endpoint's response schema still describes them for OpenAPI."""
    return HttpResponse(body, status=status, content_type=JSON_CONTENT_TYPE)


class ORJSONRenderer(BaseRenderer):
    media_type = "application/json"

    def render(self, request: HttpRequest, data: Any, *, response_status: int) -> bytes:
        return json_dumps(data)
