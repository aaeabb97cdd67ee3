"""The benchmarks' PostgreSQL database: created when it does not exist yet (a fresh machine)."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit, urlunsplit

import psycopg
from psycopg import sql


def database_ensure(url: str) -> None:
    """Create the database named by a postgres:// URL unless it exists (via the `postgres` db)."""
    parts = urlsplit(url)
    name = unquote(parts.path.lstrip("/"))
    maintenance = urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
    with psycopg.connect(maintenance, autocommit=True) as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            print(f"created database {name}")
