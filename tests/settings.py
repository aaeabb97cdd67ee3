"""Settings for the test suite: the project's settings with safe test defaults filled in.

Everything that decides which services the tests hit (DATABASE_URL, REDIS_URL,
CELERY_BROKER_URL) still comes from the environment, so `make test` runs against the
embedded default or against real PostgreSQL/Redis alike. Without DATABASE_URL the suite runs
on a throwaway embedded PostgreSQL cluster (a temporary directory, deleted when the run
ends); its URL is exported, so the processes tests start (manage.py, Celery, gunicorn) use it.
"""

import os

if not os.environ.get("DATABASE_URL"):
    from flowviz.ops.embedded_db import temporary_database_url

    temporary_database_url()

# At least 64 bytes: long enough for every JWT algorithm the settings accept (HS512 included).
os.environ.setdefault(
    "SECRET_KEY", "test-only-secret-key-3f9a8c1e7b6d5a4f2e0c9b8a7d6e5f4c3b2a1908-long-enough-for-hs512"
)
os.environ.setdefault("DEBUG", "false")
# DEBUG is off but the test client and live servers speak plain http: no HTTPS redirect, and
# cookies that a browser would send over http.
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("SESSION_COOKIE_SECURE", "false")
os.environ.setdefault("CSRF_COOKIE_SECURE", "false")
os.environ.setdefault("AUTH_COOKIE_SECURE", "false")

from flowviz.settings import *  # noqa: F403
from flowviz.settings import CACHES

# Real bcrypt, fewer rounds: the algorithm and hash format are the production ones.
PASSWORD_HASHERS = [
    "tests.hashers.FastBCryptSHA256PasswordHasher",
    "tests.hashers.FastBCryptPasswordHasher",
]

# Each test run gets its own key space so parallel or repeated runs never share cache entries;
# unless CACHE_KEY_PREFIX is set: the servers a fault test starts (several gunicorn workers, a
# Celery worker) must share one key space, as a deployment's processes do.
if not os.environ.get("CACHE_KEY_PREFIX"):
    for _cache in CACHES.values():
        _cache["KEY_PREFIX"] = f"flowviz-test-{os.getpid()}"
