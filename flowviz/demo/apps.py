from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo data (`manage.py seed_demo`)."""

    name = "flowviz.demo"
    label = "demo"
    verbose_name = "Demo data"
