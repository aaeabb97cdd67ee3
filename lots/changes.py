"""What a write that changes lots or the genealogy sets off once it commits.

Writers (lots.services, the lots admin) call `genealogy_changed(...)` inside their
transaction. After the commit, the cached answers the write may have altered are retired
(lots.cache) and a background recomputation of the changed lots' graphs is queued
(lots.tasks); a broker that is down is logged, never raised. This module sits above both:
the cache knows nothing of the tasks, and the tasks only fill the cache.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable

from django.db import transaction

from lots import cache as trace_cache
from lots.selectors import AffectedLot, genealogy_affected_codes
from lots.tasks import BrokerUnavailable, genealogy_refresh_enqueue_one

logger = logging.getLogger(__name__)


def genealogy_refresh_enqueue(*, lot_ids: Iterable[uuid.UUID]) -> int:
    """Queue `refresh_genealogy` for these lots; broker errors are logged. Returns how many were queued."""
    queued = 0
    pending = sorted(lot_ids)
    for index, lot_id in enumerate(pending):
        try:
            genealogy_refresh_enqueue_one(lot_id=lot_id)
            queued += 1
        except BrokerUnavailable:
            # The breaker is open: the failure that opened it was logged.
            logger.info("broker unavailable; %d graph refreshes skipped", len(pending) - index)
            break
        except Exception:
            # The broker is down: the rest would fail the same way, each after a timeout.
            logger.error(
                "could not queue the genealogy refresh of %d lots (from %s on); their graphs are "
                "computed on the next read instead",
                len(pending) - index,
                lot_id,
                exc_info=True,
            )
            break
    return queued


def _after_commit(
    lot_ids: frozenset[uuid.UUID],
    links: frozenset[tuple[uuid.UUID, uuid.UUID]],
    lot_codes: frozenset[str],
    before: tuple[set[str], set[str]],
) -> None:
    # The lots written, and the child of each new link: their graphs are warmed again when
    # somebody has been reading them; the graph of a lot nobody looked at waits for its first
    # read (issue 13: a refresh per write cost more CPU than the write itself).
    read = trace_cache.traceability_invalidate(
        lot_ids=lot_ids,
        links=links,
        lot_codes=lot_codes,
        graph_codes=before[0],
        step_codes=before[1],
        warm_ids=lot_ids | {child for _, child in links},
    )
    genealogy_refresh_enqueue(lot_ids=read.values())


def genealogy_changed(
    *,
    lot_ids: Iterable[uuid.UUID] = (),
    links: Iterable[tuple[uuid.UUID, uuid.UUID]] = (),
    lot_codes: Iterable[str] = (),
    removing: bool = False,
) -> None:
    """Call inside the write's transaction; invalidation and the refresh run after it commits.

    `lot_ids`: lots created or edited (a new lot's links to its parents need no listing: its
    parents and their ancestors are found by walking up from it). `links`: (parent id,
    child id) of links added between existing lots. `lot_codes`: codes that no longer name a
    lot (the old code of a renamed lot), whose cached answers must go too. Listing more than
    changed is safe (more is invalidated); listing less is not.

    The affected lots are found after the commit, so a concurrent write that committed in
    between is counted too. `removing=True`: the caller is about to delete these lots or
    links (it calls this first); their relatives are then also found now, while the rows
    still link them - after the commit nothing leads to them any more. Additive writes skip
    that walk (one recursive query fewer on every lot created).
    """
    affected = frozenset(lot_ids)
    new_links = frozenset(links)
    codes = frozenset(lot_codes)
    before = genealogy_affected_codes(lot_ids=affected, links=new_links) if removing else (set(), set())
    # robust: the write has committed; a failure here is logged by Django, never raised at the caller.
    transaction.on_commit(lambda: _after_commit(affected, new_links, codes, before), robust=True)


def lot_alone_changed(*, lot_id: uuid.UUID, lot_code: str) -> None:
    """Call inside the transaction of a write that changed only what a lot linked to no other
    lot shows of itself (its QC status), where nothing can link to it before the commit (the
    caller holds its row lock): after the commit, only its own answers are retired, without
    the walk that looks for relatives."""
    alone = AffectedLot(lot_id, lot_code, near=True)
    transaction.on_commit(lambda: _after_commit_alone(alone), robust=True)


def _after_commit_alone(alone: AffectedLot) -> None:
    read = trace_cache.traceability_invalidate(affected=[alone], warm_ids={alone.lot_id})
    genealogy_refresh_enqueue(lot_ids=read.values())


def holds_changed() -> None:
    """Call inside the transaction of a write that changes which lots are held or suspect (a
    HOLD/FAIL, the PASS that releases one, an admin genealogy edit that moved suspicion).

    After the commit, every cached graph is retired at once (lots.cache: the holds generation
    is part of every graph's key): a hold changes `held_by` of every descendant in every graph
    that shows one, graphs of their unrelated co-ancestors included. Holds are rare; a walk to
    find exactly those graphs would cost more than recomputing the few that are read again.
    """
    transaction.on_commit(trace_cache.holds_generation_retire, robust=True)


def lot_edited(*, lot_id: uuid.UUID, previous_lot_code: str | None = None) -> None:
    """For `lots.services.lot_update` (the admin's lot form; inside its transaction), after
    saving a lot. Pass the code the lot had before the edit, so entries under a renamed lot's
    old code go too.
    """
    genealogy_changed(lot_ids=[lot_id], lot_codes=[previous_lot_code] if previous_lot_code else [])
