"""The graph of a flow version (contract section 10): what the Flow Editor (React Flow) stores.

`Graph` and its parts describe `graph_schema` (the API's request body uses them, so the
OpenAPI document shows the shape); `graph_validate` is the one check every write of a graph
goes through (API and admin): the shape, then the references between nodes and edges.

Nodes and edges keep keys the contract does not name (React Flow adds UI state such as
`selected` or `style`): the editor owns them, they are stored as sent.
"""

from __future__ import annotations

import copy
from typing import Annotated, Any, Literal

import pydantic
from pydantic import BaseModel, ConfigDict, Field, Strict, WithJsonSchema, field_validator

from flowviz.core.errors import FieldInvalid
from flowviz.core.json_limits import (
    JSON_OBJECT_SCHEMA,
    JSON_VALUE_PLACEHOLDER,
    MAX_SAFE_INTEGER,
    json_limits_check,
)

NODE_TYPES = ("start", "end", "process", "qc_gate", "buffer", "group")
NodeType = Literal["start", "end", "process", "qc_gate", "buffer", "group"]
# A JSON number (never a numeric string or a boolean), finite, that reads back exactly.
Number = Annotated[float, Strict(), Field(allow_inf_nan=False, ge=-MAX_SAFE_INTEGER, le=MAX_SAFE_INTEGER)]
Identifier = Annotated[str, Field(min_length=1, max_length=200)]

MAX_NODES = 2000
MAX_EDGES = 5000
# A whole graph serialized (the text limits' 64 KiB is for one free object, e.g. metadata).
GRAPH_MAX_BYTES = 4 * 1024 * 1024


def empty_graph() -> dict[str, Any]:
    """The graph of a new flow's first draft."""
    return {"nodes": [], "edges": [], "viewport": {"x": 0, "y": 0, "zoom": 1}}


class _EditorOwned(BaseModel):
    """Keys beyond the named ones belong to the editor and are kept as they are (any JSON
    within the text limits, as the OpenAPI schema says)."""

    model_config = ConfigDict(
        extra="allow", json_schema_extra={"additionalProperties": JSON_VALUE_PLACEHOLDER}
    )


class Label(_EditorOwned):
    hu: str = Field(max_length=500)
    en: str = Field(max_length=500)


class NodeData(_EditorOwned):
    label: Label
    nodeType: NodeType  # the editor's camelCase keys
    config: Annotated[dict[str, Any], WithJsonSchema(JSON_OBJECT_SCHEMA)] = Field(default_factory=dict)


class Position(BaseModel):
    model_config = ConfigDict(extra="forbid")

    x: Number
    y: Number


class Size(_EditorOwned):
    width: Number | None = None
    height: Number | None = None


class Node(_EditorOwned):
    id: Identifier
    type: str = Field("default", max_length=100)
    position: Position
    data: NodeData
    parentId: Identifier | None = None
    extent: Literal["parent"] | list[list[Number]] | None = None
    measured: Size | None = None
    width: Number | None = None
    height: Number | None = None


class Edge(_EditorOwned):
    id: Identifier
    source: Identifier
    target: Identifier
    sourceHandle: str | None = None
    targetHandle: str | None = None
    label: str | dict[str, str] | None = None
    animated: bool = False
    type: str | None = Field(None, max_length=100)


class Viewport(BaseModel):
    model_config = ConfigDict(extra="forbid")

    x: Number = 0
    y: Number = 0
    zoom: Number = Field(1, gt=0)


def _or_null(schema: dict[str, Any]) -> None:
    # The schema of a list the editor may send as null (read as empty).
    inner = dict(schema)
    schema.clear()
    schema["anyOf"] = [inner, {"type": "null"}]


class Graph(BaseModel):
    """`{"nodes": [...], "edges": [...], "viewport": {"x", "y", "zoom"}}`."""

    model_config = ConfigDict(extra="forbid")

    nodes: list[Node] = Field(default_factory=list, max_length=MAX_NODES, json_schema_extra=_or_null)
    edges: list[Edge] = Field(default_factory=list, max_length=MAX_EDGES, json_schema_extra=_or_null)
    viewport: Viewport = Field(default_factory=Viewport)

    @field_validator("nodes", "edges", mode="before")
    @classmethod
    def _a_list(cls, value: object) -> object:
        return [] if value is None else value


def _stored(graph: Graph) -> dict[str, Any]:
    """The graph as stored: what was sent, plus the contract's defaults where a key was left out."""
    stored = graph.model_dump(mode="json", exclude_unset=True)
    stored.setdefault("viewport", {})
    stored["viewport"] = {**empty_graph()["viewport"], **stored["viewport"]}
    stored["nodes"] = stored.get("nodes") or []
    stored["edges"] = stored.get("edges") or []
    for node in stored["nodes"]:
        node.setdefault("type", "default")
        node["data"].setdefault("config", {})
    for edge in stored["edges"]:
        edge.setdefault("animated", False)
    return stored


def _first_error(error: pydantic.ValidationError, loc: tuple[str | int, ...]) -> FieldInvalid:
    first = error.errors(include_url=False)[0]
    return FieldInvalid((*loc, *first["loc"]), first["msg"], error_type=first["type"])


def graph_validate(graph: object, *, loc: tuple[str | int, ...] = ("graph_schema",)) -> dict[str, Any]:
    """The graph ready to store, or FieldInvalid naming the first offending field (under `loc`).

    Besides the shape and the text limits (depth, size, numbers, NUL): node ids are unique,
    edge ids are unique, every edge's source and target and every `parentId` name a node of
    the same graph, and parents do not loop.
    """
    try:
        model = graph if isinstance(graph, Graph) else Graph.model_validate(copy.deepcopy(graph))
    except pydantic.ValidationError as error:
        raise _first_error(error, loc) from None

    node_index: dict[str, int] = {}
    for index, node in enumerate(model.nodes):
        if node.id in node_index:
            raise FieldInvalid((*loc, "nodes", index, "id"), f"Duplicate node id {node.id!r}")
        node_index[node.id] = index
    parents = {node.id: node.parentId for node in model.nodes}
    for index, node in enumerate(model.nodes):
        if node.parentId is None:
            continue
        where = (*loc, "nodes", index, "parentId")
        if node.parentId not in node_index:
            raise FieldInvalid(
                where, f"Parent {node.parentId!r} of node {node.id!r} is not a node of this graph"
            )
        seen, current = {node.id}, node.parentId
        while current is not None:
            if current in seen:
                raise FieldInvalid(where, f"Node {node.id!r} is inside itself (its parents loop)")
            seen.add(current)
            current = parents.get(current)

    edge_ids: set[str] = set()
    for index, edge in enumerate(model.edges):
        if edge.id in edge_ids:
            raise FieldInvalid((*loc, "edges", index, "id"), f"Duplicate edge id {edge.id!r}")
        edge_ids.add(edge.id)
        for end in ("source", "target"):
            node_id = getattr(edge, end)
            if node_id not in node_index:
                raise FieldInvalid(
                    (*loc, "edges", index, end),
                    f"The {end} {node_id!r} of edge {edge.id!r} is not a node of this graph",
                )
    # The text limits (flowviz.core.json_limits) on what is kept, editor-owned keys included.
    return json_limits_check(_stored(model), loc=loc, max_bytes=GRAPH_MAX_BYTES)


def graph_node_types(graph: dict[str, Any]) -> set[str]:
    """The nodeTypes present in a stored graph."""
    return {
        node.get("data", {}).get("nodeType")
        for node in graph.get("nodes") or []
        if isinstance(node, dict) and isinstance(node.get("data"), dict)
    }
