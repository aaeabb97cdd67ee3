"""Cached traceability answers and their invalidation.

Every write that changes a lot or the genealogy calls `lots.changes.genealogy_changed(...)`
inside its transaction. After the commit, exactly the answers that may have changed are
dropped (`traceability_invalidate` here): the graphs of the changed lots and of all their
ancestors and descendants, and the one-step answers of the changed lots and their direct
neighbours. Then lots.changes queues a background refresh of those changed lots' graphs that
had been read (a graph nobody asked for is not worth computing ahead of a read).

How entries are keyed: each lot has a version token per kind of answer (`graph`, `step`),
and an answer is stored under (kind, lot code, parameters) together with the token it was
computed under; it is served only while that token is still the current one. Invalidation
deletes the tokens; the next read mints a fresh random one, so every old entry becomes
unservable at once (and is overwritten or expires on its own). A reader takes the token
*before* querying the database, so an answer computed from data older than a commit can only
ever be stored with a token that commit already retired: a read never returns a graph older
than the last committed write. A warm read is one MGET (the tokens and the entry together).

Graphs also show each lot's latest QC decision and the held lots it is suspect because of
(issue 15). A hold or its release changes those in graphs no genealogy walk from the held lot
would find (a descendant's co-ancestors), so a graph's key also holds the **holds
generation**, a global token retired the same way after each commit that changes a hold
(`holds_generation_retire`, called through lots.changes.holds_changed).

Valkey down, frozen or restarted with its data: every cache call is guarded (a short socket
timeout, then the cache breaker of flowviz/ops/cache_guard.py skips Valkey for
CACHE_RETRY_SECONDS) and reads fall back to the database. An invalidation that cannot be
delivered (failed, or skipped while the breaker is open) must not leave a stale answer behind
for when Valkey returns: the writer bumps the **cache generation** in PostgreSQL instead
(flowviz/ops/models.py), and every entry key holds the generation read before computing it, so
every answer cached before the bump becomes unreachable. The API reads it with the user's row,
in the authentication query (accounts/auth.py), and hands it in as `generation`, so a warm read
costs no query of its own and runs on the event loop (`one_step_warm`, `graph_warm`: one Valkey
round trip, no thread); other callers read it here, one primary-key query. An in-process cache
cannot lose an invalidation, so it skips the generation altogether.
"""

from __future__ import annotations

import gzip
import logging
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.core.cache.backends.locmem import LocMemCache

from flowviz.ops.cache_guard import cache_failed, cache_usable
from flowviz.ops.metrics import TRACEABILITY_QUERY_SECONDS
from flowviz.ops.models import cache_generation_bump, cache_generation_read
from flowviz.ops.shared_cache import cache, cache_backend
from lots import selectors

logger = logging.getLogger(__name__)

# Bump when the shape of a cached value changes: old entries are then never read.
# 3: graph bodies stored gzip-compressed; 4: one-step answers as JSON bytes; 5: graph nodes
# carry qc_status and held_by, graph keys the holds generation; 6: an entry is (token, answer)
# under a key without the token.
SCHEMA_VERSION = 6
_PREFIX = f"trace:v{SCHEMA_VERSION}"
GRAPH = "graph"
ONE_STEP = "step"


def _entry_timeout() -> int:
    return getattr(settings, "TRACEABILITY_CACHE_SECONDS", 3600)


def _code_part(lot_code: str) -> str:
    # Lot codes are free text: quoted so a key never holds spaces, colons or control characters.
    return quote(lot_code, safe="-_.")


def _version_key(kind: str, lot_code: str) -> str:
    return f"{_PREFIX}:ver:{kind}:{_code_part(lot_code)}"


_HOLDS_GENERATION_KEY = f"{_PREFIX}:ver:holds"


def _token_keys(kind: str, lot_code: str) -> tuple[str, ...]:
    """The keys of the tokens an answer's validity depends on: the lot's version of this kind
    of answer, and for graphs also the holds generation."""
    if kind == GRAPH:
        return (_version_key(kind, lot_code), _HOLDS_GENERATION_KEY)
    return (_version_key(kind, lot_code),)


def _tokens_minted(keys: tuple[str, ...]) -> list[str]:
    """The current tokens under these keys, each minted when missing."""
    found = cache.get_many(keys)
    for key in keys:
        if found.get(key) is None:
            # Expires like the entries it keys (an expired token only makes its entries
            # unservable), so probing made-up lot codes cannot fill the cache with tokens.
            cache.add(key, uuid.uuid4().hex, timeout=_entry_timeout())
            found[key] = cache.get(key)
        if found[key] is None:  # evicted between the two calls: do not cache this answer
            raise LookupError(key)
    return [found[key] for key in keys]


def _cache_is_shared() -> bool:
    """Whether the cache lives outside this process (Valkey), where invalidations can be lost."""
    return not isinstance(cache_backend(), LocMemCache)


def _generation(known: int | None = None) -> str:
    """The cache generation's part of every token: `known` (read by the caller, before any
    query of the answer's data) or read now from PostgreSQL (database errors propagate: they
    are no failure of the cache)."""
    if not _cache_is_shared():
        return "g"
    return f"g{cache_generation_read() if known is None else known}"


def _token(generation: str, tokens: list[str]) -> str:
    return ".".join((generation, *tokens))


def _invalidation_lost(what: str) -> None:
    """An invalidation could not reach the cache: retire every cached answer through the cache
    generation in PostgreSQL (the write that needed it has just committed there)."""
    try:
        generation = cache_generation_bump()
    except Exception:
        logger.error("cache generation not bumped after %s; cached answers may be stale", what, exc_info=True)
        return
    logger.warning("cache unavailable; %s: cache generation bumped to %d", what, generation)


def _entry_key(kind: str, lot_code: str, *params: object) -> str:
    return ":".join((_PREFIX, kind, _code_part(lot_code), *map(str, params)))


def _warm(kind: str, lot_code: str, params: tuple, generation: str) -> tuple[Any, str | None]:
    """One MGET: (the answer stored under the current token or None, that token or None when
    one of its parts is missing)."""
    token_keys = _token_keys(kind, lot_code)
    entry_key = _entry_key(kind, lot_code, *params)
    found = cache.get_many((*token_keys, entry_key))
    tokens = [found.get(key) for key in token_keys]
    if None in tokens:
        return None, None
    token = _token(generation, tokens)
    entry = found.get(entry_key)
    if isinstance(entry, tuple) and len(entry) == 2 and entry[0] == token:
        return entry[1], token
    return None, token


def _warm_only(kind: str, lot_code: str, params: tuple, generation: int | None) -> Any:
    """The warm answer or None; never a query (the generation comes from the caller)."""
    if generation is None and _cache_is_shared():
        return None
    if not cache_usable():
        return None
    started = time.perf_counter()
    try:
        hit, _ = _warm(kind, lot_code, params, _generation(generation))
    except Exception:
        cache_failed(f"traceability reads; {kind} of {lot_code} from the database")
        return None
    if hit is not None:
        TRACEABILITY_QUERY_SECONDS.labels(kind=kind, source="cache").observe(time.perf_counter() - started)
    return hit


def _cached(
    kind: str, lot_code: str, params: tuple, compute: Callable[[], Any], generation: int | None
) -> Any:
    """The cached answer, or `compute()` stored with the token read before computing it."""
    started = time.perf_counter()
    token: str | None = None
    hit = None
    if cache_usable():
        prefix = _generation(generation)
        try:
            hit, token = _warm(kind, lot_code, params, prefix)
            if hit is None and token is None:
                token = _token(prefix, _tokens_minted(_token_keys(kind, lot_code)))
        except LookupError:
            token = None
        except Exception:
            cache_failed(f"traceability reads; {kind} of {lot_code} from the database")
            token = None
    if hit is not None:
        TRACEABILITY_QUERY_SECONDS.labels(kind=kind, source="cache").observe(time.perf_counter() - started)
        return hit
    value = compute()
    TRACEABILITY_QUERY_SECONDS.labels(kind=kind, source="database").observe(time.perf_counter() - started)
    if value is not None and token is not None:
        try:
            cache.set(_entry_key(kind, lot_code, *params), (token, value), timeout=_entry_timeout())
        except Exception:
            logger.warning("cache unavailable; %s of %s not stored", kind, lot_code, exc_info=True)
    return value


# Graph bodies are megabytes of JSON (10,000 lots: 4.5 MB); they are stored gzip-compressed
# (about 5x smaller: random UUIDs do not compress further) and sent to a client that accepts
# gzip as they are. Level 1: compressing is on the cache-miss path; higher levels save little.
GZIP_LEVEL = 1


def gzip_body(body: bytes) -> bytes:
    """`body` gzip-compressed (mtime 0: the same body always compresses to the same bytes)."""
    return gzip.compress(body, compresslevel=GZIP_LEVEL, mtime=0)


def _depth_key(max_depth: int | None) -> object:
    # Depths past the limit are the same walk as no depth at all: one entry for them.
    return "all" if max_depth is None or max_depth >= settings.TRACEABILITY_DEPTH_LIMIT else max_depth


def _graph_cached(
    *, lot_code: str, direction: str, max_depth: int | None, generation: int | None
) -> tuple[bytes | None, bytes | None]:
    """(gzip-compressed body or None: no lot, the plain body when it was just computed)."""
    computed: dict[str, bytes] = {}

    def compute() -> bytes | None:
        body = selectors.lot_graph_json(lot_code=lot_code, direction=direction, max_depth=max_depth)
        if body is None:
            return None
        computed["body"] = body
        return gzip_body(body)

    packed = _cached(GRAPH, lot_code, (direction, _depth_key(max_depth)), compute, generation)
    return packed, computed.get("body")


def graph_warm(
    *, lot_code: str, direction: str = "both", max_depth: int | None = None, generation: int | None
) -> bytes | None:
    """The cached graph body, gzip-compressed, or None when not warm: one Valkey round trip, no
    database query, so it may run on the event loop. `generation`: read by the caller."""
    return _warm_only(GRAPH, lot_code, (direction, _depth_key(max_depth)), generation)


def graph_gzip_cached(
    *, lot_code: str, direction: str = "both", max_depth: int | None = None, generation: int | None = None
) -> bytes | None:
    """The graph body (contract section 7), gzip-compressed, from the cache when warm; None: no lot."""
    return _graph_cached(lot_code=lot_code, direction=direction, max_depth=max_depth, generation=generation)[
        0
    ]


def graph_json_cached(
    *, lot_code: str, direction: str = "both", max_depth: int | None = None, generation: int | None = None
) -> bytes | None:
    """The graph body (contract section 7) as JSON bytes, from the cache when warm; None: no lot."""
    packed, body = _graph_cached(
        lot_code=lot_code, direction=direction, max_depth=max_depth, generation=generation
    )
    if packed is None:
        return None
    # Just computed: the body itself, not a round trip through gzip.
    return body if body is not None else gzip.decompress(packed)


def graph_refresh(*, lot_code: str) -> bytes | None:
    """Recompute the full graph (both directions, no depth limit) and store it; None: no lot.

    With the cache known to be down the graph is computed and not stored (no wait on Valkey).
    """
    started = time.perf_counter()
    token = None
    if cache_usable():
        generation = _generation()
        try:
            token = _token(generation, _tokens_minted(_token_keys(GRAPH, lot_code)))
        except Exception:
            cache_failed(f"graph refresh; graph of {lot_code} computed but not stored")
    body = selectors.lot_graph_json(lot_code=lot_code)
    if body is None:
        return None
    TRACEABILITY_QUERY_SECONDS.labels(kind=GRAPH, source="database").observe(time.perf_counter() - started)
    if token is not None:
        try:
            entry = (token, gzip_body(body))
            cache.set(_entry_key(GRAPH, lot_code, "both", "all"), entry, timeout=_entry_timeout())
        except Exception:
            cache_failed(f"graph refresh; graph of {lot_code} not stored")
    return body


def one_step_warm(*, lot_code: str, generation: int | None) -> bytes | None:
    """The cached one-step answer or None when not warm: one Valkey round trip, no database
    query, so it may run on the event loop. `generation`: read by the caller."""
    return _warm_only(ONE_STEP, lot_code, (), generation)


def one_step_cached(*, lot_code: str, generation: int | None = None) -> bytes | None:
    """The one-step answer (contract section 6) as JSON, from the cache when warm; None: no lot."""
    compute = lambda: selectors.lot_traceability_one_step(lot_code=lot_code)  # noqa: E731
    return _cached(ONE_STEP, lot_code, (), compute, generation)


def holds_generation_retire() -> None:
    """A hold was placed or released: every cached graph becomes unreachable."""
    if not cache_usable():
        _invalidation_lost("holds generation not retired")
        return
    try:
        cache.delete(_HOLDS_GENERATION_KEY)
    except Exception:
        cache_failed("holds generation not retired")
        _invalidation_lost("holds generation not retired")


def _read_then_delete(probed: list[str], deleted: list[str]) -> set[str]:
    """Which of `probed` exist, then delete `deleted`: one round trip to Valkey (a pipeline,
    after every write with relatives), two calls to any other cache."""
    backend = cache_backend()
    client = getattr(backend, "client", None)
    if hasattr(client, "get_client"):  # django-redis
        pipe = client.get_client(write=True).pipeline(transaction=False)
        for key in probed:
            pipe.exists(client.make_key(key))
        pipe.delete(*(client.make_key(key) for key in deleted))
        *found, _ = pipe.execute()
        return {key for key, count in zip(probed, found, strict=True) if count}
    read = set(cache.get_many(probed)) if probed else set()
    cache.delete_many(deleted)
    return read


def traceability_invalidate(
    *,
    lot_ids: Iterable[uuid.UUID] = (),
    links: Iterable[tuple[uuid.UUID, uuid.UUID]] = (),
    lot_codes: Iterable[str] = (),
    graph_codes: Iterable[str] = (),
    step_codes: Iterable[str] = (),
    warm_ids: Iterable[uuid.UUID] = (),
    affected: list[selectors.AffectedLot] | None = None,
) -> dict[str, uuid.UUID]:
    """Retire the cached answers these changes may have altered.

    `lot_codes` are extra codes to retire as if changed (e.g. the old code of a renamed lot);
    `graph_codes` / `step_codes` extra codes whose graph / one-step answers to retire.
    Returns, among `warm_ids`, the lots (code: id) whose graph had been read since it last
    changed (its version token existed): the only ones worth computing again ahead of a read.
    With the cache known to be down, no walk and no wait: the cache generation is bumped.
    `affected`: the lots concerned when the caller knows them already (no walk then).
    """
    if not cache_usable():
        _invalidation_lost("traceability entries not invalidated")
        return {}
    if affected is None:
        affected = selectors.genealogy_affected(lot_ids=lot_ids, links=links)
    extra = set(lot_codes)
    graph_codes = {lot.lot_code for lot in affected} | set(graph_codes) | extra
    step_codes = {lot.lot_code for lot in affected if lot.near} | set(step_codes) | extra
    keys = [_version_key(GRAPH, code) for code in graph_codes]
    keys += [_version_key(ONE_STEP, code) for code in step_codes]
    if not keys:
        return {}
    wanted = set(warm_ids)
    candidates = {lot.lot_code: lot.lot_id for lot in affected if lot.lot_id in wanted}
    try:
        # Only for the few lots written: is their graph read at all? Asked with the deletion.
        read = _read_then_delete([_version_key(GRAPH, code) for code in candidates], keys)
    except Exception:
        cache_failed(f"{len(keys)} traceability entries not invalidated")
        _invalidation_lost(f"{len(keys)} traceability entries not invalidated")
        return {}
    return {code: lot_id for code, lot_id in candidates.items() if _version_key(GRAPH, code) in read}
