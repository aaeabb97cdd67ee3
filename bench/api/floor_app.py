"""The stack's own ceiling on this machine, for reading bench/api figures against.

A Django + django-ninja app with nothing of FlowViz in it: no middleware, no auth, no
validation beyond one pydantic field, no cache, no Celery. Served exactly as FlowViz is
(gunicorn + uvicorn workers, PostgreSQL through the psycopg pool), by bench/api/floor.py:
  GET  /api/health -> {"status": "ok"}            (the framework's per-request cost)
  POST /api/insert -> one INSERT in a transaction, (the least a write can do: a thread hop,
                   {"id": ...}, 201                a pooled connection, BEGIN/INSERT/COMMIT)
Whatever these reach, no endpoint built on the same stack can exceed.
"""

from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import django
from django.conf import settings

# Set by bench/api/floor.py.
_URL = urlsplit(os.environ.get("FLOOR_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/flowviz_floor"))

settings.configure(
    DEBUG=False,
    SECRET_KEY="floor-benchmark-only-" + "k" * 40,
    ALLOWED_HOSTS=["*"],
    ROOT_URLCONF=__name__,
    MIDDLEWARE=[],
    INSTALLED_APPS=[],
    DATABASES={
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": _URL.path.lstrip("/"),
            "USER": _URL.username or "postgres",
            # A Unix socket directory comes as ?host=... (BENCH_POSTGRES=private).
            "HOST": parse_qs(_URL.query).get("host", [_URL.hostname or ""])[0],
            "PORT": str(_URL.port or ""),
            "CONN_MAX_AGE": 0,
            "OPTIONS": {"pool": {"min_size": 2, "max_size": 10}},
        }
    },
    USE_TZ=True,
    # FlowViz's handler (below) reads it: the floor authenticates nobody, on no pool.
    DB_ASYNC_AUTH=False,
)
django.setup()

from asgiref.sync import sync_to_async  # noqa: E402
from django.core.asgi import get_asgi_application  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.urls import path  # noqa: E402
from ninja import NinjaAPI, Schema  # noqa: E402

api = NinjaAPI()


class InsertIn(Schema):
    code: str


@api.get("/health")
async def health(request) -> dict:
    return {"status": "ok"}


def _insert(code: str) -> str:
    row_id = str(uuid.uuid4())
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("INSERT INTO floor_lots (id, code) VALUES (%s, %s)", [row_id, code])
    return row_id


@api.post("/insert", response={201: dict})
async def insert(request, payload: InsertIn):
    return 201, {"id": await sync_to_async(_insert)(payload.code)}


urlpatterns = [path("api/", api.urls)]
# With FlowViz's own request handler (pooled per-request executors, fewer thread hops), so
# the ceiling is that of the stack as FlowViz runs it, not of Django's default handler.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from flowviz.http.asgi import with_api_fast_path  # noqa: E402

application = with_api_fast_path(get_asgi_application())
