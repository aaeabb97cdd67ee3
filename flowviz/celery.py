"""The Celery app: `celery -A flowviz.celery worker`.

Configuration comes from Django settings (the CELERY_* names, see settings.py): the broker
is CELERY_BROKER_URL (redis:// for Valkey), results go to django-celery-results. Tasks are
Django-aware (`delay_on_commit`, `apply_async_on_commit`) through DjangoTask.
"""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flowviz.settings")

app = Celery("flowviz", task_cls="celery.contrib.django.task:DjangoTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
