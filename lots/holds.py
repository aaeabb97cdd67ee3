"""Hold propagation (issue 15): a HOLD or FAIL on a lot makes every lot made from it, at any
depth, suspect until a later PASS on the held lot releases it.

How suspicion is stored, and why. `lot_suspicions` holds one row per (suspect lot, held
lot) pair, whatever the number of paths between them. Checking a parent before it is
consumed is then an index lookup (the table's primary key leads with the suspect lot), not
a walk up the parent's genealogy on every registration; the cost moves to the rare write
that changes a hold: a HOLD/FAIL inserts its held lot's descendants in one INSERT ... SELECT
over the recursive walk, the PASS that releases it deletes them (index on held_lot_id).
A row counts only while its held lot's latest decision is HOLD or FAIL (the readers check
that on the (lot_id, decided_at) index), so a stale row can never block anything by itself.

The locks (lots/services.py documents the order): writers that consume lots take
HOLDS_LOCK shared; recording a HOLD/FAIL and every rebuild here take it exclusive before
they walk, so a walk sees every consumption committed before it and none can commit during
it. These functions expect that lock to be held by the caller's transaction.

Decisions inserted behind FlowViz's back (the legacy server writing into qc_decisions of an
adopted database) do not spread: `manage.py rebuild_suspicions` (`suspicion_rebuild`) brings
the table back in line with the decision log, and migration lots/0005 ran it once.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from django.db import connection, transaction

# PostgreSQL advisory lock key (transaction level). Shared by consumers, exclusive for the
# writes that spread or rebuild suspicion. See lots/services.py for the whole lock order.
HOLDS_LOCK = 7_204_222

BLOCKING_DECISIONS = ("HOLD", "FAIL")


def latest_decision_sql(lot_id: str) -> str:
    """SQL (a subquery giving one row or none) of the latest QC decision of the lot whose id is
    the expression `lot_id`: one step on the (lot_id, decided_at) index."""
    return (
        f"SELECT d.decision FROM qc_decisions d WHERE d.lot_id = {lot_id} "
        "ORDER BY d.decided_at DESC, d.id DESC LIMIT 1"
    )


def held_by_sql(suspect_id: str) -> str:
    """SQL FROM ... WHERE clause of the held lots (code `h.lot_code`, latest decision
    `hd.decision`) that the lot whose id is the expression `suspect_id` is suspect because of.

    Each held lot is looked up by primary key (the OFFSET 0 keeps the planner from turning
    the lookup into a hash join over every lot when its row estimates for lot_suspicions
    are off, as they are between a big HOLD or release and the next autovacuum)."""
    return f"""FROM lot_suspicions s
    CROSS JOIN LATERAL (SELECT l.lot_code FROM lots l WHERE l.id = s.held_lot_id OFFSET 0) h
    CROSS JOIN LATERAL ({latest_decision_sql("s.held_lot_id")}) hd
    WHERE s.suspect_lot_id = {suspect_id} AND hd.decision IN ('HOLD', 'FAIL')"""


def holds_lock_sql(*, exclusive: bool) -> str:
    """The statement of `holds_lock`, with the lock key as %(holds_lock)s, for a batch."""
    function = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
    return f"SELECT {function}(%(holds_lock)s), set_config('jit', 'off', true)"


def holds_lock(*, exclusive: bool) -> None:
    """Take HOLDS_LOCK for the rest of the current transaction.

    The same round trip turns PostgreSQL's JIT compiler off for the transaction
    (`set_config(..., true)` is SET LOCAL: nothing outlives the transaction, so it is safe
    behind PgBouncer). The planner multiplies its row estimate for lot_suspicions - a guess
    while the table's statistics are stale, as they are between a big HOLD or release and the
    next autovacuum - by the number of parents checked; past `jit_above_cost` PostgreSQL would
    spend tens to thousands of milliseconds compiling a check that runs in one.
    """
    with connection.cursor() as cursor:
        cursor.execute(holds_lock_sql(exclusive=exclusive), {"holds_lock": HOLDS_LOCK})


# Make the rows held by one lot exactly its descendants when its latest decision is HOLD or
# FAIL, and none otherwise: insert the missing pairs, delete those no longer true (a link
# removed in the admin). One statement; the walk visits each lot once (UNION on the id), which
# also ends it on a cycle written behind the application's back.
HELD_LOT_SYNC_SQL = f"""
WITH RECURSIVE
down(lot_id) AS (
    SELECT g.child_lot_id FROM lot_genealogy g WHERE g.parent_lot_id = %(held)s
    UNION
    SELECT g.child_lot_id FROM down JOIN lot_genealogy g ON g.parent_lot_id = down.lot_id
),
wanted(lot_id) AS (
    SELECT lot_id FROM down
    WHERE lot_id <> %(held)s AND ({latest_decision_sql("%(held)s")}) IN ('HOLD', 'FAIL')
),
gone AS (
    DELETE FROM lot_suspicions s
    WHERE s.held_lot_id = %(held)s AND s.suspect_lot_id NOT IN (SELECT lot_id FROM wanted)
    RETURNING 1
),
added AS (
    INSERT INTO lot_suspicions (suspect_lot_id, held_lot_id, since)
    SELECT lot_id, %(held)s, now() FROM wanted
    ORDER BY lot_id  -- index insertions in key order touch each page once
    ON CONFLICT DO NOTHING
    RETURNING 1
)
SELECT (SELECT count(*) FROM gone), (SELECT count(*) FROM added)
"""


# The lot's suspects are free of it unless its latest decision still holds them (a decision
# dated later than the one just recorded, written by the legacy server): a PASS's release, in
# one statement. Parameter %(held)s; its row count is the rows released.
HOLD_RELEASE_UNLESS_HELD_SQL = f"""
DELETE FROM lot_suspicions WHERE held_lot_id = %(held)s
AND ({latest_decision_sql("%(held)s")}) NOT IN ('HOLD', 'FAIL')
"""


def held_lot_sync(*, lot_id: uuid.UUID) -> tuple[int, int]:
    """Bring the suspicion rows of one held (or released) lot in line; (removed, added)."""
    with connection.cursor() as cursor:
        cursor.execute(HELD_LOT_SYNC_SQL, {"held": lot_id})
        removed, added = cursor.fetchone()
    return removed, added


# The held lots whose rows a change of genealogy around `lot_ids` may alter: those the rows of
# the changed lots and their descendants name (a link removed may free them), and the held
# ancestors of those lots (a link added may make them suspect).
_HELD_AROUND_SQL = f"""
WITH RECURSIVE
scope(lot_id) AS (
    SELECT id FROM lots WHERE id = ANY(%(lots)s)
    UNION
    SELECT g.child_lot_id FROM scope JOIN lot_genealogy g ON g.parent_lot_id = scope.lot_id
),
up(lot_id) AS (
    SELECT lot_id FROM scope
    UNION
    SELECT g.parent_lot_id FROM up JOIN lot_genealogy g ON g.child_lot_id = up.lot_id
)
SELECT lot_id FROM up WHERE ({latest_decision_sql("up.lot_id")}) IN ('HOLD', 'FAIL')
UNION
SELECT s.held_lot_id FROM lot_suspicions s WHERE s.suspect_lot_id IN (SELECT lot_id FROM scope)
"""

# Every lot whose latest decision is HOLD or FAIL (the partial index on qc_decisions finds
# the lots ever held), plus every lot rows are held by (to release stale ones).
_HELD_LOTS_SQL = f"""
SELECT c.lot_id FROM (SELECT DISTINCT lot_id FROM qc_decisions WHERE decision IN ('HOLD', 'FAIL')) c
WHERE ({latest_decision_sql("c.lot_id")}) IN ('HOLD', 'FAIL')
UNION
SELECT DISTINCT held_lot_id FROM lot_suspicions
"""


def suspicion_resync_around(*, lot_ids: list[uuid.UUID]) -> int:
    """After links of these lots changed outside the consumption rules (the admin): make the
    suspicion of them and their descendants exact again. Needs HOLDS_LOCK exclusive.
    Returns the rows changed."""
    with connection.cursor() as cursor:
        cursor.execute(_HELD_AROUND_SQL, {"lots": list(lot_ids)})
        held = [row[0] for row in cursor.fetchall()]
    return sum(sum(held_lot_sync(lot_id=lot_id)) for lot_id in held)


def suspicion_rebuild(*, progress: Callable[[int, int, uuid.UUID, int, int], None] | None = None) -> int:
    """Rebuild lot_suspicions from the QC decision log, one held lot per transaction (each
    under HOLDS_LOCK exclusive, so consumers wait for one walk at a time, not the whole run).

    Rerunnable: a second run changes nothing. `progress(index, total, held lot id, removed,
    added)` is called after each held lot. Returns the rows changed.
    """
    with connection.cursor() as cursor:
        cursor.execute(_HELD_LOTS_SQL)
        held = sorted(row[0] for row in cursor.fetchall())
    changed = 0
    for index, lot_id in enumerate(held, start=1):
        with transaction.atomic():
            holds_lock(exclusive=True)
            removed, added = held_lot_sync(lot_id=lot_id)
        changed += removed + added
        if progress is not None:
            progress(index, len(held), lot_id, removed, added)
    return changed
