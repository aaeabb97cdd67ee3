"""The OpenAPI document says what the server answers (issue 14, item 15).

Each router documents its own results and the errors of its rules (404, 409, ...). What every
operation may answer because of how a request is read is added here, once, from the shape of
the operation, exactly as the server behaves:

- a request body: 400 (not JSON), 413 (larger than `DATA_UPLOAD_MAX_MEMORY_SIZE`), 415 (not
  `application/json`, flowviz/http/parsers.py) and 422 (the schema, duplicate keys, NUL);
- any parameter (path or query): 422 when it does not parse (a version number that is not an
  integer, an unknown `direction`, a `q` over 100 characters);
- a path parameter: 404 (nothing has that id or code; also every path holding NUL or `%2F`);
- every operation but the health probes (which answer for themselves): 503 with `Retry-After`
  while the database is down (flowviz/http/errors.py).

The document also gets the `JsonValue` component (flowviz.core.json_limits.JSON_VALUE_SCHEMA)
that free JSON fields refer to.
"""

from __future__ import annotations

from typing import Any

from flowviz.core.json_limits import JSON_VALUE_PLACEHOLDER, JSON_VALUE_REF, JSON_VALUE_SCHEMA
from flowviz.http.schemas import DetailOut, ValidationErrorOut

_DETAIL_REF = "#/components/schemas/DetailOut"
_VALIDATION_REF = "#/components/schemas/ValidationErrorOut"

_BODY_ERRORS = {
    400: "The body is not JSON (or holds NaN/Infinity, or is not UTF-8)",
    413: "The body is larger than the server takes",
    415: "The body was not sent as Content-Type: application/json",
}


def _json_response(description: str, ref: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": ref}}}}


_SERVICE_UNAVAILABLE = {
    **_json_response("Service unavailable: the database is down; try again after Retry-After", _DETAIL_REF),
    "headers": {
        "Retry-After": {"description": "Seconds to wait before retrying", "schema": {"type": "integer"}}
    },
}


def _json_value_refs(node: Any) -> Any:
    """`node` with every JsonValue placeholder replaced by the reference to the component."""
    if isinstance(node, dict):
        if node == JSON_VALUE_PLACEHOLDER:
            return {"$ref": JSON_VALUE_REF}
        return {key: _json_value_refs(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_json_value_refs(item) for item in node]
    return node


def document_request_errors(schema: dict[str, Any]) -> dict[str, Any]:
    """Add to each operation of `schema` the statuses its request's shape can cause (see above),
    and the JsonValue component its free JSON fields refer to."""
    schema = _json_value_refs(schema)
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.setdefault("JsonValue", JSON_VALUE_SCHEMA)
    for model in (DetailOut, ValidationErrorOut):
        if model.__name__ not in components:
            components[model.__name__] = model.model_json_schema(ref_template="#/components/schemas/{model}")
    for path, methods in schema.get("paths", {}).items():
        for operation in methods.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            parameters = operation.get("parameters") or []
            has_body = "requestBody" in operation
            added: dict[int, dict[str, Any]] = {}
            if has_body:
                for status, description in _BODY_ERRORS.items():
                    added[status] = _json_response(description, _DETAIL_REF)
            if has_body or parameters:
                added[422] = _json_response("A parameter or the body does not validate", _VALIDATION_REF)
            if any(parameter.get("in") == "path" for parameter in parameters):
                added[404] = _json_response("Not Found", _DETAIL_REF)
            if not path.startswith("/api/health"):
                if "503" in {str(status) for status in responses}:  # its own 503 too (the job queue)
                    existing = responses.get(503) or responses["503"]
                    existing.setdefault("headers", {}).update(_SERVICE_UNAVAILABLE["headers"])
                else:
                    added[503] = _SERVICE_UNAVAILABLE
            # ninja keys responses by int status, openapi_extra by text: one key per status.
            present = {str(status) for status in responses}
            for status, response in added.items():
                if str(status) not in present:
                    responses[status] = response
    return schema
