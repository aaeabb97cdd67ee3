"""The contract's "text limits" for free JSON values (lot metadata, names, configs, graphs).

One check, `json_limits_check`, for every JSON field of every write path: the API's schemas
call it (a 422 naming the field), and the model fields carry `json_limits_validator`, so
`full_clean()` in the services, the admin's forms and the import commands refuse the same
values. What it refuses is what would break a later read:

- nesting deeper than `MAX_DEPTH` levels (the JSON renderer gives up at 254, and a list of
  lots renders each lot's metadata inside two more levels);
- more than `MAX_BYTES` serialized (64 KiB; a graph has a larger bound of its own);
- a number outside ±(2**53 - 1), JavaScript's safe integers: PostgreSQL keeps 1e20 as the
  numeric 100000000000000000000, which comes back as an integer no 64-bit renderer or browser
  holds exactly; inside the range every number reads back as it was sent. NaN and infinities
  are not JSON at all;
- U+0000 in a string or key (PostgreSQL cannot store it) and unpaired surrogates (not UTF-8);
- keys that are not strings (they would not come back the same from JSON).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import orjson
from django.core.exceptions import ValidationError

from flowviz.core.errors import FieldInvalid

MAX_DEPTH = 32
MAX_BYTES = 64 * 1024
MAX_SAFE_INTEGER = 2**53 - 1

Loc = tuple[str | int, ...]

# For OpenAPI documents: the free JSON these limits allow, as a JSON Schema (flowviz/http/openapi.py
# adds it to the document's components; fields refer to it).
JSON_VALUE_REF = "#/components/schemas/JsonValue"

JSON_VALUE_SCHEMA: dict[str, Any] = {
    "title": "JsonValue",
    "description": (
        f"Any JSON value, at most {MAX_DEPTH} levels deep and {MAX_BYTES} bytes serialized; numbers "
        f"within ±{MAX_SAFE_INTEGER}; no NUL character in strings or keys"
    ),
    "anyOf": [
        {"type": "null"},
        {"type": "boolean"},
        {"type": "number", "minimum": -MAX_SAFE_INTEGER, "maximum": MAX_SAFE_INTEGER},
        {"type": "string"},
        {"type": "array", "items": {"$ref": JSON_VALUE_REF}},
        {"type": "object", "additionalProperties": {"$ref": JSON_VALUE_REF}},
    ],
}

# Where a field's schema says "a JsonValue". Pydantic resolves every `$ref` it meets while it
# builds a schema, and this one is not its own: the document's builder (flowviz/http/openapi.py)
# puts the `$ref` in place of each placeholder.
JSON_VALUE_PLACEHOLDER: dict[str, Any] = {"x-flowviz-json-value": True}
# A free JSON object (lot metadata): its values are JsonValues.
JSON_OBJECT_SCHEMA: dict[str, Any] = {"type": "object", "additionalProperties": JSON_VALUE_PLACEHOLDER}


class JsonLimitExceeded(ValueError):
    """A JSON value over the limits; `loc` is where inside it (keys and list indexes)."""

    def __init__(self, loc: Loc, message: str):
        self.loc = loc
        self.message = message
        super().__init__(message)


def text_problem(text: str) -> str | None:
    """Why a string cannot be stored and read back (NUL, unpaired surrogate), or None."""
    if "\x00" in text:
        return "must not contain the NUL character (U+0000)"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "must be valid Unicode (an unpaired surrogate is not)"
    return None


def _number_problem(number: int | float) -> str | None:
    if isinstance(number, float) and not math.isfinite(number):
        return "numbers must be finite"
    if abs(number) > MAX_SAFE_INTEGER:
        return f"numbers must lie within ±{MAX_SAFE_INTEGER} to read back exactly"
    return None


def _walk(value: Any, loc: Loc, depth: int, max_depth: int) -> None:
    """Raise JsonLimitExceeded at the first value over the limits (depth-first, document order)."""
    if isinstance(value, dict):
        if depth >= max_depth:
            raise JsonLimitExceeded(loc, f"nested deeper than {max_depth} levels")
        for key, item in value.items():
            if not isinstance(key, str):
                raise JsonLimitExceeded((*loc, str(key)), "keys must be strings")
            problem = text_problem(key)
            if problem:
                raise JsonLimitExceeded(loc, f"key {key!r}: {problem}")
            _walk(item, (*loc, key), depth + 1, max_depth)
    elif isinstance(value, list | tuple):
        if depth >= max_depth:
            raise JsonLimitExceeded(loc, f"nested deeper than {max_depth} levels")
        for index, item in enumerate(value):
            _walk(item, (*loc, index), depth + 1, max_depth)
    elif isinstance(value, str):
        problem = text_problem(value)
        if problem:
            raise JsonLimitExceeded(loc, problem)
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, int | float):
        problem = _number_problem(value)
        if problem:
            raise JsonLimitExceeded(loc, problem)
    else:
        raise JsonLimitExceeded(loc, f"{type(value).__name__} is not a JSON value")


def json_limits_problem(
    value: Any, *, max_depth: int = MAX_DEPTH, max_bytes: int = MAX_BYTES
) -> JsonLimitExceeded | None:
    """The first way `value` breaks the limits, or None when it may be stored."""
    try:
        _walk(value, (), 0, max_depth)
    except JsonLimitExceeded as problem:
        return problem
    # After the walk: every number fits orjson and the depth is bounded.
    size = len(orjson.dumps(value))
    if size > max_bytes:
        return JsonLimitExceeded((), f"larger than {max_bytes} bytes serialized ({size} bytes)")
    return None


def json_limits_check(
    value: Any, *, loc: Sequence[str | int], max_depth: int = MAX_DEPTH, max_bytes: int = MAX_BYTES
) -> Any:
    """Return `value` when it keeps the limits; else raise FieldInvalid at `loc` + the place inside."""
    problem = json_limits_problem(value, max_depth=max_depth, max_bytes=max_bytes)
    if problem is not None:
        raise FieldInvalid((*loc, *problem.loc), problem.message, error_type="json_limits")
    return value


def json_limits_value_error(value: Any, *, max_depth: int = MAX_DEPTH, max_bytes: int = MAX_BYTES) -> Any:
    """For a Pydantic validator: return `value`, or raise ValueError naming the place inside it."""
    problem = json_limits_problem(value, max_depth=max_depth, max_bytes=max_bytes)
    if problem is not None:
        raise ValueError(_described(problem))
    return value


def json_path(loc: Sequence[str | int], *, shown: int = 8) -> str:
    """A place inside a JSON value as text: `config.deep.a...a` (long paths shortened)."""
    parts = [f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc]
    if len(parts) > shown:
        parts = [*parts[: shown // 2], "...", *parts[-(shown // 2) :]]
    return "".join(parts).lstrip(".")


def _described(problem: JsonLimitExceeded) -> str:
    if not problem.loc:
        return problem.message
    return f"{json_path(problem.loc)}: {problem.message}"


def json_limits_validator(value: Any) -> None:
    """The model fields' validator (full_clean: services, admin forms, import commands)."""
    problem = json_limits_problem(value)
    if problem is not None:
        raise ValidationError(_described(problem), code="json_limits")


class GraphJsonLimitsValidator:
    """The limits with a larger size bound, for a flow's whole graph (thousands of nodes)."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes

    def __call__(self, value: Any) -> None:
        problem = json_limits_problem(value, max_bytes=self.max_bytes)
        if problem is not None:
            raise ValidationError(_described(problem), code="json_limits")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, GraphJsonLimitsValidator) and other.max_bytes == self.max_bytes

    def __hash__(self) -> int:
        return hash(self.max_bytes)

    def deconstruct(self) -> tuple[str, tuple, dict]:
        return (f"{__name__}.GraphJsonLimitsValidator", (self.max_bytes,), {})
