from django.apps import AppConfig


class ProductionConfig(AppConfig):
    name = "flowviz.production"
    # The label the app had when it was the `flowviz` package itself: its tables, migration
    # history, content types and admin permissions are recorded under it.
    label = "flowviz"
    verbose_name = "Production configuration"
    default_auto_field = "django.db.models.BigAutoField"
