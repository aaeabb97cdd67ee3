"""WSGI entry point (the API is async-first; prefer flowviz.asgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flowviz.settings")

application = get_wsgi_application()

# Once per server process: a production server must not run in the legacy demo mode unnoticed.
from accounts.checks import passwordless_login_warn  # noqa: E402

passwordless_login_warn()
