"""Reads of lots and their genealogy, returning plain data: JSON bytes, dicts, strings, None.

Reads that return lots return them as the contract's JSON, rendered by PostgreSQL (see
`lot_json_sql`), so that the API sends it and a cache stores it as it is.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal

import orjson
from django.conf import settings
from django.db import connection
from django.db.models import Exists, OuterRef, Subquery

from flowviz.core.formats import decimal_text, timestamp_text
from lots.holds import held_by_sql, latest_decision_sql
from lots.models import Lot, LotGenealogy, LotSuspicion, LotType
from lots.reconciliation import FlowLink, FlowLot, reconcile
from quality.models import QcDecision

# The scale of numeric(10,2) weights and quantities.
_KG = Decimal("0.01")


# --- The Lot shape (contract section 4), rendered by PostgreSQL --------------------------------
# The one definition of how a lot looks on the wire: every read that returns lots (list,
# detail, one step, graph, recall, the lot just registered) selects this expression, and
# `LotOut` (lots/schemas.py) describes it for OpenAPI (tests/lots/test_lot_shape.py keeps the
# two equal). Lowercase UUIDs, decimals as strings at the column's scale (numeric(10,2) and
# numeric(5,1) print their scale), UTC timestamps ending in Z with microseconds only when
# non-zero (as Python's isoformat), metadata as PostgreSQL prints jsonb. Rendering in the
# database costs no Python per lot: a 10,000-lot graph as model rows cost more than its walk.
_QUOTED_OR_NULL = "COALESCE('\"' || {column} || '\"', 'null')"


def lot_json_sql(alias: str, *, metadata: bool = True) -> str:
    """SQL text of the contract's Lot JSON for the row of `lots` named `alias` (type text).

    metadata=False: `"metadata":{}` in its place, for a caller that parses the lot in Python
    and puts the metadata text back as it is (a row written before the text limits may be
    nested deeper than a JSON renderer goes, or hold numbers beyond 64 bits)."""
    metadata_sql = f"COALESCE({alias}.metadata::text, '{{}}')" if metadata else "'{}'"
    return f"""'{{"id":"' || {alias}.id || '","lot_code":' || to_json({alias}.lot_code)
    || ',"lot_type":' || COALESCE(to_json({alias}.lot_type)::text, 'null')
    || ',"production_run_id":' || {_QUOTED_OR_NULL.format(column=f"{alias}.production_run_id")}
    || ',"phase_id":' || {_QUOTED_OR_NULL.format(column=f"{alias}.phase_id")}
    || ',"operator_id":' || {_QUOTED_OR_NULL.format(column=f"{alias}.operator_id")}
    || ',"weight_kg":' || {_QUOTED_OR_NULL.format(column=f"{alias}.weight_kg")}
    || ',"temperature_c":' || {_QUOTED_OR_NULL.format(column=f"{alias}.temperature_c")}
    || ',"metadata":' || {metadata_sql}
    || ',"created_at":"' || to_char({alias}.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS')
    || CASE WHEN date_trunc('second', {alias}.created_at) = {alias}.created_at THEN ''
            ELSE to_char({alias}.created_at AT TIME ZONE 'UTC', '.US') END
    || 'Z"}}'"""


def _json_array(items: Iterable[str]) -> bytes:
    return b"[" + ",".join(items).encode() + b"]"


def link_as_dict(link: LotGenealogy) -> dict[str, Any]:
    return {
        "id": str(link.id),
        "parent_lot_id": str(link.parent_lot_id),
        "child_lot_id": str(link.child_lot_id),
        "quantity_used_kg": decimal_text(link.quantity_used_kg, _KG),
        "linked_at": timestamp_text(link.linked_at),
    }


_LOT_LIST_FILTERS = (
    '"lots"."lot_type" = %s',
    '"lots"."production_run_id" = %s',
    '"lots"."lot_code"::text LIKE %s',
)


@functools.cache
def _lot_list_sql(filtered: tuple[bool, bool, bool]) -> str:
    # What the ORM wrote for this filter combination, written once per combination: building
    # the queryset was a sixth of the list's CPU in the API workers (GIL-only py-spy profile).
    where = " AND ".join(clause for clause, on in zip(_LOT_LIST_FILTERS, filtered, strict=True) if on)
    return (
        "SELECT "
        + lot_json_sql('"lots"')
        + ' FROM "lots"'
        + (f" WHERE {where}" if where else "")
        + ' ORDER BY "lots"."created_at" DESC, "lots"."lot_code" ASC LIMIT %s OFFSET %s'
    )


def lot_list(
    *,
    limit: int = 100,
    offset: int = 0,
    lot_type: LotType | str | None = None,
    production_run_id: uuid.UUID | None = None,
    code_prefix: str | None = None,
) -> bytes:
    """Lots, newest first (ties by code, so pages are stable), as a JSON array of Lots."""
    if code_prefix and "\x00" in code_prefix:
        # No code holds U+0000 (PostgreSQL cannot store it): nothing starts with it.
        return b"[]"
    filters = (
        lot_type,
        production_run_id,
        f"{connection.ops.prep_for_like_query(code_prefix)}%" if code_prefix else None,
    )
    params = [value for value in filters if value is not None]
    sql = _lot_list_sql(tuple(value is not None for value in filters))
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, limit, offset])
        return _json_array(row[0] for row in cursor.fetchall())


def lot_id_for_code(*, lot_code: str) -> uuid.UUID | None:
    return Lot.objects.filter(lot_code=lot_code).values_list("id", flat=True).first()


_LOT_BY_CODE_SQL = f"SELECT {lot_json_sql('l')} FROM lots l WHERE l.lot_code = %s"


def _one_lot(sql: str, key: object) -> bytes | None:
    # A plain cursor: it runs on every detail read (no queryset to compile).
    with connection.cursor() as cursor:
        cursor.execute(sql, [key])
        row = cursor.fetchone()
    return None if row is None else row[0].encode()


def lot_get(*, lot_code: str) -> bytes | None:
    """The lot as JSON; None when no lot has that code."""
    return _one_lot(_LOT_BY_CODE_SQL, lot_code)


# The lot (kind 0), its parents (1) and its children (2), each rendered as a Lot: one query.
_ONE_STEP_SQL = f"""
SELECT 0, l.lot_code, {lot_json_sql("l")} FROM lots l WHERE l.lot_code = %s
UNION ALL
SELECT 1, p.lot_code, {lot_json_sql("p")}
FROM lots c JOIN lot_genealogy g ON g.child_lot_id = c.id JOIN lots p ON p.id = g.parent_lot_id
WHERE c.lot_code = %s
UNION ALL
SELECT 2, k.lot_code, {lot_json_sql("k")}
FROM lots c JOIN lot_genealogy g ON g.parent_lot_id = c.id JOIN lots k ON k.id = g.child_lot_id
WHERE c.lot_code = %s
"""


def lot_traceability_one_step(*, lot_code: str) -> bytes | None:
    """One step back and one forward, as JSON {"central", "parents", "children"} (neighbours by
    code); None if no such lot. One query."""
    with connection.cursor() as cursor:
        cursor.execute(_ONE_STEP_SQL, [lot_code] * 3)
        rows = sorted(cursor.fetchall(), key=lambda row: (row[0], row[1]))
    if not rows or rows[0][0] != 0:
        return None
    return b"".join(
        (
            b'{"central":',
            rows[0][2].encode(),
            b',"parents":',
            _json_array(row[2] for row in rows if row[0] == 1),
            b',"children":',
            _json_array(row[2] for row in rows if row[0] == 2),
            b"}",
        )
    )


# --- The genealogy graph (issue 3) ---------------------------------------------------------

Direction = Literal["both", "up", "down"]


@dataclass(frozen=True)
class GraphLot:
    """A lot of a graph: its contract JSON (`data`), with the id parsed for lookups."""

    id: uuid.UUID
    lot_code: str
    lot_type: str | None
    data: dict[str, Any]

    @property
    def pk(self) -> uuid.UUID:
        return self.id


@dataclass(frozen=True)
class GraphNode:
    lot: GraphLot
    depth: int  # negative: ancestor, 0: the root, positive: descendant
    qc_status: str | None = None  # the lot's latest QC decision
    held_by: tuple[str, ...] = ()  # codes of the held lots it is suspect because of


@dataclass(frozen=True)
class GraphEdge:
    parent_lot_id: uuid.UUID
    child_lot_id: uuid.UUID
    quantity_used_kg: Decimal | None


@dataclass
class LotGraph:
    root: GraphLot
    nodes: list[GraphNode] = field(default_factory=list)
    edges: list[GraphEdge] = field(default_factory=list)

    @property
    def ancestor_count(self) -> int:
        return sum(1 for node in self.nodes if node.depth < 0)

    @property
    def descendant_count(self) -> int:
        return sum(1 for node in self.nodes if node.depth > 0)


# The one genealogy walk (graph endpoint, Celery task, admin picture, recall report): up
# (child -> parent) and down (parent -> child) from the root with recursive CTEs whose rows are
# the edges walked (with the depth reached); the nodes are the lots reached with their signed
# shortest distance. Carrying the edge in the walk means the edges cost no second pass over
# lot_genealogy; the covering indexes (lots/migrations/0002) make each step an index-only
# lookup. UNION (not UNION ALL) drops repeated rows, and the depth bound ends the walk even
# when a cycle was written into the table behind the application's back; a lot reached both
# ways (only possible through such a cycle) keeps its ancestor depth. Parameters: see
# `_graph_params`.
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


# Each node and edge as the contract's JSON text. Rows: (depth or NULL for an edge, sort key,
# JSON text); Python orders them (depth, lot code) and (parent id, child id) and joins them.
# A node also carries its QC state (issue 15): `qc_status`, its latest decision (one step on
# the (lot_id, decided_at) index), and `held_by`, the codes of the held lots it is suspect
# because of. held_by is computed for the whole graph at once - the suspicion rows of the
# graph's lots, the few distinct held lots among them still on HOLD/FAIL (each checked once),
# joined back - rather than probing lot_suspicions once per node: most graphs have no suspect.
_GRAPH_JSON_SQL = (
    _GRAPH_WALK
    + f""",
suspicions(suspect_id, held_id) AS (
    SELECT s.suspect_lot_id, s.held_lot_id FROM lot_suspicions s
    WHERE s.suspect_lot_id IN (SELECT lot_id FROM nodes)
),
holding(lot_id, lot_code) AS (
    SELECT x.held_id, (SELECT h.lot_code FROM lots h WHERE h.id = x.held_id)
    FROM (SELECT DISTINCT held_id FROM suspicions) x
    WHERE ({latest_decision_sql("x.held_id")}) IN ('HOLD', 'FAIL')
),
held_by(lot_id, codes) AS (
    SELECT s.suspect_id, json_agg(h.lot_code ORDER BY h.lot_code)::text
    FROM suspicions s JOIN holding h ON h.lot_id = s.held_id
    GROUP BY s.suspect_id
)
SELECT n.depth, l.lot_code, '{{"lot":' || {lot_json_sql("l")} || ',"depth":' || n.depth
    || ',"qc_status":' || COALESCE('"' || ({latest_decision_sql("l.id")}) || '"', 'null')
    || ',"held_by":' || COALESCE(hb.codes, '[]') || '}}'
FROM nodes n JOIN lots l ON l.id = n.lot_id LEFT JOIN held_by hb ON hb.lot_id = n.lot_id
UNION ALL
SELECT NULL, parent_id::text || child_id::text,
    '{{"parent_lot_id":"' || parent_id || '","child_lot_id":"' || child_id
    || '","quantity_used_kg":' || {_QUOTED_OR_NULL.format(column="quantity")} || '}}'
FROM edges
"""
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


def lot_graph_json(
    *, lot_code: str, direction: Direction = "both", max_depth: int | None = None
) -> bytes | None:
    """The contract's graph body (section 7) as JSON bytes, in one query; None when no such lot.

    Nodes carry their shortest signed distance from the root (by depth, then lot code); edges
    are those walked (by parent id, then child id). The database renders each node and edge;
    Python only orders and joins them.
    """
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
            b',"nodes":',
            _json_array(row[2] for row in nodes),
            b',"edges":',
            _json_array(row[2] for row in edges),
            b',"ancestor_count":',
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


def _graph_lot(data: dict[str, Any]) -> GraphLot:
    return GraphLot(id=uuid.UUID(data["id"]), lot_code=data["lot_code"], lot_type=data["lot_type"], data=data)


def lot_graph(*, lot_code: str, direction: Direction = "both", max_depth: int | None = None) -> LotGraph:
    """The graph of `lot_graph_json` as objects (the admin's picture); same query, same order.

    Raises Lot.DoesNotExist when no lot has that code.
    """
    body = lot_graph_json(lot_code=lot_code, direction=direction, max_depth=max_depth)
    if body is None:
        raise Lot.DoesNotExist(f"No lot with code {lot_code!r}")
    document = orjson.loads(body)
    nodes = [
        GraphNode(
            lot=_graph_lot(node["lot"]),
            depth=node["depth"],
            qc_status=node["qc_status"],
            held_by=tuple(node["held_by"]),
        )
        for node in document["nodes"]
    ]
    edges = [
        GraphEdge(
            parent_lot_id=uuid.UUID(edge["parent_lot_id"]),
            child_lot_id=uuid.UUID(edge["child_lot_id"]),
            quantity_used_kg=None if edge["quantity_used_kg"] is None else Decimal(edge["quantity_used_kg"]),
        )
        for edge in document["edges"]
    ]
    root = next(node.lot for node in nodes if node.depth == 0)
    return LotGraph(root=root, nodes=nodes, edges=edges)


# The lots whose cached answers a change may alter, in one query. A lot whose row changed
# appears in the graph of itself and of every ancestor and descendant, and in the one-step
# answers of itself and its direct neighbours. A new link parent -> child changes the graphs
# of the parent and its ancestors (a new descendant side) and of the child and its descendants
# (a new ancestor side) - not the parent's other descendants nor the child's other ancestors -
# and the one-step answers of its two ends. The walks carry no depth: UNION on the lot id alone
# visits each lot once, which also ends the walk on a cycle.
# The recursive steps look each frontier lot's links up through a LATERAL subquery with
# OFFSET 0 (a fence the planner does not flatten): an index probe per lot. As a plain join,
# the planner, expecting a large worktable, hashed the whole lot_genealogy table on every
# write (0.9 ms of PostgreSQL time per write on a few thousand links, growing with the table).
_AFFECTED_SQL = """
WITH RECURSIVE
up(lot_id) AS (
    SELECT id FROM lots WHERE id = ANY(%(up_seed)s::uuid[])
    UNION
    SELECT p.parent_lot_id FROM up, LATERAL (
        SELECT g.parent_lot_id FROM lot_genealogy g WHERE g.child_lot_id = up.lot_id OFFSET 0
    ) p
),
down(lot_id) AS (
    SELECT id FROM lots WHERE id = ANY(%(down_seed)s::uuid[])
    UNION
    SELECT c.child_lot_id FROM down, LATERAL (
        SELECT g.child_lot_id FROM lot_genealogy g WHERE g.parent_lot_id = down.lot_id OFFSET 0
    ) c
),
near(lot_id) AS (
    SELECT id FROM lots WHERE id = ANY(%(near_seed)s::uuid[])
    UNION
    SELECT g.parent_lot_id FROM lot_genealogy g WHERE g.child_lot_id = ANY(%(changed)s::uuid[])
    UNION
    SELECT g.child_lot_id FROM lot_genealogy g WHERE g.parent_lot_id = ANY(%(changed)s::uuid[])
),
-- UNION ALL, de-duplicated by the caller: a UNION hashes into a table sized by the recursive
-- CTEs' row estimates (thousands of rows, 0.8 MB), which took most of the statement's CPU.
affected(lot_id) AS (
    SELECT lot_id FROM up UNION ALL SELECT lot_id FROM down UNION ALL SELECT lot_id FROM near
)
-- Each code looked up by primary key: a join let the planner, misled by the recursive CTEs'
-- row estimates, hash the whole lots table (a sequential scan on every write).
SELECT a.lot_id,
       (SELECT l.lot_code FROM lots l WHERE l.id = a.lot_id),
       CASE WHEN a.lot_id IN (SELECT lot_id FROM near) THEN 1 ELSE 0 END
FROM affected a
"""


@dataclass(frozen=True)
class AffectedLot:
    """A lot whose cached graph may have changed; `near`: its one-step answer may have too."""

    lot_id: uuid.UUID
    lot_code: str
    near: bool


def genealogy_affected(
    *, lot_ids: Iterable[uuid.UUID] = (), links: Iterable[tuple[uuid.UUID, uuid.UUID]] = ()
) -> list[AffectedLot]:
    """The lots whose cached answers these changes may have altered: one recursive query.

    `lot_ids`: lots created or edited; `links`: (parent id, child id) of links added.
    """
    changed = set(lot_ids)
    links = set(links)
    if not changed and not links:
        return []
    parents = {parent for parent, _ in links}
    children = {child for _, child in links}
    seeds = {
        "up_seed": changed | parents,
        "down_seed": changed | children,
        "near_seed": changed | parents | children,
        "changed": changed,
    }
    with connection.cursor() as cursor:
        cursor.execute(_AFFECTED_SQL, {name: list(ids) for name, ids in seeds.items()})
        rows = cursor.fetchall()
    # A code is None only for a lot deleted by a concurrent transaction since the walk; a lot
    # both up and down (or near) comes once per walk.
    unique = {
        lot_id: AffectedLot(lot_id, code, bool(near)) for lot_id, code, near in rows if code is not None
    }
    return list(unique.values())


def genealogy_affected_codes(
    *, lot_ids: Iterable[uuid.UUID] = (), links: Iterable[tuple[uuid.UUID, uuid.UUID]] = ()
) -> tuple[set[str], set[str]]:
    """(codes whose graph may have changed, codes whose one-step answer may have changed)."""
    affected = genealogy_affected(lot_ids=lot_ids, links=links)
    return {lot.lot_code for lot in affected}, {lot.lot_code for lot in affected if lot.near}


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


@dataclass(frozen=True)
class QcState:
    """A lot's latest QC decision (None: never decided) and the held lots it is suspect
    because of, as (code, HOLD or FAIL) sorted by code (empty: not suspect)."""

    status: str | None
    held_by: tuple[tuple[str, str], ...] = ()


# Per lot: its latest decision and its held ancestors with theirs - index lookups only (the
# qc_decisions (lot_id, decided_at) index and the lot_suspicions primary key), no walk.
def lot_qc_states_sql(ids_sql: str) -> str:
    """SQL of the QcState rows (id, latest decision, held_by) of the lots whose ids the
    subquery `ids_sql` gives, for a batch; read them with `lot_qc_states_from_rows`."""
    return f"""
SELECT p.id,
    ({latest_decision_sql("p.id")}),
    (SELECT array_agg(ARRAY[h.lot_code, hd.decision] ORDER BY h.lot_code) {held_by_sql("p.id")})
FROM ({ids_sql}) AS p(id)
"""


_QC_STATES_SQL = lot_qc_states_sql("SELECT unnest(%s::uuid[])")


def lot_qc_states_from_rows(rows: Iterable[tuple]) -> dict[uuid.UUID, QcState]:
    return {
        lot_id: QcState(status=status, held_by=tuple((code, decision) for code, decision in held or ()))
        for lot_id, status, held in rows
    }


def lot_qc_states(*, lot_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, QcState]:
    """The QcState of each of these lots (every id given gets one): one query."""
    with connection.cursor() as cursor:
        cursor.execute(_QC_STATES_SQL, [list(lot_ids)])
        return lot_qc_states_from_rows(cursor.fetchall())


# The holds a lot is suspect because of, for the admin's lot page: each held lot with its
# latest decision (the one that holds it) and since when the lot is suspect.
_SUSPICION_CAUSES_SQL = """
SELECT h.id, h.lot_code, hd.decision, hd.decided_at, hd.notes, s.since
FROM lot_suspicions s JOIN lots h ON h.id = s.held_lot_id
CROSS JOIN LATERAL (
    SELECT d.decision, d.decided_at, d.notes FROM qc_decisions d WHERE d.lot_id = h.id
    ORDER BY d.decided_at DESC, d.id DESC LIMIT 1
) hd
WHERE s.suspect_lot_id = %s AND hd.decision IN ('HOLD', 'FAIL')
ORDER BY h.lot_code
"""


def lot_suspicion_causes(*, lot_id: uuid.UUID) -> list[dict[str, Any]]:
    """Why a lot is suspect: [{"lot_id", "lot_code", "decision", "decided_at", "notes",
    "since"}] of its held ancestors, by code; empty when it is not suspect."""
    with connection.cursor() as cursor:
        cursor.execute(_SUSPICION_CAUSES_SQL, [lot_id])
        columns = ("lot_id", "lot_code", "decision", "decided_at", "notes", "since")
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def suspect_lot_condition() -> Exists:
    """An ORM condition on Lot: the lot is suspect (a held lot it was made from is still held)."""
    held_status = (
        QcDecision.objects.filter(lot=OuterRef("held_lot"))
        .order_by("-decided_at", "-id")
        .values("decision")[:1]
    )
    return Exists(
        LotSuspicion.objects.filter(suspect_lot=OuterRef("pk"))
        .annotate(held_status=Subquery(held_status))
        .filter(held_status__in=["HOLD", "FAIL"])
    )


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
        return {row[0] for row in cursor.fetchall()}


# --- Holds (issue 15) ----------------------------------------------------------------------
# Every lot whose latest decision is HOLD or FAIL (candidates from the partial index of the
# lots ever held, each checked on the (lot_id, decided_at) index), with its suspects counted
# from lot_suspicions (held_lot_id index; one row per suspect lot, so a lot reached by two
# paths counts once). One query, however many holds.
_HOLDS_SQL = f"""
WITH held AS (
    SELECT c.lot_id, hd.id AS decision_id, hd.decision, hd.decided_at, hd.notes
    FROM (SELECT DISTINCT lot_id FROM qc_decisions WHERE decision IN ('HOLD', 'FAIL')) c
    CROSS JOIN LATERAL (
        SELECT d.id, d.decision, d.decided_at, d.notes FROM qc_decisions d WHERE d.lot_id = c.lot_id
        ORDER BY d.decided_at DESC, d.id DESC LIMIT 1
    ) hd
    WHERE hd.decision IN ('HOLD', 'FAIL')
)
SELECT {lot_json_sql("l")}, held.decision_id, held.decision, held.decided_at, held.notes,
    suspects.total, suspects.fg_codes, suspects.fg_weight, suspects.fg_unweighed
FROM held JOIN lots l ON l.id = held.lot_id
CROSS JOIN LATERAL (
    SELECT count(*) AS total,
        array_agg(d.lot_code ORDER BY d.lot_code) FILTER (WHERE d.lot_type = 'FG') AS fg_codes,
        COALESCE(sum(d.weight_kg) FILTER (WHERE d.lot_type = 'FG'), 0) AS fg_weight,
        count(*) FILTER (WHERE d.lot_type = 'FG' AND d.weight_kg IS NULL) AS fg_unweighed
    FROM lot_suspicions s JOIN lots d ON d.id = s.suspect_lot_id
    WHERE s.held_lot_id = held.lot_id
) suspects
ORDER BY held.decided_at DESC, held.decision_id DESC
"""


def holds_list() -> bytes:
    """GET /api/holds: every held lot, newest hold first, as a JSON array (see HoldOut)."""
    with connection.cursor() as cursor:
        cursor.execute(_HOLDS_SQL, [])
        rows = cursor.fetchall()
    holds = []
    for lot_json, decision_id, decision, decided_at, notes, total, fg_codes, fg_weight, unweighed in rows:
        holds.append(
            {
                "lot": orjson.Fragment(lot_json),
                "decision": decision,
                "decision_id": str(decision_id),
                "decided_at": timestamp_text(decided_at),
                "notes": notes,
                "suspect_count": total,
                "fg_lot_count": len(fg_codes or ()),
                "fg_lot_codes": fg_codes or [],
                "fg_weight_kg": decimal_text(fg_weight, _KG),
                "fg_lots_without_weight": unweighed,
            }
        )
    return orjson.dumps(holds)


# --- The events of a genealogy (the FSMA 204 spreadsheet, lots.fsma) ---------------------------


@dataclass(frozen=True)
class EventInput:
    lot_code: str
    lot_type: str | None
    quantity_kg: Decimal | None


@dataclass(frozen=True)
class GenealogyEvent:
    """A lot of a genealogy with what makes its event: no inputs (it was received) or the
    lots it was made from, by code."""

    lot_id: uuid.UUID
    lot_code: str
    lot_type: str | None
    weight_kg: Decimal | None
    created_at: datetime
    run_code: str | None
    inputs: tuple[EventInput, ...]


# Every lot of the genealogy (both ways), with its run code; then every parent link of those
# lots (all of a lot's inputs, also those outside the genealogy asked about). One query.
_EVENTS_SQL = (
    _GRAPH_WALK
    + """
SELECT 'n', l.id, l.lot_code, l.lot_type, l.weight_kg, l.created_at, r.run_code
FROM nodes n JOIN lots l ON l.id = n.lot_id
LEFT JOIN production_runs r ON r.id = l.production_run_id
UNION ALL
SELECT 'i', g.child_lot_id, p.lot_code, p.lot_type, g.quantity_used_kg, NULL, NULL
FROM nodes n JOIN lot_genealogy g ON g.child_lot_id = n.lot_id JOIN lots p ON p.id = g.parent_lot_id
"""
)


def genealogy_events(*, lot_code: str) -> list[GenealogyEvent] | None:
    """Each lot of the genealogy of `lot_code` in both directions with its inputs (by code);
    None when no lot has that code."""
    params = _graph_params(lot_code=lot_code, direction="both", max_depth=None)
    with connection.cursor() as cursor:
        cursor.execute(_EVENTS_SQL, params)
        rows = cursor.fetchall()
    inputs: dict[uuid.UUID, list[EventInput]] = {}
    for kind, child_id, code, lot_type, quantity, _, _ in rows:
        if kind == "i":
            inputs.setdefault(child_id, []).append(EventInput(code, lot_type, quantity))
    events = [
        GenealogyEvent(
            lot_id=lot_id,
            lot_code=code,
            lot_type=lot_type,
            weight_kg=weight,
            created_at=created_at,
            run_code=run_code,
            inputs=tuple(sorted(inputs.get(lot_id, ()), key=lambda used: used.lot_code)),
        )
        for kind, lot_id, code, lot_type, weight, created_at, run_code in rows
        if kind == "n"
    ]
    return events or None


# --- Recall: every finished good downstream of a lot, and where the lot's kilograms went ----
# The graph walk going down (shortest path length per lot), in one query: every lot it reaches
# (id, code, type, weight: the reconciliation needs them all) and, for the FG ones and the
# root, the contract's Lot JSON and the latest QC decision (the (lot, -decided_at) index
# answers each with one index step); then every edge walked. Rows: ("n", depth, id, code,
# type, weight, lot JSON, decision, decided at) and ("e", NULL, parent id, child id, NULL,
# quantity, NULL, NULL, NULL).
_RECALL_SQL = (
    _GRAPH_WALK
    + f"""
SELECT 'n', n.depth, l.id, l.lot_code, l.lot_type, l.weight_kg,
    CASE WHEN n.depth = 0 OR l.lot_type = 'FG' THEN {lot_json_sql("l", metadata=False)} END,
    latest.decision, latest.decided_at,
    CASE WHEN n.depth = 0 OR l.lot_type = 'FG' THEN COALESCE(l.metadata::text, '{{}}') END
FROM nodes n JOIN lots l ON l.id = n.lot_id
LEFT JOIN LATERAL (
    SELECT d.decision, d.decided_at FROM qc_decisions d
    WHERE d.lot_id = l.id AND (n.depth = 0 OR l.lot_type = 'FG')
    ORDER BY d.decided_at DESC, d.id DESC LIMIT 1
) latest ON true
UNION ALL
SELECT 'e', NULL, parent_id, child_id::text, NULL, quantity, NULL, NULL, NULL, NULL FROM edges
"""
)


def recall_report(*, lot_code: str) -> dict[str, Any] | None:
    """Every FG lot downstream of a lot (the lot itself when it is FG, at path length 0), and
    the mass-balance reconciliation of the lot (lots.reconciliation). One query.

    {"lot_code", "generated_at", "affected_count", "total_weight_kg", "lots": [{"lot",
    "path_length", "latest_decision", "latest_decision_at", "recalled_kg"}], "reconciliation"},
    lots by path length then code; total_weight_kg sums the FG weights (lots without a weight
    count as 0); recalled_kg: the kilograms of the recalled lot in that FG lot (null when a
    weight on the way is unknown). None: no such lot. Each lot's `metadata` is an
    orjson.Fragment of the stored text: render the report with orjson.
    """
    params = _graph_params(lot_code=lot_code, direction="down", max_depth=None)
    with connection.cursor() as cursor:
        cursor.execute(_RECALL_SQL, params)
        rows = cursor.fetchall()
    if not rows:
        return None
    entries = []
    total = Decimal(0)
    flow_lots, flow_links = [], []
    root_id = None
    for kind, depth, lot_id, code, lot_type, weight, lot_json, decision, decided_at, metadata in rows:
        if kind == "e":
            flow_links.append(FlowLink(parent_id=lot_id, child_id=uuid.UUID(code), quantity_kg=weight))
            continue
        flow_lots.append(FlowLot(id=lot_id, lot_code=code, lot_type=lot_type, weight_kg=weight))
        if depth == 0:
            root_id = lot_id
        if lot_type != LotType.FG:
            continue
        lot = orjson.loads(lot_json)
        # As PostgreSQL printed it: the renderer copies it, however deep or large its numbers.
        lot["metadata"] = orjson.Fragment(metadata)
        if weight is not None:
            total += weight
        entries.append(
            {
                "lot": lot,
                "path_length": depth,
                "latest_decision": decision,
                "latest_decision_at": None if decided_at is None else timestamp_text(decided_at),
            }
        )
    reconciliation = reconcile(root_id=root_id, lots=flow_lots, links=flow_links)
    recalled = {item["lot_code"]: item["kg"] for item in reconciliation["finished_goods"]}
    for entry in entries:
        entry["recalled_kg"] = (
            recalled.get(entry["lot"]["lot_code"]) if reconciliation["weights_known"] else None
        )
    entries.sort(key=lambda entry: (entry["path_length"], entry["lot"]["lot_code"]))
    return {
        "lot_code": lot_code,
        "generated_at": timestamp_text(datetime.now(UTC)),
        "affected_count": len(entries),
        "total_weight_kg": decimal_text(total, _KG),
        "lots": entries,
        "reconciliation": reconciliation,
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
    "recalled_kg",
)


def recall_csv_rows(report: dict[str, Any]) -> Iterable[list[str]]:
    """The recall report as CSV rows (header first); the same lots, in the same order.

    The reconciliation's part of each FG lot is its `recalled_kg` column; the rest of the
    reconciliation (in process, unaccounted, totals) is in the JSON and in the mock-recall
    drill's reconciliation CSV (`reconciliation_csv_rows`)."""
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
            entry["recalled_kg"] or "",
        ]
