import json
import uuid
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from flowviz.production.models import Scenario
from flowviz.production.selectors import scenario_export
from flowviz.production.services import CONFIG_META_KEY


class Command(BaseCommand):
    help = (
        "Write a scenario as a scenario file (the format import_scenario reads) to FILE, or to "
        "standard output without FILE. ID is the scenario's UUID, or its file id (meta.id) "
        "when only one version of it exists."
    )

    def add_arguments(self, parser):
        parser.add_argument("id", help="Scenario UUID or meta.id.")
        parser.add_argument("file", nargs="?", help="Output path; standard output if omitted.")

    def handle(self, *args, id: str, file: str | None = None, **options):
        scenario = self._find(id)
        text = json.dumps(scenario_export(scenario), ensure_ascii=False, indent=2) + "\n"
        if file is None:
            self.stdout.write(text, ending="")
            return
        try:
            Path(file).write_text(text, encoding="utf-8")
        except OSError as error:
            raise CommandError(f"{file}: cannot write: {error.strerror}") from error
        self.stderr.write(f"Exported scenario {scenario.pk} ({scenario}) to {file}.")

    def _find(self, key: str) -> Scenario:
        try:
            return Scenario.objects.get(pk=uuid.UUID(key))
        except ValueError:
            pass
        except Scenario.DoesNotExist as error:
            raise CommandError(f"No scenario with id {key}.") from error
        matches = list(Scenario.objects.filter(**{f"config__{CONFIG_META_KEY}__id": key}))
        if not matches:
            raise CommandError(f"No scenario with id {key}.")
        if len(matches) > 1:
            versions = ", ".join(f"{s.version} ({s.pk})" for s in matches)
            raise CommandError(f"Scenario {key} has several versions: {versions}; give the UUID.")
        return matches[0]
