from django.apps import AppConfig


class HttpConfig(AppConfig):
    """The API's HTTP layer; an app only for its one table, the stored answers of idempotent
    writes (flowviz/http/idempotency.py)."""

    name = "flowviz.http"
    label = "http"
    verbose_name = "API"
    default_auto_field = "django.db.models.BigAutoField"
