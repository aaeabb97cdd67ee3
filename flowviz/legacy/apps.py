from django.apps import AppConfig


class LegacyConfig(AppConfig):
    """Adoption of a database created by the legacy server (`manage.py adopt_legacy_database`)."""

    name = "flowviz.legacy"
    label = "legacy"
    verbose_name = "Legacy database adoption"
