# Loaded with Django so that tasks declared with @shared_task bind to this app.
from flowviz.celery import app as celery_app

__all__ = ("celery_app",)
