"""Several SQL statements in one round trip to PostgreSQL.

Django's PostgreSQL backend binds parameters on the client (psycopg's ClientCursor), so a
query string is sent as one simple-protocol message. PostgreSQL runs the statements of such
a message in order, each with a fresh snapshot (under READ COMMITTED a statement sees what
committed while an earlier one waited for a lock), as one transaction: the caller's when it
is in one, otherwise an implicit transaction that commits all of them or none. A write that
is a fixed sequence of statements then costs one round trip instead of one per statement
plus BEGIN and COMMIT.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from typing import Any

from django.db import connection, transaction
from django.db.models import Model

Statement = tuple[str, Mapping[str, Any]]


def statements_run(statements: Sequence[Statement]) -> list[list[tuple] | int]:
    """Run the statements (SQL with %(name)s parameters) in one round trip; per statement,
    its rows (one that returns rows) or its row count. A statement that fails rolls back the
    caller's transaction, or all of them outside one. Parameter names must not clash."""
    params: dict[str, Any] = {}
    for _, named in statements:
        clash = {name for name in named.keys() & params.keys() if params[name] != named[name]}
        if clash:
            raise ValueError(f"parameters named twice in one batch: {sorted(clash)}")
        params.update(named)
    results: list[list[tuple] | int] = []
    with connection.cursor() as cursor:
        cursor.execute(";\n".join(sql for sql, _ in statements), params)
        for index in range(len(statements)):
            if index:
                cursor.nextset()
            results.append(cursor.fetchall() if cursor.description is not None else cursor.rowcount)
    return results


def atomic_unless_one_batch(*, one_batch: bool) -> contextlib.AbstractContextManager[Any]:
    """`transaction.atomic()`, except around a write that is one batch outside any transaction
    (the batch is a transaction by itself: BEGIN and COMMIT would be two more round trips).
    Inside the caller's transaction it is a savepoint, so a failed statement leaves the
    caller's transaction usable (for the idempotency layer to record the refusal)."""
    if one_batch and not connection.in_atomic_block:
        return contextlib.nullcontext()
    return transaction.atomic()


def insert_statement(instances: Sequence[Model], *, prefix: str, returning: str = "") -> Statement:
    """A multi-row INSERT of unsaved model instances (every concrete column, the values their
    fields prepare for the database), parameters named `<prefix><row>_<column>`."""
    meta = instances[0]._meta
    fields = meta.concrete_fields
    rows, params = [], {}
    for row, instance in enumerate(instances):
        names = []
        for field in fields:
            name = f"{prefix}{row}_{field.column}"
            params[name] = field.get_db_prep_save(getattr(instance, field.attname), connection)
            names.append(f"%({name})s")
        rows.append(f"({', '.join(names)})")
    columns = ", ".join(field.column for field in fields)
    sql = f"INSERT INTO {meta.db_table} ({columns}) VALUES {', '.join(rows)}"
    return (f"{sql} RETURNING {returning}" if returning else sql), params
