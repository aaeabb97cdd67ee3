"""FlowViz settings, read from the environment.

With nothing set, FlowViz runs on the embedded default: a SQLite file under the project,
an in-process cache and Celery tasks executed inline, so `make run` needs no service.
Every production knob is an environment variable; README.md has the full table.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from flowviz.env import env_bool, env_int, env_list, parse_database_url

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", False)

# A key that is fine for a laptop and refused anywhere DEBUG is off.
_DEV_SECRET_KEY = "django-insecure-flowviz-development-key-do-not-use-in-production"  # noqa: S105 (refused unless DEBUG)
SECRET_KEY = os.environ.get("SECRET_KEY", "")
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

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "corsheaders",
    "django_celery_results",
    "flowviz.production",
    "accounts",
    "quality",
    "lots",
    "flowviz.legacy",
    "flowviz.demo",
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
ADMIN_URL = os.environ.get("ADMIN_URL", "admin/").strip("/") + "/"

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
DATABASE_URL = os.environ.get("DATABASE_URL", "")
DATABASES = {
    "default": parse_database_url(
        DATABASE_URL,
        default_sqlite_path=BASE_DIR / "db" / "flowviz.sqlite3",
        pool_min_size=env_int("DB_POOL_MIN_SIZE", 2),
        pool_max_size=env_int("DB_POOL_MAX_SIZE", 10),
        pool_timeout=env_int("DB_POOL_TIMEOUT", 10),
        use_pool=env_bool("DB_POOL", True),
        conn_max_age=env_int("CONN_MAX_AGE", 0),
        disable_server_side_cursors=env_bool("DB_DISABLE_SERVER_SIDE_CURSORS", False),
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    (BASE_DIR / "db").mkdir(exist_ok=True)
    if DATABASES["default"]["NAME"] != ":memory:":
        Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache (Valkey through django-redis with the valkey client) ---------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "flowviz"),
            "OPTIONS": {
                "CLIENT_CLASS": "django_redis.client.DefaultClient",
                "REDIS_CLIENT_CLASS": "valkey.client.Valkey",
                "CONNECTION_POOL_CLASS": "valkey.connection.ConnectionPool",
                "SOCKET_CONNECT_TIMEOUT": float(os.environ.get("REDIS_CONNECT_TIMEOUT", "0.5")),
                "SOCKET_TIMEOUT": float(os.environ.get("REDIS_SOCKET_TIMEOUT", "0.5")),
            },
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "flowviz",
        }
    }

# --- Celery ----------------------------------------------------------------------------
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
# No broker configured: run tasks inline so the embedded default needs no service.
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", not CELERY_BROKER_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = "django-db"
CELERY_RESULT_EXTENDED = True
CELERY_TASK_TRACK_STARTED = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 300)
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 240)
CELERY_RESULT_EXPIRES = env_int("CELERY_RESULT_EXPIRES", 7 * 24 * 3600)
CELERY_BROKER_CONNECTION_TIMEOUT = float(os.environ.get("CELERY_BROKER_CONNECTION_TIMEOUT", "2"))
# One quick reconnect attempt (kombu otherwise waits 2 s before retrying): a write's
# after-commit refresh must not hold its request for long when the broker is down.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "socket_connect_timeout": 2,
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.1,
    "interval_max": 0.1,
}

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

JWT_SECRET = os.environ.get("JWT_SECRET", "") or SECRET_KEY
JWT_ALGORITHM = os.environ.get("JWT_ALGORITHM", "HS256")
if JWT_ALGORITHM not in {"HS256", "HS384", "HS512"}:
    raise ImproperlyConfigured("JWT_ALGORITHM must be one of HS256, HS384, HS512.")
JWT_EXPIRE_MINUTES = env_int("JWT_EXPIRE_MINUTES", 30)
# Legacy demo mode: accounts without a usable password log in by email alone.
PASSWORDLESS_LOGIN = env_bool("PASSWORDLESS_LOGIN", False)

# --- HTTP ------------------------------------------------------------------------------
CORS_ALLOWED_ORIGINS = env_list("ALLOWED_ORIGINS", [])
CORS_ALLOW_CREDENTIALS = True
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", CORS_ALLOWED_ORIGINS)

# After a failure of the cache, rate limits and cached reads skip it this long (seconds)
# instead of waiting for its timeout on every request (flowviz/ops/cache_guard.py).
CACHE_RETRY_SECONDS = env_int("CACHE_RETRY_SECONDS", 5)

# Rate limits ("N/period", period one of s, m, h, d); shared through the cache.
THROTTLE_ENABLED = env_bool("THROTTLE_ENABLED", True)
THROTTLE_RATES = {
    "login": os.environ.get("THROTTLE_LOGIN", "10/m"),
    "traceability": os.environ.get("THROTTLE_TRACEABILITY", "50/m"),
    "write": os.environ.get("THROTTLE_WRITE", "100/m"),
    "read": os.environ.get("THROTTLE_READ", "200/m"),
}
# "Unlimited" traceability depth still stops here, so a cycle written into lot_genealogy
# behind the application's back cannot make a graph query run forever.
TRACEABILITY_DEPTH_LIMIT = env_int("TRACEABILITY_DEPTH_LIMIT", 1000)

# Number of trusted proxies in front of the app (X-Forwarded-For hops to skip).
NUM_PROXIES = env_int("NUM_PROXIES", 0)

# --- I18N / time -------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# --- Operations: request logs, metrics, readiness, deployment security -------------------
# Outermost: the request log times everything below it and stamps the request id; the
# metrics middleware counts requests by resolved route.
MIDDLEWARE = [
    "flowviz.ops.logging.RequestLogMiddleware",
    "flowviz.ops.monitoring.PrometheusMiddleware",
    *MIDDLEWARE,
]

# json: one JSON object per line (production); text: readable lines for a terminal.
LOG_FORMAT = os.environ.get("LOG_FORMAT", "text" if DEBUG else "json").strip().lower()
if LOG_FORMAT not in {"json", "text"}:
    raise ImproperlyConfigured("LOG_FORMAT must be json or text.")
LOGGING["formatters"] = {
    "json": {"()": "flowviz.ops.logging.JsonFormatter"},
    "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
}
LOGGING["filters"] = {"request_id": {"()": "flowviz.ops.logging.RequestIdFilter"}}
LOGGING["handlers"]["console"].update(formatter=LOG_FORMAT, filters=["request_id"])

# /metrics: comma-separated addresses or CIDRs allowed to scrape; empty = open.
METRICS_ALLOWED_IPS = env_list("METRICS_ALLOWED_IPS", [])
for _cidr in METRICS_ALLOWED_IPS:
    try:
        ipaddress.ip_network(_cidr, strict=False)
    except ValueError as _exc:
        raise ImproperlyConfigured(f"METRICS_ALLOWED_IPS: {_cidr!r} is not an address or CIDR.") from _exc

# Seconds each readiness check (database, cache, broker) may take.
READINESS_TIMEOUT = float(os.environ.get("READINESS_TIMEOUT", "2"))

# HTTPS behind a TLS-terminating proxy (nginx sets X-Forwarded-Proto). Secure by default
# when DEBUG is off; `make run` (DEBUG on, plain http) and tests/settings.py turn it down.
if env_bool("SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
# Probes and Prometheus talk plain http inside the private network.
SECURE_REDIRECT_EXEMPT = [r"^api/health(/ready)?/?$", r"^metrics$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
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
TRACEABILITY_CACHE_SECONDS = env_int("TRACEABILITY_CACHE_SECONDS", 3600)
# The genealogy's covering indexes use INCLUDE, which SQLite ignores (it keeps the key column):
# expected on the embedded default, so its warning is silenced.
SILENCED_SYSTEM_CHECKS = ["models.W040"]
