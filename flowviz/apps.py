from django.apps import AppConfig


class FlowvizConfig(AppConfig):
    name = "flowviz"
    verbose_name = "Production configuration"
    default_auto_field = "django.db.models.BigAutoField"
