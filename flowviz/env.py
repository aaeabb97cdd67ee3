"""Settings from the environment: django-environ, strict about values, PostgreSQL only.

django-environ reads and casts the variables; this module adds what FlowViz promises on top:
a value that does not parse is one ImproperlyConfigured naming the variable (django-environ
reads "maybe" as false and "5 s" as 5.0), an empty number is its default, list items are
trimmed, values are literal (no "$OTHER" references), and DATABASE_URL becomes the DATABASES
entry of the psycopg pool.
"""

from __future__ import annotations

from typing import Any

import environ
from django.core.exceptions import ImproperlyConfigured

from flowviz.ops.db_pool import mark_returned

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}
_KINDS = {bool: "a boolean (true/false)", int: "an integer", float: "a number"}


class Env(environ.Env):
    """`environ.Env` whose casts fail loudly, naming the variable."""

    def get_value(self, var: str, cast: Any = None, default: Any = environ.Env.NOTSET, parse_default=False):
        raw = self.ENVIRON.get(var)
        if cast in (int, float) and raw is not None and not raw.strip() and default is not self.NOTSET:
            return default
        try:
            if raw is not None and raw.startswith("$"):
                # Literal: django-environ would read "$NAME" as a reference to another variable
                # (a generated secret may start with "$").
                value = self.parse_value(raw, cast)
            else:
                value = super().get_value(var, cast=cast, default=default, parse_default=parse_default)
        except (ValueError, TypeError) as exc:
            raise ImproperlyConfigured(f"{var} must be {_KINDS.get(cast, 'valid')}, got {raw!r}.") from exc
        if cast is list and isinstance(value, list):
            value = [item.strip() for item in value if item.strip()]
        return value

    @classmethod
    def parse_value(cls, value: Any, cast: Any) -> Any:
        if cast is bool and isinstance(value, str):
            word = value.strip().lower()
            if word not in _TRUE | _FALSE:
                raise ValueError(value)
            return word in _TRUE
        if cast is float and isinstance(value, str):
            return float(value)  # django-environ would strip stray characters ("5 s" -> 5.0)
        return super().parse_value(value, cast)


env = Env()

_POSTGRES_SCHEMES = {"postgres", "postgresql", "pgsql", "psql"}


def database_config(
    url: str,
    *,
    pool_min_size: int = 2,
    pool_max_size: int = 10,
    pool_timeout: int = 10,
    use_pool: bool = True,
    conn_max_age: int = 0,
    disable_server_side_cursors: bool = False,
    jit: bool = False,
) -> dict[str, Any]:
    """Turn `postgres://user:pw@host:port/name[?params]` into a DATABASES entry.

    libpq's `?host=/socket/dir` form (the embedded default's URL) names a Unix socket; `?port=`
    goes with it. `?test_name=` names the test database; other parameters (sslmode,
    connect_timeout, application_name...) are passed to psycopg. PostgreSQL uses psycopg 3 with
    its connection pool (Django requires CONN_MAX_AGE = 0 then); with `use_pool` off (e.g.
    behind PgBouncer in transaction mode) persistent connections are used instead.

    `jit` off (the default) starts every connection with `-c jit=off`, unless the URL sets
    `options` itself or PgBouncer is in front (`disable_server_side_cursors`: PgBouncer refuses
    the startup parameter; set it there with ALTER ROLE ... SET jit = off). PostgreSQL's JIT
    compiler pays off on long analytic scans; on FlowViz's short statements a plan whose cost
    estimate crosses `jit_above_cost` (stale statistics, a recursive walk's row guesses) spent
    tens to hundreds of milliseconds compiling a statement that then ran in one.
    """
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme not in _POSTGRES_SCHEMES:
        raise ImproperlyConfigured(
            f"DATABASE_URL must be a PostgreSQL URL (postgres://user:password@host:port/name), "
            f"got scheme {scheme or url!r}; FlowViz runs on PostgreSQL only."
        )
    parsed = environ.Env.db_url_config(url)
    options: dict[str, Any] = {key: str(value) for key, value in parsed.get("OPTIONS", {}).items()}
    host = options.pop("host", None)
    port = options.pop("port", None)
    test_name = options.pop("test_name", None)
    name = parsed["NAME"]
    if not name:
        raise ImproperlyConfigured("DATABASE_URL must name a database, e.g. postgres://host/flowviz")
    options.setdefault("connect_timeout", "5")
    if not jit and not disable_server_side_cursors:
        options.setdefault("options", "-c jit=off")
    config: dict[str, Any] = {
        # Django's backend with the pool's cheap health check and the database breaker.
        "ENGINE": "flowviz.ops.postgresql",
        "NAME": name,
        "USER": parsed["USER"],
        "PASSWORD": parsed["PASSWORD"],
        "HOST": host or parsed["HOST"],
        "PORT": str(port or parsed["PORT"] or ""),
        "CONN_HEALTH_CHECKS": True,
        "DISABLE_SERVER_SIDE_CURSORS": disable_server_side_cursors,
        "TEST": {"NAME": test_name or f"test_{name}"},
    }
    if use_pool:
        # Health-checked with a round trip only after idling (flowviz/ops/postgresql/base.py);
        # the pool's reset callback stamps when each connection came back.
        options["pool"] = {
            "min_size": pool_min_size,
            "max_size": pool_max_size,
            "timeout": pool_timeout,
            "reset": mark_returned,
        }
        config["CONN_MAX_AGE"] = 0
    else:
        config["CONN_MAX_AGE"] = conn_max_age
    config["OPTIONS"] = options
    return config


def valkey_cache_config(
    url: str, *, key_prefix: str = "flowviz", connect_timeout: float = 0.5, socket_timeout: float = 0.5
) -> dict[str, Any]:
    """The CACHES entry of a Valkey/Redis cache: django-redis driving the `valkey` client.

    The parser is valkey's own (`valkey.connection.DefaultParser`): django-redis defaults to
    redis-py's, whose ConnectionError the valkey pool does not recognise, so after a Valkey
    restart every pooled socket stayed dead ("Connection closed by server") until the process
    restarted. With valkey's parser a pooled socket closed by the server is detected when the
    pool hands it out, and replaced.
    """
    return {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": url,
        "KEY_PREFIX": key_prefix,
        "OPTIONS": {
            "CLIENT_CLASS": "django_redis.client.DefaultClient",
            "REDIS_CLIENT_CLASS": "valkey.client.Valkey",
            "CONNECTION_POOL_CLASS": "valkey.connection.ConnectionPool",
            "PARSER_CLASS": "valkey.connection.DefaultParser",
            "SOCKET_CONNECT_TIMEOUT": connect_timeout,
            "SOCKET_TIMEOUT": socket_timeout,
        },
    }
