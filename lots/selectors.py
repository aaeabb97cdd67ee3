"""Reads of lots and their genealogy, returning plain data (dicts, lists, strings, None).

Plain data so that the API serializes it directly and a cache can store it as it is.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal

import orjson
from django.conf import settings
from django.db import connection
from django.db.models import OuterRef, Q, Subquery

from flowviz.core.formats import decimal_text, timestamp_text
from lots.models import Lot, LotGenealogy, LotType
from quality.models import QcDecision

# The columns' scales: numeric(10,2) weights and quantities, numeric(5,1) temperatures.
_KG = Decimal("0.01")
_CELSIUS = Decimal("0.1")


def _uuid_text(value: uuid.UUID | None) -> str | None:
    return None if value is None else str(value)


def lot_as_dict(lot: Lot) -> dict[str, Any]:
    """The contract's Lot shape (ten keys) as plain data."""
    return {
        "id": str(lot.id),
        "lot_code": lot.lot_code,
        "lot_type": lot.lot_type,
        "production_run_id": _uuid_text(lot.production_run_id),
        "phase_id": _uuid_text(lot.phase_id),
        "operator_id": _uuid_text(lot.operator_id),
        "weight_kg": decimal_text(lot.weight_kg, _KG),
        "temperature_c": decimal_text(lot.temperature_c, _CELSIUS),
        "metadata": lot.metadata if lot.metadata is not None else {},
        "created_at": timestamp_text(lot.created_at),
    }


def link_as_dict(link: LotGenealogy) -> dict[str, Any]:
    return {
        "id": str(link.id),
        "parent_lot_id": str(link.parent_lot_id),
        "child_lot_id": str(link.child_lot_id),
        "quantity_used_kg": decimal_text(link.quantity_used_kg, _KG),
        "linked_at": timestamp_text(link.linked_at),
    }


def lot_list(
    *,
    limit: int = 100,
    offset: int = 0,
    lot_type: LotType | str | None = None,
    production_run_id: uuid.UUID | None = None,
    code_prefix: str | None = None,
) -> list[dict[str, Any]]:
    """Lots, newest first (ties by code, so pages are stable)."""
    lots = Lot.objects.all()
    if lot_type is not None:
        lots = lots.filter(lot_type=lot_type)
    if production_run_id is not None:
        lots = lots.filter(production_run_id=production_run_id)
    if code_prefix:
        lots = lots.filter(lot_code__startswith=code_prefix)
    lots = lots.order_by("-created_at", "lot_code")[offset : offset + limit]
    return [lot_as_dict(lot) for lot in lots]


def lot_get(*, lot_code: str) -> dict[str, Any] | None:
    lot = Lot.objects.all().filter(lot_code=lot_code).first()
    return None if lot is None else lot_as_dict(lot)


def lot_id_for_code(*, lot_code: str) -> uuid.UUID | None:
    return Lot.objects.filter(lot_code=lot_code).values_list("id", flat=True).first()


def lot_traceability_one_step(*, lot_code: str) -> dict[str, Any] | None:
    """One step back and one forward: {"central", "parents", "children"}; None if no such lot.

    Two queries: the lot, then its links in both directions with the lot at the other end.
    """
    central = Lot.objects.all().filter(lot_code=lot_code).first()
    if central is None:
        return None
    links = LotGenealogy.objects.filter(
        Q(child_lot_id=central.pk) | Q(parent_lot_id=central.pk)
    ).select_related("parent_lot", "child_lot")
    parents: list[dict[str, Any]] = []
    children: list[dict[str, Any]] = []
    for link in links:
        if link.child_lot_id == central.pk:
            parents.append(lot_as_dict(link.parent_lot))
        else:
            children.append(lot_as_dict(link.child_lot))
    parents.sort(key=lambda lot: lot["lot_code"])
    children.sort(key=lambda lot: lot["lot_code"])
    return {"central": lot_as_dict(central), "parents": parents, "children": children}


def lots_by_ids(ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Lot]:
    return {lot.pk: lot for lot in Lot.objects.filter(pk__in=list(ids))}


# --- The genealogy graph (issue 3) ---------------------------------------------------------

Direction = Literal["both", "up", "down"]


@dataclass(frozen=True)
class GraphNode:
    lot: Lot
    depth: int  # negative: ancestor, 0: the root, positive: descendant


@dataclass(frozen=True)
class GraphEdge:
    parent_lot_id: uuid.UUID
    child_lot_id: uuid.UUID
    quantity_used_kg: Decimal | None


@dataclass
class LotGraph:
    root: Lot
    nodes: list[GraphNode] = field(default_factory=list)
    edges: list[GraphEdge] = field(default_factory=list)

    @property
    def ancestor_count(self) -> int:
        return sum(1 for node in self.nodes if node.depth < 0)

    @property
    def descendant_count(self) -> int:
        return sum(1 for node in self.nodes if node.depth > 0)


_LOT_COLUMNS = (
    "id",
    "lot_code",
    "lot_type",
    "production_run_id",
    "phase_id",
    "operator_id",
    "weight_kg",
    "temperature_c",
    "metadata",
    "created_at",
)

# One statement, one round trip: walk up (child -> parent) and down (parent -> child) from
# the root with recursive CTEs whose rows are the edges walked (with the depth reached); the
# nodes are the lots reached with their signed shortest distance. Carrying the edge in the
# walk means the edges cost no second pass over lot_genealogy; the covering indexes
# (lots/migrations/0002) make each step an index-only lookup on PostgreSQL.
# UNION (not UNION ALL) drops repeated rows, and the depth bound ends the walk even when a
# cycle was written into the table behind the application's back; a lot reached both ways
# (only possible through such a cycle) keeps its ancestor depth.
# Portable SQL: the walk runs unchanged on PostgreSQL and SQLite.
_GRAPH_WALK = """
WITH RECURSIVE
root(lot_id) AS (SELECT id FROM lots WHERE lot_code = %s),
up(lot_id, depth, parent_id, child_id, quantity) AS (
    SELECT g.parent_lot_id, 1, g.parent_lot_id, g.child_lot_id, g.quantity_used_kg
    FROM root JOIN lot_genealogy g ON g.child_lot_id = root.lot_id
    WHERE %s > 0
    UNION
    SELECT g.parent_lot_id, up.depth + 1, g.parent_lot_id, g.child_lot_id, g.quantity_used_kg
    FROM up JOIN lot_genealogy g ON g.child_lot_id = up.lot_id
    WHERE up.depth < %s
),
down(lot_id, depth, parent_id, child_id, quantity) AS (
    SELECT g.child_lot_id, 1, g.parent_lot_id, g.child_lot_id, g.quantity_used_kg
    FROM root JOIN lot_genealogy g ON g.parent_lot_id = root.lot_id
    WHERE %s > 0
    UNION
    SELECT g.child_lot_id, down.depth + 1, g.parent_lot_id, g.child_lot_id, g.quantity_used_kg
    FROM down JOIN lot_genealogy g ON g.parent_lot_id = down.lot_id
    WHERE down.depth < %s
),
nodes(lot_id, depth) AS (
    SELECT lot_id, 0 FROM root
    UNION ALL
    SELECT lot_id, -MIN(depth) FROM up
    WHERE lot_id NOT IN (SELECT lot_id FROM root) GROUP BY lot_id
    UNION ALL
    SELECT lot_id, MIN(depth) FROM down
    WHERE lot_id NOT IN (SELECT lot_id FROM root) AND lot_id NOT IN (SELECT lot_id FROM up)
    GROUP BY lot_id
),
edges(parent_id, child_id, quantity) AS (
    -- Each edge once: one can be walked at two depths, or both ways through a cycle.
    SELECT DISTINCT parent_id, child_id, quantity
    FROM (SELECT parent_id, child_id, quantity FROM up
          UNION ALL
          SELECT parent_id, child_id, quantity FROM down) walked
)
"""

# The node rows (kind 'n': the lot's columns and its depth) and the edge rows (kind 'e')
# together, edges ordered by (parent id, child id).
_GRAPH_SQL = (
    _GRAPH_WALK
    + """
SELECT 'n' AS kind, {lot_columns}, n.depth AS depth,
       NULL AS edge_parent_id, NULL AS edge_child_id, NULL AS edge_quantity
FROM nodes n JOIN lots l ON l.id = n.lot_id
UNION ALL
SELECT 'e', {null_columns}, NULL, parent_id, child_id, quantity FROM edges
ORDER BY 1, 13, 14
""".format(
        lot_columns=", ".join(f"l.{name}" for name in _LOT_COLUMNS),
        null_columns=", ".join("NULL" for _ in _LOT_COLUMNS),
    )
)

# PostgreSQL renders each node and edge as the contract's JSON text itself (profiling: model
# rows or Python dicts for 10,000 lots cost more than the walk). Same text as `lot_as_dict`
# + orjson: lowercase UUIDs, decimals as strings at the column's scale (numeric(10,2) and
# numeric(5,1) print their scale), UTC timestamps ending in Z with microseconds only when
# non-zero (as isoformat), metadata as stored. Rows: (depth or NULL for an edge, sort key,
# JSON text); Python orders them (depth, lot code) and (parent id, child id) and joins them.
_QUOTED_OR_NULL = "COALESCE('\"' || {column} || '\"', 'null')"
_GRAPH_JSON_SQL = (
    _GRAPH_WALK
    + """
SELECT n.depth, l.lot_code,
    '{{"lot":{{"id":"' || l.id || '","lot_code":' || to_json(l.lot_code)
    || ',"lot_type":' || COALESCE(to_json(l.lot_type)::text, 'null')
    || ',"production_run_id":' || {run}
    || ',"phase_id":' || {phase}
    || ',"operator_id":' || {operator}
    || ',"weight_kg":' || {weight}
    || ',"temperature_c":' || {temperature}
    || ',"metadata":' || COALESCE(l.metadata::text, '{{}}')
    || ',"created_at":"' || to_char(l.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS')
    || CASE WHEN date_trunc('second', l.created_at) = l.created_at THEN ''
            ELSE to_char(l.created_at AT TIME ZONE 'UTC', '.US') END
    || 'Z"}},"depth":' || n.depth || '}}'
FROM nodes n JOIN lots l ON l.id = n.lot_id
UNION ALL
SELECT NULL, parent_id::text || child_id::text,
    '{{"parent_lot_id":"' || parent_id || '","child_lot_id":"' || child_id
    || '","quantity_used_kg":' || {quantity} || '}}'
FROM edges
""".format(
        run=_QUOTED_OR_NULL.format(column="l.production_run_id"),
        phase=_QUOTED_OR_NULL.format(column="l.phase_id"),
        operator=_QUOTED_OR_NULL.format(column="l.operator_id"),
        weight=_QUOTED_OR_NULL.format(column="l.weight_kg"),
        temperature=_QUOTED_OR_NULL.format(column="l.temperature_c"),
        quantity=_QUOTED_OR_NULL.format(column="quantity"),
    )
)


def _graph_params(*, lot_code: str, direction: str, max_depth: int | None) -> list[Any]:
    if direction not in ("both", "up", "down"):
        raise ValueError(f"direction must be both, up or down, not {direction!r}")
    if max_depth is not None and max_depth < 0:
        raise ValueError("max_depth must be 0 or more")
    limit = (
        settings.TRACEABILITY_DEPTH_LIMIT
        if max_depth is None
        else min(max_depth, settings.TRACEABILITY_DEPTH_LIMIT)
    )
    up_limit = limit if direction in ("both", "up") else 0
    down_limit = limit if direction in ("both", "down") else 0
    return [lot_code, up_limit, up_limit, down_limit, down_limit]


def _as_uuid(value: object) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


_QUANTITY_FIELD = LotGenealogy._meta.get_field("quantity_used_kg")


def _as_quantity(value: object) -> Decimal | None:
    if value is None:
        return None
    quantity = _QUANTITY_FIELD.to_python(value if not isinstance(value, float) else repr(value))
    return quantity.quantize(Decimal(1).scaleb(-_QUANTITY_FIELD.decimal_places))


def lot_graph(*, lot_code: str, direction: Direction = "both", max_depth: int | None = None) -> LotGraph:
    """The genealogy of a lot in the directions asked, to `max_depth` steps (None: no limit).

    Raises Lot.DoesNotExist when no lot has that code. Nodes carry their shortest signed
    distance from the root; edges are those walked (ancestor links and descendant links).
    """
    rows = Lot.objects.raw(
        _GRAPH_SQL, _graph_params(lot_code=lot_code, direction=direction, max_depth=max_depth)
    )

    root: Lot | None = None
    nodes: dict[uuid.UUID, GraphNode] = {}
    edges: dict[tuple[uuid.UUID, uuid.UUID], GraphEdge] = {}
    for row in rows:
        if row.kind == "n":
            depth = int(row.depth)
            if depth == 0:
                root = row
            # A lot reached both ways (only possible through a cycle) keeps its first depth.
            nodes.setdefault(row.id, GraphNode(lot=row, depth=depth))
        else:
            parent_id, child_id = _as_uuid(row.edge_parent_id), _as_uuid(row.edge_child_id)
            edges.setdefault(
                (parent_id, child_id), GraphEdge(parent_id, child_id, _as_quantity(row.edge_quantity))
            )
    if root is None:
        raise Lot.DoesNotExist(f"No lot with code {lot_code!r}")
    for lot in (node.lot for node in nodes.values()):
        for extra in ("kind", "depth", "edge_parent_id", "edge_child_id", "edge_quantity"):
            lot.__dict__.pop(extra, None)
    return LotGraph(
        root=root,
        nodes=sorted(nodes.values(), key=lambda n: (n.depth, n.lot.lot_code)),
        edges=sorted(edges.values(), key=lambda e: (str(e.parent_lot_id), str(e.child_lot_id))),
    )


# --- The graph as the contract's JSON, straight from the cursor ----------------------------
# The API and the cache need bytes, not model instances: building 10,000 Lot objects costs
# more than the query, so this path decodes the same rows into plain values and lets orjson
# render them (UUIDs and UTC datetimes natively).

_JSON_OPTIONS = orjson.OPT_UTC_Z | orjson.OPT_NAIVE_UTC


def _json_default(value: object) -> object:
    if isinstance(value, Decimal):
        return format(value, "f")
    raise TypeError(f"cannot render {type(value).__name__} as JSON")


def _sqlite_uuid(value: object) -> str | None:
    return None if value is None else str(uuid.UUID(str(value)))


def _sqlite_decimal(scale: Decimal):
    def convert(value: object) -> str | None:
        return None if value is None else format(Decimal(str(value)).quantize(scale), "f")

    return convert


def _sqlite_timestamp(value: object) -> datetime:
    parsed = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _json_fragment(value: object) -> object:
    # jsonb/JSON arrives as text: embedded as it is, never parsed and re-encoded.
    if value is None:
        return {}
    return orjson.Fragment(value) if isinstance(value, (str, bytes)) else value


def _identity(value: object) -> object:
    return value


_SQLITE_LOT_CONVERTERS = (
    _sqlite_uuid,
    _identity,
    _identity,
    _sqlite_uuid,
    _sqlite_uuid,
    _sqlite_uuid,
    _sqlite_decimal(_KG),
    _sqlite_decimal(_CELSIUS),
    _json_fragment,
    _sqlite_timestamp,
)
_SQLITE_QUANTITY = _sqlite_decimal(_KG)


def _plain_loaders(raw_cursor: Any) -> None:
    """Load uuid and numeric columns as their text (what the JSON needs: lowercase canonical
    UUIDs, decimals at the column scale) and timestamps with psycopg's C loader (Django's own
    is Python): the cursor then hands back values orjson renders without a Python callback."""
    from psycopg.types.datetime import TimestamptzLoader
    from psycopg.types.string import TextLoader

    raw_cursor.adapters.register_loader("uuid", TextLoader)
    raw_cursor.adapters.register_loader("numeric", TextLoader)
    raw_cursor.adapters.register_loader("timestamptz", TimestamptzLoader)


def lot_graph_document(
    *, lot_code: str, direction: Direction = "both", max_depth: int | None = None
) -> dict[str, Any] | None:
    """The contract's graph body (section 7) as JSON-ready values; None when no such lot.

    Same query and same answer as `lot_graph`, without model instances: ids and decimals
    are strings already, timestamps aware UTC datetimes, metadata raw JSON (see `graph_json`).
    """
    params = _graph_params(lot_code=lot_code, direction=direction, max_depth=max_depth)
    on_postgresql = connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        if on_postgresql:
            _plain_loaders(cursor.cursor)
        cursor.execute(_GRAPH_SQL, params)
        rows = cursor.fetchall()
    columns = _LOT_COLUMNS
    n_columns = len(columns)
    root_code: str | None = None
    nodes: dict[str, dict[str, Any]] = {}
    edges: list[dict[str, Any]] = []
    for row in rows:
        if row[0] == "n":
            if on_postgresql:
                lot = dict(zip(columns, row[1 : n_columns + 1], strict=True))
                lot["metadata"] = _json_fragment(lot["metadata"])
            else:
                lot = {
                    name: convert(value)
                    for name, convert, value in zip(
                        columns, _SQLITE_LOT_CONVERTERS, row[1 : n_columns + 1], strict=True
                    )
                }
            depth = int(row[n_columns + 1])
            if depth == 0:
                root_code = lot["lot_code"]
            # A lot reached both ways (only possible through a cycle) keeps its first depth.
            nodes.setdefault(lot["id"], {"lot": lot, "depth": depth})
        elif on_postgresql:
            edges.append({"parent_lot_id": row[-3], "child_lot_id": row[-2], "quantity_used_kg": row[-1]})
        else:
            edges.append(
                {
                    "parent_lot_id": _sqlite_uuid(row[-3]),
                    "child_lot_id": _sqlite_uuid(row[-2]),
                    "quantity_used_kg": _SQLITE_QUANTITY(row[-1]),
                }
            )
    if root_code is None:
        return None
    ordered_nodes = sorted(nodes.values(), key=lambda node: (node["depth"], node["lot"]["lot_code"]))
    return {
        "root": root_code,
        "nodes": ordered_nodes,
        "edges": edges,
        "ancestor_count": sum(1 for node in ordered_nodes if node["depth"] < 0),
        "descendant_count": sum(1 for node in ordered_nodes if node["depth"] > 0),
    }


def graph_json(document: dict[str, Any]) -> bytes:
    """Render a graph document (or any JSON-ready value of this module) as JSON bytes."""
    return orjson.dumps(document, default=_json_default, option=_JSON_OPTIONS)


def lot_graph_json(
    *, lot_code: str, direction: Direction = "both", max_depth: int | None = None
) -> bytes | None:
    """The contract's graph body (section 7) as JSON bytes, in one query; None when no such lot.

    Byte for byte `graph_json(lot_graph_document(...))`. On PostgreSQL the database renders
    each node and edge and Python only orders and joins them; elsewhere (SQLite) it is that.
    """
    if connection.vendor != "postgresql":
        document = lot_graph_document(lot_code=lot_code, direction=direction, max_depth=max_depth)
        return None if document is None else graph_json(document)
    params = _graph_params(lot_code=lot_code, direction=direction, max_depth=max_depth)
    with connection.cursor() as cursor:
        cursor.execute(_GRAPH_JSON_SQL, params)
        rows = cursor.fetchall()
    nodes = sorted((row for row in rows if row[0] is not None), key=_node_order)
    if not nodes:  # no root, no walk: no such lot
        return None
    edges = sorted((row for row in rows if row[0] is None), key=_edge_order)
    ancestors = sum(1 for row in nodes if row[0] < 0)
    root_code = next(row[1] for row in nodes if row[0] == 0)
    return b"".join(
        (
            b'{"root":',
            orjson.dumps(root_code),
            b',"nodes":[',
            ",".join(row[2] for row in nodes).encode(),
            b'],"edges":[',
            ",".join(row[2] for row in edges).encode(),
            b'],"ancestor_count":',
            str(ancestors).encode(),
            b',"descendant_count":',
            str(len(nodes) - ancestors - 1).encode(),
            b"}",
        )
    )


def _node_order(row: tuple) -> tuple[int, str]:
    return row[0], row[1]


def _edge_order(row: tuple) -> str:
    # parent id text + child id text: fixed-width, so this orders by (parent id, child id).
    return row[1]


# The lots whose cached answers a change may alter, in one query. A lot whose row changed
# appears in the graph of itself and of every ancestor and descendant, and in the one-step
# answers of itself and its direct neighbours. A new link parent -> child changes the graphs
# of the parent and its ancestors (a new descendant side) and of the child and its descendants
# (a new ancestor side) - not the parent's other descendants nor the child's other ancestors -
# and the one-step answers of its two ends. The walks carry no depth: UNION on the lot id alone
# visits each lot once, which also ends the walk on a cycle.
_AFFECTED_SQL = """
WITH RECURSIVE
up(lot_id) AS (
    SELECT id FROM lots WHERE id IN ({up_seed})
    UNION
    SELECT g.parent_lot_id FROM up JOIN lot_genealogy g ON g.child_lot_id = up.lot_id
),
down(lot_id) AS (
    SELECT id FROM lots WHERE id IN ({down_seed})
    UNION
    SELECT g.child_lot_id FROM down JOIN lot_genealogy g ON g.parent_lot_id = down.lot_id
),
near(lot_id) AS (
    SELECT id FROM lots WHERE id IN ({near_seed})
    UNION
    SELECT g.parent_lot_id FROM lot_genealogy g WHERE g.child_lot_id IN ({changed})
    UNION
    SELECT g.child_lot_id FROM lot_genealogy g WHERE g.parent_lot_id IN ({changed})
),
affected(lot_id) AS (
    SELECT lot_id FROM up UNION SELECT lot_id FROM down UNION SELECT lot_id FROM near
)
-- Each code looked up by primary key: a join let the planner, misled by the recursive CTEs'
-- row estimates, hash the whole lots table (a sequential scan on every write).
SELECT (SELECT l.lot_code FROM lots l WHERE l.id = a.lot_id),
       CASE WHEN a.lot_id IN (SELECT lot_id FROM near) THEN 1 ELSE 0 END
FROM affected a
"""


def genealogy_affected_codes(
    *, lot_ids: Iterable[uuid.UUID] = (), links: Iterable[tuple[uuid.UUID, uuid.UUID]] = ()
) -> tuple[set[str], set[str]]:
    """(codes whose graph may have changed, codes whose one-step answer may have changed).

    `lot_ids`: lots created or edited; `links`: (parent id, child id) of links added.
    """
    changed = set(lot_ids)
    links = set(links)
    if not changed and not links:
        return set(), set()
    parents = {parent for parent, _ in links}
    children = {child for _, child in links}
    seeds = {
        "up_seed": changed | parents,
        "down_seed": changed | children,
        "near_seed": changed | parents | children,
        "changed": changed,
    }
    pk = Lot._meta.pk
    params: list[Any] = []
    placeholders: dict[str, str] = {}
    for name in ("up_seed", "down_seed", "near_seed", "changed", "changed"):
        ids = [pk.get_db_prep_value(lot_id, connection) for lot_id in seeds[name]]
        # IN (NULL) matches nothing: an empty seed without an empty IN list (invalid SQL).
        placeholders[name] = ", ".join(["%s"] * len(ids)) or "NULL"
        params += ids
    with connection.cursor() as cursor:
        cursor.execute(_AFFECTED_SQL.format(**placeholders), params)
        rows = cursor.fetchall()
    # A code is None only for a lot deleted by a concurrent transaction since the walk.
    return {code for code, _ in rows if code is not None}, {code for code, near in rows if near and code}


def lot_latest_decisions(*, lot_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
    """The latest QC decision (PASS/HOLD/FAIL) of each of these lots that has one: one query."""
    latest = (
        QcDecision.objects.filter(lot=OuterRef("pk")).order_by("-decided_at", "-id").values("decision")[:1]
    )
    rows = (
        Lot.objects.filter(pk__in=list(lot_ids))
        .annotate(latest_decision=Subquery(latest))
        .filter(latest_decision__isnull=False)
        .values_list("pk", "latest_decision")
    )
    return dict(rows)


# Ids only, for the cycle check of a new link. UNION on the id alone visits each lot once,
# which also ends the walk on a cycle.
_DESCENDANT_IDS_SQL = """
WITH RECURSIVE down(lot_id) AS (
    SELECT %s
    UNION
    SELECT g.child_lot_id FROM down JOIN lot_genealogy g ON g.parent_lot_id = down.lot_id
)
SELECT lot_id FROM down WHERE lot_id <> %s
"""


def lot_descendant_ids(*, lot_id: uuid.UUID) -> set[uuid.UUID]:
    """Every lot made, directly or not, from this one: one query."""
    root = Lot._meta.pk.get_db_prep_value(lot_id, connection)
    with connection.cursor() as cursor:
        cursor.execute(_DESCENDANT_IDS_SQL, [root, root])
        return {_as_uuid(row[0]) for row in cursor.fetchall()}


# --- Recall: every finished good downstream of a lot ------------------------------------------
# One query: the downward walk (shortest path length per lot), the FG lots it reaches, and for
# each the latest QC decision through a correlated subquery (portable: PostgreSQL and SQLite;
# the (lot, -decided_at) index answers each with one index step).
_RECALL_SQL = """
WITH RECURSIVE
root(lot_id) AS (SELECT id FROM lots WHERE lot_code = %s),
down(lot_id, depth) AS (
    SELECT lot_id, 0 FROM root
    UNION
    SELECT g.child_lot_id, down.depth + 1
    FROM down JOIN lot_genealogy g ON g.parent_lot_id = down.lot_id
    WHERE down.depth < %s
),
reach(lot_id, depth) AS (SELECT lot_id, MIN(depth) FROM down GROUP BY lot_id)
SELECT {lot_columns}, r.depth AS path_length,
    (SELECT d.decision FROM qc_decisions d WHERE d.lot_id = l.id
     ORDER BY d.decided_at DESC, d.id DESC LIMIT 1) AS latest_decision,
    (SELECT d.decided_at FROM qc_decisions d WHERE d.lot_id = l.id
     ORDER BY d.decided_at DESC, d.id DESC LIMIT 1) AS latest_decision_at
FROM reach r JOIN lots l ON l.id = r.lot_id
WHERE l.lot_type = 'FG'
""".format(lot_columns=", ".join(f"l.{name}" for name in _LOT_COLUMNS))


def recall_report(*, lot_code: str) -> dict[str, Any] | None:
    """Every FG lot downstream of a lot (the lot itself when it is FG, at path length 0).

    {"lot_code", "generated_at", "affected_count", "total_weight_kg", "lots": [{"lot",
    "path_length", "latest_decision", "latest_decision_at"}]}, lots by path length then code;
    total_weight_kg sums the FG weights (lots without a weight count as 0). None: no such lot.
    """
    if not Lot.objects.filter(lot_code=lot_code).exists():
        return None
    rows = Lot.objects.raw(_RECALL_SQL, [lot_code, settings.TRACEABILITY_DEPTH_LIMIT])
    entries = []
    total = Decimal(0)
    for lot in rows:
        decided_at = lot.latest_decision_at
        if decided_at is not None and not isinstance(decided_at, datetime):  # SQLite: text
            decided_at = _sqlite_timestamp(decided_at)
        if lot.weight_kg is not None:
            total += lot.weight_kg
        entries.append(
            {
                "lot": lot_as_dict(lot),
                "path_length": int(lot.path_length),
                "latest_decision": lot.latest_decision,
                "latest_decision_at": None if decided_at is None else timestamp_text(decided_at),
            }
        )
    entries.sort(key=lambda entry: (entry["path_length"], entry["lot"]["lot_code"]))
    return {
        "lot_code": lot_code,
        "generated_at": timestamp_text(datetime.now(UTC)),
        "affected_count": len(entries),
        "total_weight_kg": decimal_text(total, _KG),
        "lots": entries,
    }


RECALL_CSV_COLUMNS = (
    "lot_code",
    "lot_id",
    "lot_type",
    "weight_kg",
    "created_at",
    "path_length",
    "latest_decision",
    "latest_decision_at",
)


def recall_csv_rows(report: dict[str, Any]) -> Iterable[list[str]]:
    """The recall report as CSV rows (header first); the same lots, in the same order."""
    yield list(RECALL_CSV_COLUMNS)
    for entry in report["lots"]:
        lot = entry["lot"]
        yield [
            lot["lot_code"],
            lot["id"],
            lot["lot_type"] or "",
            lot["weight_kg"] or "",
            lot["created_at"],
            str(entry["path_length"]),
            entry["latest_decision"] or "",
            entry["latest_decision_at"] or "",
        ]
