"""ASGI entry point: `gunicorn -k uvicorn_worker.UvicornWorker flowviz.asgi:application`."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flowviz.settings")

application = get_asgi_application()
