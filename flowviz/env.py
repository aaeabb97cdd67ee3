"""Small, dependency-free readers for settings taken from the environment."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

from flowviz.ops.db_pool import mark_returned

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (true/false), got {raw!r}.")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}.") from exc


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]


def parse_database_url(
    url: str,
    *,
    default_sqlite_path: Path,
    pool_min_size: int = 2,
    pool_max_size: int = 10,
    pool_timeout: int = 10,
    use_pool: bool = True,
    conn_max_age: int = 0,
    disable_server_side_cursors: bool = False,
) -> dict[str, Any]:
    """Turn `postgres://user:pw@host:port/name` or `sqlite:///path` into a DATABASES entry.

    An empty URL means the embedded SQLite default. PostgreSQL uses psycopg 3 with its
    connection pool (Django requires CONN_MAX_AGE = 0 then); with `use_pool` off (e.g.
    behind PgBouncer in transaction mode) persistent connections are used instead.
    """
    if not url:
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": str(default_sqlite_path)}

    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme in {"sqlite", "sqlite3"}:
        # sqlite:///relative.db, sqlite:////abs/path.db, sqlite:///:memory:
        path = unquote(parts.path[1:] if parts.path.startswith("/") else parts.path)
        if not path:
            raise ImproperlyConfigured("DATABASE_URL sqlite:// needs a path, e.g. sqlite:///db.sqlite3")
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": path}

    if scheme not in {"postgres", "postgresql", "pgsql", "psql"}:
        raise ImproperlyConfigured(
            f"DATABASE_URL scheme {scheme!r} is not supported; use postgres:// or sqlite://."
        )
    name = unquote(parts.path.lstrip("/"))
    if not name:
        raise ImproperlyConfigured("DATABASE_URL must name a database, e.g. postgres://host/flowviz")
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    options: dict[str, Any] = {}
    for key in ("sslmode", "sslrootcert", "application_name", "connect_timeout"):
        if key in query:
            options[key] = query[key]
    options.setdefault("connect_timeout", "5")
    config: dict[str, Any] = {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": name,
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "",
        "PORT": str(parts.port or ""),
        "CONN_HEALTH_CHECKS": True,
        "DISABLE_SERVER_SIDE_CURSORS": disable_server_side_cursors,
        "TEST": {"NAME": query.get("test_name") or f"test_{name}"},
    }
    if use_pool:
        options["pool"] = {"min_size": pool_min_size, "max_size": pool_max_size, "timeout": pool_timeout}
        config["CONN_MAX_AGE"] = 0
        # Health-checked with a round trip only after idling (flowviz/ops/postgresql/base.py);
        # the pool's reset callback stamps when each connection came back.
        config["ENGINE"] = "flowviz.ops.postgresql"
        options["pool"]["reset"] = mark_returned
    else:
        config["CONN_MAX_AGE"] = conn_max_age
    config["OPTIONS"] = options
    return config
