"""A synthetic factory genealogy for benchmarks and demos (`manage.py generate_factory`).

Layers RAW -> DEB -> BULK -> MIX -> SKW -> FRZ -> FG. Each child is made from 2-4 parents
drawn from the previous layer; the early layers are small, so one RAW lot fans out into
thousands of finished goods, as one contaminated supplier batch does in a real plant.
Mass balance: a parent gives at most 90% of its weight, shared among its children, and a
child weighs what it drew times a yield below 1.
"""

from __future__ import annotations

import io
import random
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_DOWN, Decimal

from django.db import connection, transaction

from lots.models import Lot, LotType

LAYERS: tuple[str, ...] = (
    LotType.RAW,
    LotType.DEB,
    LotType.BULK,
    LotType.MIX,
    LotType.SKW,
    LotType.FRZ,
    LotType.FG,
)
# Share of the lots in each layer: few big raw batches, many finished-goods packs.
LAYER_SHARES: tuple[float, ...] = (0.015, 0.04, 0.08, 0.12, 0.20, 0.25, 0.295)
PARENTS_PER_CHILD = (2, 4)
_CENT = Decimal("0.01")


@dataclass
class FactoryResult:
    lots: int
    links: int
    seconds: float
    layer_sizes: dict[str, int]


def _layer_sizes(total: int) -> list[int]:
    if total < len(LAYERS):
        raise ValueError(f"need at least {len(LAYERS)} lots (one per layer)")
    sizes = [max(1, int(total * share)) for share in LAYER_SHARES]
    sizes[-1] += total - sum(sizes)  # rounding goes to the finished goods
    return sizes


def _kg(value: float) -> Decimal:
    return Decimal(repr(value)).quantize(_CENT, rounding=ROUND_DOWN)


def _uuid(rng: random.Random) -> uuid.UUID:
    # From the seeded generator: uuid4() reads the OS entropy pool, ~10x slower per id.
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def factory_generate(*, lots: int, seed: int = 1, prefix: str = "GEN") -> FactoryResult:
    """Insert `lots` lots and their links in one transaction (COPY)."""
    started = time.perf_counter()
    # The prefix is part of the seed: two runs with one seed but new prefixes get new ids.
    rng = random.Random(f"{seed}:{prefix}")
    sizes = _layer_sizes(lots)
    base_time = datetime(2026, 1, 1, tzinfo=UTC)

    lot_rows: list[tuple] = []  # (id, code, type, weight, created_at)
    link_rows: list[tuple] = []  # (id, parent_id, child_id, quantity)
    previous: list[tuple[uuid.UUID, float]] = []  # (id, weight) of the previous layer
    for layer_index, (lot_type, size) in enumerate(zip(LAYERS, sizes, strict=True)):
        layer_time = base_time + timedelta(days=layer_index)
        current: list[tuple[uuid.UUID, float]] = []
        if not previous:
            for _ in range(size):
                weight = float(_kg(rng.uniform(400.0, 2000.0)))
                current.append((_uuid(rng), weight))
        else:
            choices = [
                rng.sample(range(len(previous)), min(len(previous), rng.randint(*PARENTS_PER_CHILD)))
                for _ in range(size)
            ]
            children_of = [0] * len(previous)
            for picked in choices:
                for p in picked:
                    children_of[p] += 1
            for picked in choices:
                child_id = _uuid(rng)
                drawn = 0.0
                for p in picked:
                    parent_id, parent_weight = previous[p]
                    quantity = _kg(parent_weight * 0.9 / children_of[p])
                    drawn += float(quantity)
                    link_rows.append((_uuid(rng), parent_id, child_id, quantity))
                current.append((child_id, float(_kg(drawn * rng.uniform(0.9, 0.99)))))
        for i, (lot_id, weight) in enumerate(current):
            lot_rows.append(
                (
                    lot_id,
                    f"{prefix}-{lot_type}-{i:07d}",
                    lot_type,
                    _kg(weight),
                    layer_time + timedelta(seconds=i),
                )
            )
        previous = current

    with transaction.atomic():
        if Lot.objects.filter(lot_code=lot_rows[0][1]).exists():
            raise ValueError(f"lot codes with prefix {prefix!r} already exist; choose another prefix")
        _copy(lot_rows, link_rows)
    with connection.cursor() as cursor:  # fresh statistics, so the planner sees the new sizes
        cursor.execute("ANALYZE lots")
        cursor.execute("ANALYZE lot_genealogy")
    return FactoryResult(
        lots=len(lot_rows),
        links=len(link_rows),
        seconds=time.perf_counter() - started,
        layer_sizes=dict(zip(LAYERS, sizes, strict=True)),
    )


def _copy(lot_rows: list[tuple], link_rows: list[tuple]) -> None:
    """COPY both tables. The links' foreign keys are dropped for the load and added back
    (same names, same definitions) before the transaction ends: adding a foreign key checks
    every row in one set-based query, where a deferred key would queue one check per row
    (over a million for 200,000 lots). Any failure rolls the whole load back.
    """
    with connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg 3 cursor: COPY ... FROM STDIN in text format
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = 'lot_genealogy'::regclass AND contype = 'f' ORDER BY conname"
        )
        foreign_keys = cursor.fetchall()
        for name, _ in foreign_keys:
            cursor.execute(f'ALTER TABLE lot_genealogy DROP CONSTRAINT "{name}"')
        with raw.copy(
            "COPY lots (id, lot_code, lot_type, weight_kg, metadata, created_at) FROM STDIN"
        ) as copy:
            buffer = io.StringIO()
            for lot_id, code, lot_type, weight, created_at in lot_rows:
                buffer.write(f"{lot_id}\t{code}\t{lot_type}\t{weight}\t{{}}\t{created_at.isoformat()}\n")
            copy.write(buffer.getvalue())
        with raw.copy(
            "COPY lot_genealogy (id, parent_lot_id, child_lot_id, quantity_used_kg, linked_at) FROM STDIN"
        ) as copy:
            buffer = io.StringIO()
            now = datetime.now(UTC).isoformat()
            for link_id, parent_id, child_id, quantity in link_rows:
                buffer.write(f"{link_id}\t{parent_id}\t{child_id}\t{quantity}\t{now}\n")
            copy.write(buffer.getvalue())
        for name, definition in foreign_keys:
            cursor.execute(f'ALTER TABLE lot_genealogy ADD CONSTRAINT "{name}" {definition}')
