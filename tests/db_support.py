"""Addresses of the database server the tests run on (TCP or the embedded cluster's Unix socket)."""

from __future__ import annotations

from urllib.parse import quote

from django.db import connection


def database_url(dbname: str | None = None) -> str:
    """A DATABASE_URL for `dbname` (default: this run's test database) on the tests' server."""
    s = connection.settings_dict
    auth = quote(s["USER"] or "", safe="")
    if s["PASSWORD"]:
        auth += ":" + quote(s["PASSWORD"], safe="")
    name = quote(dbname or s["NAME"], safe="")
    host, port = s["HOST"] or "127.0.0.1", s["PORT"] or "5432"
    if host.startswith("/"):  # a Unix socket directory: libpq's host parameter
        return f"postgres://{auth}@/{name}?host={quote(host, safe='/')}&port={port}"
    return f"postgres://{auth}@{host}:{port}/{name}"


def conninfo(dbname: str) -> str:
    """A libpq connection string for `dbname` on the tests' server (for psycopg.connect)."""
    s = connection.settings_dict
    password = f" password={s['PASSWORD']}" if s["PASSWORD"] else ""
    return (
        f"host={s['HOST'] or '127.0.0.1'} port={s['PORT'] or 5432} user={s['USER']} dbname={dbname}{password}"
    )
