"""Lot writes: registering a lot with its ingredients, linking ingredients to a lot, and
recording a QC decision about a lot.

The genealogy rules hold under concurrent requests because every writer locks the parent
rows (SELECT ... FOR UPDATE, ordered by pk so two writers never deadlock) before it reads
what they allow: the parent's latest QC decision, whether it is suspect (made from a held
lot, lots.holds) and how much of it is already used. A QC decision locks its lot the same
way, so it cannot slip in between the check and the link.

Lock order (every writer takes what it needs in this order, never the other way round):

1. HOLDS_LOCK (lots.holds, transaction-level advisory lock): SHARED by every write that
   consumes lots (lot_create with parents, lot_parents_add, genealogy_link_add) and by a PASS;
   EXCLUSIVE by a HOLD/FAIL (before it walks the held lot's descendants), by the admin's link
   changes and deletions (genealogy_link_update/_delete) and by the suspicion rebuild.
   Consumers do not block each other; a HOLD waits for the consumptions in flight, then walks
   everything they committed, and no consumption can start until the HOLD commits: a HOLD
   that commits first blocks every later consumption of any descendant (by commit order, not
   by timing).
2. _LINK_EXISTING_LOCK (advisory, exclusive): links between existing lots, for the cycle check.
3. Lot rows FOR UPDATE, ordered by pk: the parents being consumed, with the existing lot they
   are linked to (lot_parents_add, the admin's link update); FOR SHARE: the lot being decided.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Sum
from django.http import Http404

from accounts.models import User
from flowviz.core.batch import Statement, atomic_unless_one_batch, insert_statement, statements_run
from flowviz.core.errors import Conflict, FieldInvalid, constraint_conflict
from flowviz.ops import metrics
from flowviz.production.models import Phase, ProductionRun
from lots import holds
from lots.changes import genealogy_changed, holds_changed, lot_alone_changed, lot_edited
from lots.models import Lot, LotGenealogy
from lots.selectors import (
    QcState,
    lot_descendant_ids,
    lot_json_sql,
    lot_qc_states_from_rows,
    lot_qc_states_sql,
)
from quality.models import Decision, QcDecision
from quality.services import QC_DECISION_INSERT_SQL, qc_decision_build, qc_decision_insert_params

# Serializes link additions between existing lots (PostgreSQL advisory lock id): a cycle can
# close through lots that two concurrent writers do not both lock, so cycle checks take turns.
_LINK_EXISTING_LOCK = 7_204_221

BLOCKED_DECISIONS = frozenset({Decision.HOLD, Decision.FAIL})


@dataclass(frozen=True)
class ParentRef:
    """A requested ingredient; `loc` is where it sits in the request (for 422 messages)."""

    loc: tuple[str | int, ...]
    lot_code: str | None = None
    lot_id: uuid.UUID | None = None
    quantity_used_kg: Decimal | None = None

    @property
    def label(self) -> str:
        return self.lot_code if self.lot_code is not None else str(self.lot_id)


def _require_exists(model: type, pk: uuid.UUID | None, field: str, what: str) -> None:
    if pk is not None and not model.objects.filter(pk=pk).exists():
        raise FieldInvalid((field,), f"{what} {pk} does not exist")


# The writers' parent lock, written out once (on every consuming write; building the queryset
# cost more CPU than the query): every column, rows locked in primary-key order. Then, read
# after that lock, the parents' QC states and what their links already drew (mass balance).
_LOT_ATTNAMES = [field.attname for field in Lot._meta.concrete_fields]
_LOT_COLUMNS = ", ".join(field.column for field in Lot._meta.concrete_fields)
_PARENTS_WHERE = "lot_code = ANY(%(parent_codes)s) OR id = ANY(%(parent_ids)s)"
# With the parents, the existing lot they are linked to (%(child)s, NULL for a new lot): a QC
# decision about it then cannot miss the new links (see qc_decision_record).
_LOCK_PARENTS_SQL = (
    f"SELECT {_LOT_COLUMNS} FROM {Lot._meta.db_table} WHERE {_PARENTS_WHERE} OR id = %(child)s "
    "ORDER BY id FOR UPDATE"
)
_PARENT_IDS_SQL = f"SELECT id FROM {Lot._meta.db_table} WHERE {_PARENTS_WHERE}"
_PARENT_STATES_SQL = lot_qc_states_sql(_PARENT_IDS_SQL)
_DRAWN_SQL = (
    f"SELECT parent_lot_id, SUM(quantity_used_kg) FROM {LotGenealogy._meta.db_table} "
    f"WHERE parent_lot_id IN ({_PARENT_IDS_SQL}) GROUP BY parent_lot_id"
)
_HOLDS_SHARED = (holds.holds_lock_sql(exclusive=False), {"holds_lock": holds.HOLDS_LOCK})


@dataclass(frozen=True)
class _LockedParents:
    """The parents of a consuming write, locked, with what the consumption rules read."""

    lots: dict[ParentRef, Lot]
    states: dict[uuid.UUID, QcState]
    drawn: dict[uuid.UUID, Decimal]


def _lock_parents(
    refs: Sequence[ParentRef], *, locks: Sequence[Statement] = (), child: uuid.UUID | None = None
) -> _LockedParents:
    """Take `locks` (statements, in the lock order), lock the parents' rows and the existing
    `child`'s (ordered by pk), read the parents' QC states and drawn quantities, all in one
    round trip, and map each request item to its lot. Call inside the write's transaction."""
    params = {
        "parent_codes": [r.lot_code for r in refs if r.lot_code is not None],
        "parent_ids": [r.lot_id for r in refs if r.lot_id is not None],
        "child": child,
    }
    *_, rows, states, drawn = statements_run(
        [*locks, (_LOCK_PARENTS_SQL, params), (_PARENT_STATES_SQL, params), (_DRAWN_SQL, params)]
    )
    locked = [Lot.from_db(connection.alias, _LOT_ATTNAMES, row) for row in rows]
    by_code = {lot.lot_code: lot for lot in locked}
    by_id = {lot.pk: lot for lot in locked}
    found: dict[ParentRef, Lot] = {}
    for ref in refs:
        lot = by_code.get(ref.lot_code) if ref.lot_code is not None else by_id.get(ref.lot_id)
        if lot is None:
            field = "lot_code" if ref.lot_code is not None else "lot_id"
            raise FieldInvalid((*ref.loc, field), f"Parent lot {ref.label} does not exist")
        found[ref] = lot
    return _LockedParents(found, lot_qc_states_from_rows(states), dict(drawn))


def _check_consumable(parents: _LockedParents) -> None:
    """No HOLD/FAIL parent, no suspect parent (made from a held lot); the quantities drawn
    from each parent stay within its weight. With what _lock_parents read under its locks."""
    for lot in sorted(parents.lots.values(), key=lambda lot: lot.lot_code):
        state = parents.states[lot.pk]
        if state.status in BLOCKED_DECISIONS:
            raise Conflict(f"Parent lot {lot.lot_code} has QC status {state.status} and cannot be consumed")
        if state.held_by:
            causes = ", ".join(f"{code} ({status})" for code, status in state.held_by)
            raise Conflict(f"Parent lot {lot.lot_code} is suspect: made from {causes}")
    for ref, lot in parents.lots.items():
        if lot.weight_kg is None or ref.quantity_used_kg is None:
            continue
        already = parents.drawn.get(lot.pk) or Decimal("0")
        if already + ref.quantity_used_kg > lot.weight_kg:
            raise Conflict(
                f"Mass balance exceeded for parent lot {lot.lot_code}: {already:.2f} kg of "
                f"{lot.weight_kg:.2f} kg already used, {ref.quantity_used_kg:.2f} kg more requested"
            )


def _links_build(
    child: Lot,
    parents: dict[ParentRef, Lot],
    *,
    ids: Sequence[uuid.UUID] | None = None,
    linked_at: Any = None,
) -> list[LotGenealogy]:
    """The links from `parents` to `child`, checked by their field rules, not saved."""
    links = [
        LotGenealogy(parent_lot=lot, child_lot=child, quantity_used_kg=ref.quantity_used_kg)
        for ref, lot in parents.items()
    ]
    # A link moved by the admin keeps its identity and date.
    for link, link_id in zip(links, ids or (), strict=False):
        link.pk = link_id
    if linked_at is not None:
        for link in links:
            link.linked_at = linked_at
    for link in links:
        link.full_clean(
            exclude=["parent_lot", "child_lot"], validate_unique=False, validate_constraints=False
        )
    return links


def _write_links(child: Lot, parents: dict[ParentRef, Lot], **link_fields: Any) -> list[LotGenealogy]:
    links = _links_build(child, parents, **link_fields)
    LotGenealogy.objects.bulk_create(links)
    return links


def _count_after_commit(lot: Lot) -> None:
    lot_type = lot.lot_type or "NONE"
    transaction.on_commit(lambda: metrics.LOTS_REGISTERED.labels(lot_type=lot_type).inc())


def _duplicate_code_is_conflict(create: Callable[..., Lot]) -> Callable[..., Lot]:
    """Turn a violated contract constraint (the unique lot_code; flowviz.core.errors's table)
    into Conflict. Applied outside the transaction: the violation rolls the whole write back
    and is told apart afterwards by the constraint's name.
    Uniqueness is the database's job: a unique index is the only check that holds for
    simultaneous requests."""

    @functools.wraps(create)
    def create_or_conflict(*, lot_code: str, **fields: Any) -> Lot:
        try:
            return create(lot_code=lot_code, **fields)
        except IntegrityError as error:
            if conflict := constraint_conflict(error):
                raise conflict from None
            raise

    return create_or_conflict


# The new lot's row as the contract renders it, returned by its INSERT (no read-back query).
_LOT_RENDERED = lot_json_sql(Lot._meta.db_table)


@_duplicate_code_is_conflict
def lot_create(
    *,
    lot_code: str,
    actor: User,
    lot_type: str | None = None,
    production_run_id: uuid.UUID | None = None,
    phase_id: uuid.UUID | None = None,
    operator_id: uuid.UUID | None = None,
    weight_kg: Decimal | None = None,
    temperature_c: Decimal | None = None,
    metadata: dict[str, Any] | None = None,
    parents: Sequence[ParentRef] = (),
) -> Lot:
    """Register a lot and, in the same transaction, the links to the lots it was made from.

    Round trips: a lot without parents is one INSERT (a transaction of its own, or part of
    the caller's). With parents: BEGIN; the holds lock, the parents' row locks and what the
    rules read under them (one batch); the lot and its links (one batch); COMMIT.
    The returned lot carries `rendered`: its contract JSON as written (bytes).
    Raises Conflict when the lot code is taken, FieldInvalid for unknown references.
    """
    _require_exists(ProductionRun, production_run_id, "production_run_id", "Production run")
    _require_exists(Phase, phase_id, "phase_id", "Phase")
    _require_exists(User, operator_id, "operator_id", "User")
    with atomic_unless_one_batch(one_batch=not parents):
        locked_parents = _lock_parents(parents, locks=[_HOLDS_SHARED]) if parents else None
        if locked_parents is not None:
            _check_consumable(locked_parents)
        lot = Lot(
            lot_code=lot_code,
            lot_type=lot_type,
            production_run_id=production_run_id,
            phase_id=phase_id,
            operator_id=operator_id or actor.pk,
            weight_kg=weight_kg,
            temperature_c=temperature_c,
            metadata=metadata or {},
        )
        # Field rules in Python (the code's pattern, metadata's text limits); references were
        # checked above, uniqueness is the database's job (a unique index is the only check
        # that holds for two simultaneous requests).
        try:
            lot.full_clean(
                exclude=["production_run", "phase", "operator"],
                validate_unique=False,
                validate_constraints=False,
            )
        except ValidationError as error:
            field, messages = next(iter(error.message_dict.items()))
            raise FieldInvalid((field,), messages[0]) from None
        statements = [insert_statement([lot], prefix="lot", returning=_LOT_RENDERED)]
        if locked_parents is not None:
            statements.append(insert_statement(_links_build(lot, locked_parents.lots), prefix="link"))
        [(rendered,)], *_ = statements_run(statements)
        lot.rendered = rendered.encode()
        lot._state.adding = False
        if locked_parents is not None:
            # Walking up from the new lot finds its parents and their ancestors (exact
            # invalidation). A new lot without parents has no relatives: no cached answer can
            # depend on it.
            genealogy_changed(lot_ids=[lot.pk])
        _count_after_commit(lot)
    return lot


def _link_existing_lock() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LINK_EXISTING_LOCK])


def _check_linkable(child: Lot, parents: _LockedParents) -> None:
    """Links from `parents` to the existing lot `child`: no cycle, no duplicate, and the
    consumption rules. Call with HOLDS_LOCK, _LINK_EXISTING_LOCK and the parents locked."""
    descendants = lot_descendant_ids(lot_id=child.pk)
    for lot in parents.lots.values():
        if lot.pk == child.pk or lot.pk in descendants:
            raise Conflict(f"Linking {lot.lot_code} as a parent of {child.lot_code} would create a cycle")
    already_linked = set(
        LotGenealogy.objects.filter(
            child_lot_id=child.pk, parent_lot_id__in=[p.pk for p in parents.lots.values()]
        ).values_list("parent_lot__lot_code", flat=True)
    )
    if already_linked:
        raise Conflict(f"Lot {child.lot_code} is already linked to parent {sorted(already_linked)[0]}")
    _check_consumable(parents)


@transaction.atomic
def lot_parents_add(*, lot_code: str, actor: User, parents: Sequence[ParentRef]) -> list[LotGenealogy]:
    """Link more ingredients to an existing lot (same rules as at creation, plus no cycle)."""
    holds.holds_lock(exclusive=False)
    _link_existing_lock()
    child = Lot.objects.filter(lot_code=lot_code).first()
    if child is None:
        raise Http404("Lot not found")
    locked_parents = _lock_parents(parents, child=child.pk)
    _check_linkable(child, locked_parents)
    links = _write_links(child, locked_parents.lots)
    genealogy_changed(links=[(parent.pk, child.pk) for parent in locked_parents.lots.values()])
    return links


def _lot_code_of(lot_id: uuid.UUID | None, field: str) -> str:
    code = Lot.objects.filter(pk=lot_id).values_list("lot_code", flat=True).first()
    if code is None:
        raise FieldInvalid((field,), f"Lot {lot_id} does not exist")
    return code


@transaction.atomic
def genealogy_link_add(
    *, parent_lot_id: uuid.UUID, child_lot_id: uuid.UUID, quantity_used_kg: Decimal | None, actor: User
) -> LotGenealogy:
    """One link written by hand (the admin's link form): the rules and locks of lot_parents_add."""
    ref = ParentRef(loc=(), lot_id=parent_lot_id, quantity_used_kg=quantity_used_kg)
    (link,) = lot_parents_add(lot_code=_lot_code_of(child_lot_id, "child_lot"), actor=actor, parents=[ref])
    return link


@transaction.atomic
def genealogy_link_update(
    *,
    link_id: uuid.UUID,
    parent_lot_id: uuid.UUID,
    child_lot_id: uuid.UUID,
    quantity_used_kg: Decimal | None,
    actor: User,
) -> LotGenealogy:
    """Change a link (the admin's link form): move it to other lots or change its quantity.

    Judged as if the link were written anew, with its old self left out of the cycle walk and
    of the parent's mass balance. It keeps its id and `linked_at`. Locks: HOLDS_LOCK exclusive
    (moving a link off a held lot may free lots it made suspect), then as lot_parents_add.
    """
    link = LotGenealogy.objects.filter(pk=link_id).first()
    if link is None:
        raise Http404("Link not found")
    ends = [link.parent_lot_id, link.child_lot_id, parent_lot_id, child_lot_id]
    genealogy_changed(lot_ids=ends, removing=True)
    with genealogy_links_edit(lot_ids=ends):
        _link_existing_lock()
        link = LotGenealogy.objects.select_for_update().filter(pk=link_id).first()
        if link is None:
            raise Http404("Link not found")
        linked_at = link.linked_at
        link.delete()
        child = Lot.objects.filter(pk=child_lot_id).first()
        if child is None:
            raise FieldInvalid(("child_lot",), f"Lot {child_lot_id} does not exist")
        ref = ParentRef(loc=(), lot_id=parent_lot_id, quantity_used_kg=quantity_used_kg)
        locked_parents = _lock_parents([ref], child=child.pk)
        _check_linkable(child, locked_parents)
        (moved,) = _write_links(child, locked_parents.lots, ids=[link_id], linked_at=linked_at)
    genealogy_changed(lot_ids=ends)
    return moved


@transaction.atomic
def genealogy_link_delete(*, link_id: uuid.UUID) -> None:
    """Delete a link (the admin): the suspicion it carried is made exact again."""
    link = LotGenealogy.objects.filter(pk=link_id).first()
    if link is None:
        return
    ends = [link.parent_lot_id, link.child_lot_id]
    genealogy_changed(lot_ids=ends, removing=True)
    with genealogy_links_edit(lot_ids=ends):
        LotGenealogy.objects.filter(pk=link_id).delete()


@transaction.atomic
def lot_update(*, lot_id: uuid.UUID, **fields: Any) -> Lot:
    """Change a lot's fields (the admin's lot form; the API does not edit lots).

    Locks the lot's row as a consumer of it does, so its weight cannot drop below what its
    children already drew from it. Raises Conflict for a taken code or too low a weight.
    """
    lot = Lot.objects.select_for_update().filter(pk=lot_id).first()
    if lot is None:
        raise Http404("Lot not found")
    previous_code = lot.lot_code
    for name, value in fields.items():
        setattr(lot, name, value)
    lot.full_clean(
        exclude=["production_run", "phase", "operator"], validate_unique=False, validate_constraints=False
    )
    if lot.weight_kg is not None:
        children = LotGenealogy.objects.filter(parent_lot_id=lot.pk)
        drawn = children.aggregate(total=Sum("quantity_used_kg"))["total"]
        if drawn is not None and drawn > lot.weight_kg:
            raise Conflict(
                f"Mass balance: {drawn:.2f} kg of lot {lot.lot_code} is already used by its children; "
                f"its weight cannot be {lot.weight_kg:.2f} kg"
            )
    if lot.lot_code != previous_code and Lot.objects.filter(lot_code=lot.lot_code).exists():
        raise Conflict("Lot code already exists")
    lot.save()
    lot_edited(lot_id=lot.pk, previous_lot_code=previous_code)
    return lot


# A decision in one round trip: the statements of qc_decision_record, in lock order. Sent as
# one simple-protocol query (Django's client-side binding), PostgreSQL runs them in order, each
# with a fresh snapshot (so each sees what committed while an earlier one waited for its
# lock), as one transaction: inside the caller's, or an implicit one of its own that commits
# all or nothing. Five round trips fewer than BEGIN, four statements and COMMIT.
_LOT_SHARE_SQL = f"SELECT lot_code FROM {Lot._meta.db_table} WHERE id = %(held)s FOR SHARE"
# Read after the row lock (its own snapshot): whether the lot is linked to any other lot.
_LOT_LINKED_SQL = (
    f"SELECT EXISTS (SELECT 1 FROM {LotGenealogy._meta.db_table} WHERE parent_lot_id = %(held)s) "
    f"OR EXISTS (SELECT 1 FROM {LotGenealogy._meta.db_table} WHERE child_lot_id = %(held)s)"
)


def qc_decision_record(*, lot_id: uuid.UUID, decision: str, actor: User, **fields: Any) -> QcDecision:
    """Record a QC decision about a lot: lock the lot's row, append the decision, then spread
    or release the hold it makes.

    The lock (FOR SHARE: it waits for, and holds off, a writer consuming the lot, FOR UPDATE in
    _lock_parents, but not another decision about it; decisions that change a hold are
    serialized by HOLDS_LOCK) keeps a decision from slipping in between a writer's check of
    the lot's QC status and its link. A HOLD or FAIL first takes HOLDS_LOCK exclusive and,
    once it is the lot's latest decision, makes every descendant suspect (one INSERT over the
    recursive walk); a PASS that ends a hold deletes them. The latest decision is normally the
    one just recorded (the legacy server may have written one dated later): the statements
    check it. `fields` are those of `quality.services.qc_decision_build` (gate, operator,
    notes, temperature, signature). Raises FieldInvalid for an unknown lot, gate or operator.
    """
    record = qc_decision_build(lot_id=lot_id, decision=decision, actor=actor, **fields)
    blocking = decision in BLOCKED_DECISIONS
    statements = [
        holds.holds_lock_sql(exclusive=blocking),
        _LOT_SHARE_SQL,
        _LOT_LINKED_SQL,
        QC_DECISION_INSERT_SQL,
        holds.HELD_LOT_SYNC_SQL if blocking else holds.HOLD_RELEASE_UNLESS_HELD_SQL,
    ]
    params = {"holds_lock": holds.HOLDS_LOCK, "held": lot_id, **qc_decision_insert_params(record)}
    with atomic_unless_one_batch(one_batch=True):
        _, shared, [(linked,)], inserted, spread = statements_run([(sql, params) for sql in statements])
    if not inserted:
        # Nothing was written (the INSERT needs the lot; the hold statement found nothing).
        raise FieldInvalid(("lot_id",), f"Lot {lot_id} does not exist")
    [(record.decided_at,)] = inserted
    released = 0 if blocking else spread
    if blocking or released:
        # Every cached graph may show the lot's status or a descendant's held_by.
        holds_changed()
    elif not linked:
        # No other graph shows this lot, and none can start to before this commits: a link to
        # it locks its row first (FOR UPDATE, as consumers and lot_parents_add do), which waits
        # for this decision's FOR SHARE. Only its own answers change: no walk (goods-in QC of
        # a raw lot, before it is consumed).
        [(lot_code,)] = shared
        lot_alone_changed(lot_id=lot_id, lot_code=lot_code)
    else:
        # Only the lot's own qc_status changed: in the graphs of it and its relatives.
        genealogy_changed(lot_ids=[lot_id])
    transaction.on_commit(lambda: metrics.QC_DECISIONS.labels(decision=decision).inc())
    return record


@contextmanager
def genealogy_links_edit(*, lot_ids: Iterable[uuid.UUID]) -> Iterator[None]:
    """Wrap a write of genealogy links made outside the consumption rules (the admin's link
    form and deletions), inside its transaction: HOLDS_LOCK exclusive before the write (lock
    order above), then the suspicion of the lots named (the link's ends, old and new) and of
    their descendants is made exact again, and cached graphs retired when it changed.
    """
    holds.holds_lock(exclusive=True)
    yield
    if holds.suspicion_resync_around(lot_ids=list(filter(None, lot_ids))):
        holds_changed()
