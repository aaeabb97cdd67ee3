"""The one reader of JSON request bodies (the NinjaAPI's parser, flowviz/api.py).

Before any schema sees a body it must be:

- sent as `Content-Type: application/json` (a `charset=utf-8` parameter is fine): anything
  else is a 415, so a form post or `text/plain` from another site is never read as JSON;
- JSON (RFC 8259): NaN and Infinity are not, nor is text that is not UTF-8 (400, ninja's
  "Cannot parse request body");
- free of duplicate keys: `{"decision": "HOLD", "decision": "PASS"}` would otherwise be
  read as PASS while a proxy or a log reader sees HOLD (422 naming the key);
- free of what PostgreSQL cannot store: U+0000 and unpaired surrogates in any string or key,
  and numbers too large to be finite (422 naming the field, as the contract's "text limits").

The stdlib decoder is used (not orjson) because only it reports an object's key/value pairs
before they become a dict, which is how a duplicate key is seen; request bodies are small.
"""

from __future__ import annotations

import json
import math
from typing import Any

from django.http import HttpRequest
from ninja.parser import Parser

from flowviz.core.json_limits import text_problem

JSON_MEDIA_TYPE = "application/json"
# Every endpoint names its body parameter `payload`: a 422's loc is ["body", "payload", ...].
BODY_PARAMETER = "payload"


class BodyRejected(Exception):
    """A body refused before its schema: a status with a message, or a 422 with its errors.

    Raised inside ninja's body reading, which wraps it in its 400 HttpError; the API's error
    handler (flowviz/http/errors.py) answers with this instead.
    """

    def __init__(self, status: int, message: str, *, errors: list[dict[str, Any]] | None = None):
        self.status = status
        self.message = message
        self.errors = errors
        super().__init__(message)


class _Duplicated(dict):
    """An object whose pairs repeated a key (the decoder's hook marks it; the walk reports it)."""

    duplicate_key: str = ""


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) == len(pairs):
        return result
    seen: set[str] = set()
    marked = _Duplicated(result)
    for key, _ in pairs:
        if key in seen:
            marked.duplicate_key = key
            break
        seen.add(key)
    return marked


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")


def _field_error(loc: list[str | int], message: str, error_type: str) -> BodyRejected:
    full_loc = ["body", BODY_PARAMETER, *loc]
    return BodyRejected(422, message, errors=[{"type": error_type, "loc": full_loc, "msg": message}])


def body_check(data: Any) -> None:
    """Raise BodyRejected (422) at the first duplicate key, unstorable string or non-finite number."""
    stack: list[tuple[list[str | int], Any]] = [([], data)]
    while stack:
        loc, value = stack.pop()
        if isinstance(value, dict):
            if isinstance(value, _Duplicated):
                raise _field_error(
                    [*loc, value.duplicate_key],
                    f"key {value.duplicate_key!r} appears more than once in the object",
                    "duplicate_key",
                )
            for key, item in reversed(value.items()):
                problem = text_problem(key)
                if problem:
                    raise _field_error([*loc, key], f"the key {problem}", "string_unstorable")
                stack.append(([*loc, key], item))
        elif isinstance(value, list):
            stack.extend(([*loc, index], item) for index, item in reversed(list(enumerate(value))))
        elif isinstance(value, str):
            problem = text_problem(value)
            if problem:
                raise _field_error(loc, f"the text {problem}", "string_unstorable")
        elif isinstance(value, float) and not math.isfinite(value):
            raise _field_error(loc, "the number is too large to be finite", "finite_number")


class StrictJSONParser(Parser):
    """Request bodies: JSON only, one value per key, storable strings (see the module docstring)."""

    def parse_body(self, request: HttpRequest) -> Any:
        media_type = (request.content_type or "").strip().lower()
        charset = (request.content_params or {}).get("charset", "utf-8").strip().lower()
        if media_type != JSON_MEDIA_TYPE or charset not in ("utf-8", "utf8"):
            message = "Unsupported Media Type: send the body as JSON with Content-Type: application/json"
            raise BodyRejected(415, message)
        data = json.loads(request.body.decode("utf-8"), object_pairs_hook=_object, parse_constant=_not_json)
        body_check(data)
        return data
