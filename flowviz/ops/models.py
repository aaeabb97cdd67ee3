"""The cache generation: a counter in PostgreSQL that outlives any Valkey outage.

Every cached traceability answer is stored under the generation read before computing it
(lots/cache.py). A process that could not deliver an invalidation to Valkey (Valkey frozen,
down, restarted with its data) bumps the counter instead, in PostgreSQL, which is up: it has
just committed the write. Every answer cached before the bump becomes unreachable at once, so
no read after the outage returns a graph older than the last committed write.
"""

from __future__ import annotations

from django.db import connection, models

CACHE_GENERATION_ROW = 1
_ROW_ID = CACHE_GENERATION_ROW


class CacheGeneration(models.Model):
    """One row (id 1): the current generation of the shared cache."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=_ROW_ID)
    value = models.BigIntegerField(default=0)

    class Meta:
        db_table = "cache_generation"

    def __str__(self) -> str:
        return f"cache generation {self.value}"


def cache_generation_read() -> int:
    """The current generation (0 before the first bump): one primary-key read.

    A plain cursor: it runs on every cached traceability read, where building the queryset
    cost more CPU than the query."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT value FROM {CacheGeneration._meta.db_table} WHERE id = %s", [_ROW_ID])
        row = cursor.fetchone()
    return row[0] if row else 0


def cache_generation_bump() -> int:
    """Retire every cached answer: the generation goes up by one (atomic upsert); the new value."""
    table = CacheGeneration._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (id, value) VALUES (%s, 1) "
            f"ON CONFLICT (id) DO UPDATE SET value = {table}.value + 1 RETURNING value",
            [_ROW_ID],
        )
        return cursor.fetchone()[0]
