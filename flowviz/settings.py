"""FlowViz settings, read from the environment (django-environ, through flowviz/env.py).

With nothing set, FlowViz runs on the embedded default: an embedded PostgreSQL cluster under
the project (flowviz/ops/embedded_db.py), an in-process cache and Celery tasks executed inline,
so `make run` needs no service. Every production knob is an environment variable; README.md
has the full table.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from flowviz.env import database_config, env, valkey_cache_config

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env.bool("DEBUG", default=False)

# A key that is fine for a laptop and refused anywhere DEBUG is off.
_DEV_SECRET_KEY = "django-insecure-flowviz-development-key-do-not-use-in-production"  # noqa: S105 (refused unless DEBUG)
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set SECRET_KEY to a random string of at least 50 characters "
            "(or DEBUG=true for local development)."
        )
    SECRET_KEY = _DEV_SECRET_KEY
if not DEBUG and (
    SECRET_KEY.startswith("django-insecure") or len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5
):
    raise ImproperlyConfigured(
        "SECRET_KEY is insecure: with DEBUG off it must be at least 50 characters, with at least "
        "5 distinct characters, and must not start with 'django-insecure'."
    )

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "corsheaders",
    "django_celery_results",
    # Only for its bundled Swagger UI files: /api/docs loads them from our own /static/
    # (runserver serves them with DEBUG; nginx from collectstatic's STATIC_ROOT), never from
    # a CDN, so the docs work offline.
    "ninja",
    "flowviz.ops",
    "flowviz.production",
    "accounts",
    "quality",
    "lots",
    "flowviz.legacy",
    "flowviz.demo",
    # Its one table: the stored answers of idempotent writes (flowviz/http/idempotency.py).
    "flowviz.http",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "flowviz.urls"
ADMIN_URL = env.str("ADMIN_URL", default="admin/").strip("/") + "/"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "flowviz.wsgi.application"
ASGI_APPLICATION = "flowviz.asgi.application"

# --- Database ---------------------------------------------------------------------------
# Unset: the embedded PostgreSQL in EMBEDDED_POSTGRES_DIR, started (or attached to) now; its
# URL is exported as DATABASE_URL so that child processes use the same cluster.
DATABASE_URL = env.str("DATABASE_URL", default="")
if not DATABASE_URL:
    from flowviz.ops.embedded_db import embedded_database_url

    DATABASE_URL = embedded_database_url(
        Path(env.str("EMBEDDED_POSTGRES_DIR", default="") or BASE_DIR / "db" / "postgres")
    )
DB_POOL_TIMEOUT = env.int("DB_POOL_TIMEOUT", default=10)
DATABASES = {
    "default": database_config(
        DATABASE_URL,
        pool_min_size=env.int("DB_POOL_MIN_SIZE", default=2),
        pool_max_size=env.int("DB_POOL_MAX_SIZE", default=10),
        pool_timeout=DB_POOL_TIMEOUT,
        use_pool=env.bool("DB_POOL", default=True),
        conn_max_age=env.int("CONN_MAX_AGE", default=0),
        disable_server_side_cursors=env.bool("DB_DISABLE_SERVER_SIDE_CURSORS", default=False),
        jit=env.bool("DB_JIT", default=False),
    )
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# After a failure to get a database connection, requests answer 503 (with Retry-After) at once
# for DB_RETRY_SECONDS instead of each waiting DB_POOL_TIMEOUT; then, and after a query failed on
# a live connection, a connection is awaited at most DB_PROBE_TIMEOUT seconds
# (flowviz/ops/postgresql/base.py).
DB_RETRY_SECONDS = env.int("DB_RETRY_SECONDS", default=5)
DB_PROBE_TIMEOUT = env.float("DB_PROBE_TIMEOUT", default=2.0)
DB_POOL_TIMEOUT = (
    DATABASES["default"]["OPTIONS"].get("pool", {}).get("timeout", env.int("DB_POOL_TIMEOUT", default=10))
)
# The API's authentication query runs on a small pool of the worker's event loop (saves two
# thread hops per request; flowviz/ops/async_db.py). A worker holds at most DB_POOL_MAX_SIZE +
# DB_ASYNC_POOL_MAX_SIZE connections.
DB_ASYNC_AUTH = env.bool("DB_ASYNC_AUTH", default=True)
DB_ASYNC_POOL_MAX_SIZE = env.int("DB_ASYNC_POOL_MAX_SIZE", default=2)

# --- Cache (Valkey through django-redis with the valkey client) ---------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": valkey_cache_config(
            REDIS_URL,
            key_prefix=env.str("CACHE_KEY_PREFIX", default="flowviz"),
            connect_timeout=env.float("REDIS_CONNECT_TIMEOUT", default=0.5),
            socket_timeout=env.float("REDIS_SOCKET_TIMEOUT", default=0.5),
        )
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "flowviz",
        }
    }

# --- Celery ----------------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
# No broker configured: run tasks inline so the embedded default needs no service.
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not CELERY_BROKER_URL)
# Inline tasks still take a producer from the broker connection: kombu's in-process
# transport, named with its host (an empty URL, or "memory://", made kombu warn "No hostname
# was supplied" on the first task).
INLINE_BROKER_URL = "memory://localhost/"
CELERY_BROKER_URL = CELERY_BROKER_URL or INLINE_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = "django-db"
CELERY_RESULT_EXTENDED = True
CELERY_TASK_TRACK_STARTED = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=300)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=240)
CELERY_RESULT_EXPIRES = env.int("CELERY_RESULT_EXPIRES", default=7 * 24 * 3600)
CELERY_BROKER_CONNECTION_TIMEOUT = env.float("CELERY_BROKER_CONNECTION_TIMEOUT", default=2.0)
# Publishing (on a write's after-commit path) never waits long on the broker: a short connect
# and socket timeout (kombu's default socket timeout is none: a frozen broker hung a write for
# the whole freeze), one quick reconnect attempt, and after a failure the broker breaker
# (flowviz/ops/breakers.py) skips publishing for BROKER_RETRY_SECONDS.
# visibility_timeout: a task taken by a worker that died unacknowledged goes back to its queue
# after this many seconds (kombu's default is an hour); GET /api/jobs/{id} reports a job as lost
# after it (lots/jobs.py). Keep it above the longest task (CELERY_TASK_TIME_LIMIT).
BROKER_SOCKET_TIMEOUT = env.float("CELERY_BROKER_SOCKET_TIMEOUT", default=1.0)
TASK_VISIBILITY_TIMEOUT = env.int("CELERY_VISIBILITY_TIMEOUT", default=600)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "socket_connect_timeout": CELERY_BROKER_CONNECTION_TIMEOUT,
    "socket_timeout": BROKER_SOCKET_TIMEOUT,
    "visibility_timeout": TASK_VISIBILITY_TIMEOUT,
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.1,
    "interval_max": 0.1,
}
BROKER_RETRY_SECONDS = env.int("BROKER_RETRY_SECONDS", default=5)
# User jobs (POST .../jobs) and the cache refreshes after writes go to separate queues, so a
# job never waits behind thousands of refreshes; the worker consumes both (-Q jobs,refresh).
JOBS_QUEUE = env.str("CELERY_JOBS_QUEUE", default="jobs")
REFRESH_QUEUE = env.str("CELERY_REFRESH_QUEUE", default="refresh")
CELERY_TASK_ROUTES = {
    "lots.compute_genealogy": {"queue": JOBS_QUEUE},
    "lots.refresh_genealogy": {"queue": REFRESH_QUEUE},
}
# Everything else (beat's housekeeping: celery.backend_cleanup, the idempotency-key purge) on
# the jobs queue too: Celery's default queue, "celery", is one the worker does not consume.
CELERY_TASK_DEFAULT_QUEUE = JOBS_QUEUE

# --- Auth ------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
PASSWORD_HASHERS = [
    # bcrypt first; the SHA-256 pre-hash removes bcrypt's 72-byte limit.
    "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
    # Verifies legacy `$2b$` hashes carried over as `bcrypt$<hash>`; upgraded on login.
    "django.contrib.auth.hashers.BCryptPasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

JWT_SECRET = env.str("JWT_SECRET", default="") or SECRET_KEY
JWT_ALGORITHM = env.str("JWT_ALGORITHM", default="HS256")
if JWT_ALGORITHM not in {"HS256", "HS384", "HS512"}:
    raise ImproperlyConfigured("JWT_ALGORITHM must be one of HS256, HS384, HS512.")
JWT_EXPIRE_MINUTES = env.int("JWT_EXPIRE_MINUTES", default=30)
# Legacy demo mode: accounts without a usable password log in by email alone.
PASSWORDLESS_LOGIN = env.bool("PASSWORDLESS_LOGIN", default=False)
# Browser session: POST /api/login also sets the token as an HttpOnly, SameSite=Strict
# cookie that authenticates requests sent without an Authorization header (accounts/auth.py).
AUTH_COOKIE = env.bool("AUTH_COOKIE", default=True)
# The cookie is sent over https only, unless DEBUG (make run serves plain http).
AUTH_COOKIE_SECURE = env.bool("AUTH_COOKIE_SECURE", default=not DEBUG)

# --- HTTP ------------------------------------------------------------------------------
CORS_ALLOWED_ORIGINS = env.list("ALLOWED_ORIGINS", default=[])
CORS_ALLOW_CREDENTIALS = True
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=CORS_ALLOWED_ORIGINS)

# After a failure of the cache, rate limits and cached reads skip it this long (seconds)
# instead of waiting for its timeout on every request (flowviz/ops/cache_guard.py).
CACHE_RETRY_SECONDS = env.int("CACHE_RETRY_SECONDS", default=5)

# Rate limits ("N/period", period one of s, m, h, d); shared through the cache.
THROTTLE_ENABLED = env.bool("THROTTLE_ENABLED", default=True)
THROTTLE_RATES = {
    "login": env.str("THROTTLE_LOGIN", default="10/m"),
    "traceability": env.str("THROTTLE_TRACEABILITY", default="50/m"),
    "write": env.str("THROTTLE_WRITE", default="100/m"),
    "read": env.str("THROTTLE_READ", default="200/m"),
}
# "Unlimited" traceability depth still stops here, so a cycle written into lot_genealogy
# behind the application's back cannot make a graph query run forever.
TRACEABILITY_DEPTH_LIMIT = env.int("TRACEABILITY_DEPTH_LIMIT", default=1000)

# Number of trusted proxies in front of the app (X-Forwarded-For hops to skip).
NUM_PROXIES = env.int("NUM_PROXIES", default=0)

# --- I18N / time -------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default="") or BASE_DIR / "staticfiles")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # Django's own console handler (DEBUG only) would print every django.* record a
        # second time next to ours: django's records go to the root handler alone.
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        "django.db.backends": {"level": "WARNING"},
        # runserver's own access line: the request log (flowviz.request) already has every
        # request, so `make run` printed each one twice.
        "django.server": {"handlers": [], "level": "CRITICAL", "propagate": False},
        # The embedded cluster's start/stop chatter (each pg_ctl command line) at INFO.
        "embedded_postgres": {"level": "WARNING"},
    },
}

# --- Operations: request logs, metrics, readiness, deployment security -------------------
# Outermost: the request log times everything below it and stamps the request id; the
# metrics middleware counts requests by resolved route.
MIDDLEWARE = [
    "flowviz.ops.logging.RequestLogMiddleware",
    "flowviz.ops.monitoring.PrometheusMiddleware",
    # Under /api/, Django's HTML error pages (unknown path, wrong method, 400/403/500) become
    # the API's JSON error body (flowviz/http/errors.py); the admin keeps its pages.
    "flowviz.http.errors.ApiErrorBodyMiddleware",
    *MIDDLEWARE,
]

# json: one JSON object per line (production); text: readable lines for a terminal.
LOG_FORMAT = env.str("LOG_FORMAT", default="text" if DEBUG else "json").strip().lower()
if LOG_FORMAT not in {"json", "text"}:
    raise ImproperlyConfigured("LOG_FORMAT must be json or text.")
LOGGING["formatters"] = {
    "json": {"()": "flowviz.ops.logging.JsonFormatter"},
    "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
}
LOGGING["filters"] = {"request_id": {"()": "flowviz.ops.logging.RequestIdFilter"}}
LOGGING["handlers"]["console"].update(formatter=LOG_FORMAT, filters=["request_id"])

# /metrics: comma-separated addresses or CIDRs allowed to scrape; empty = open.
METRICS_ALLOWED_IPS = env.list("METRICS_ALLOWED_IPS", default=[])
for _cidr in METRICS_ALLOWED_IPS:
    try:
        ipaddress.ip_network(_cidr, strict=False)
    except ValueError as _exc:
        raise ImproperlyConfigured(f"METRICS_ALLOWED_IPS: {_cidr!r} is not an address or CIDR.") from _exc

# Seconds each readiness check (database, cache, broker) may take.
READINESS_TIMEOUT = env.float("READINESS_TIMEOUT", default=2.0)

# HTTPS behind a TLS-terminating proxy (nginx sets X-Forwarded-Proto). Secure by default
# when DEBUG is off; `make run` (DEBUG on, plain http) and tests/settings.py turn it down.
if env.bool("SECURE_PROXY_SSL_HEADER", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
# Probes and Prometheus talk plain http inside the private network.
SECURE_REDIRECT_EXEMPT = [r"^api/health(/ready)?/?$", r"^metrics$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
X_FRAME_OPTIONS = "DENY"
# --- API fast path (issue 7) ---------------------------------------------------------------
# Middleware that /api requests skip under ASGI (flowviz/http/asgi.py): they serve browser
# sessions and forms, while the API authenticates with bearer tokens and is CSRF-exempt.
API_SKIPPED_MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]

# --- Traceability engine (issue 3) ---------------------------------------------------------
# Inline (eager) tasks record their results too, so GET /api/jobs/{id} works without a broker.
CELERY_TASK_STORE_EAGER_RESULT = True
# Lifetime of a cached traceability answer; writes retire entries long before that.
TRACEABILITY_CACHE_SECONDS = env.int("TRACEABILITY_CACHE_SECONDS", default=3600)

# --- Recall (issue 15): the location description of the FSMA 204 spreadsheet ---------------
FACILITY_NAME = env.str("FACILITY_NAME", default="FlowViz plant")
FACILITY_ADDRESS = env.str("FACILITY_ADDRESS", default="")

# --- Idempotent writes (issue 14): the Idempotency-Key header -------------------------------
# How long the first answer to a keyed write is replayed (hours), and how long a request
# waits for another one with the same key still running before it gets 409 (seconds).
IDEMPOTENCY_KEY_HOURS = env.int("IDEMPOTENCY_KEY_HOURS", default=24)
IDEMPOTENCY_WAIT_SECONDS = env.float("IDEMPOTENCY_WAIT_SECONDS", default=5.0)
# Expired keys are deleted every hour by beat (or `manage.py idempotency_keys_purge`).
CELERY_BEAT_SCHEDULE = {
    **globals().get("CELERY_BEAT_SCHEDULE", {}),
    "idempotency-keys-purge": {"task": "flowviz.http.idempotency_keys_purge", "schedule": 3600.0},
}
