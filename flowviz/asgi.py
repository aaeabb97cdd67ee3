"""ASGI entry point: `gunicorn -k uvicorn_worker.UvicornWorker flowviz.asgi:application`."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flowviz.settings")

application = get_asgi_application()

# /api requests skip the browser-session middleware (issue 7); see flowviz/http/asgi.py.
from flowviz.http.asgi import with_api_fast_path  # noqa: E402

application = with_api_fast_path(application)

# Once per server process: a production server must not run in the legacy demo mode unnoticed.
from accounts.checks import passwordless_login_warn  # noqa: E402

passwordless_login_warn()
