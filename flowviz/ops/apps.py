from django.apps import AppConfig


class OpsConfig(AppConfig):
    """Operations: logging, metrics, the database pool, circuit breakers, and the one table
    they need (the cache generation, flowviz/ops/models.py)."""

    name = "flowviz.ops"
    label = "ops"
    verbose_name = "Operations"
