"""Cached traceability answers and their invalidation.

Every write that changes a lot or the genealogy calls `genealogy_changed(lot_ids=...)`
inside its transaction; the cached answers are dropped only after the commit, so a read
never sees a graph older than the last committed write.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable

from django.core.cache import cache
from django.db import transaction

logger = logging.getLogger(__name__)

# Bump when the shape of a cached value changes: old entries are then never read.
SCHEMA_VERSION = 1
_GENERATION_KEY = f"trace:v{SCHEMA_VERSION}:generation"


def _generation() -> int:
    try:
        return int(cache.get_or_set(_GENERATION_KEY, 1, timeout=None))
    except Exception:  # Valkey down: callers fall back to the database.
        logger.warning("cache unavailable while reading the traceability generation", exc_info=True)
        return 0


def traceability_invalidate(*, lot_ids: Iterable[uuid.UUID]) -> None:
    """Drop cached answers that may include these lots (coarse: every cached answer)."""
    try:
        cache.add(_GENERATION_KEY, 1, timeout=None)
        cache.incr(_GENERATION_KEY)
    except Exception:
        logger.warning("cache unavailable; could not invalidate traceability entries", exc_info=True)


def genealogy_changed(*, lot_ids: Iterable[uuid.UUID]) -> None:
    """Call inside the write's transaction; invalidation runs after it commits."""
    affected = frozenset(lot_ids)
    transaction.on_commit(lambda: traceability_invalidate(lot_ids=affected))
