import json
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from flowviz.production.services import ScenarioFileError, scenario_import


class Command(BaseCommand):
    stealth_options = ("stdin",)
    help = (
        "Import a scenario file (the frontend's format: meta, i18n, streams, phases, config) as one "
        "scenario with its streams, QC gates and phases. The whole file or nothing: a file with a "
        "problem changes nothing and the command exits with status 1 naming the problem. "
        "Importing a file whose meta.id and meta.version already exist updates that scenario in place."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="Path of the scenario JSON file ('-' reads standard input).")

    def handle(self, *args, file: str, **options):
        if file == "-":
            text, source = options.get("stdin", sys.stdin).read(), "standard input"
        else:
            path = Path(file)
            if not path.is_file():
                raise CommandError(f"{file}: no such file")
            try:
                text, source = path.read_text(encoding="utf-8"), file
            except (OSError, UnicodeDecodeError) as error:
                raise CommandError(f"{file}: cannot read: {error}") from error
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise CommandError(f"{source}: not valid JSON: {error}") from error

        self.stdout.write(f"Importing {source} ...")
        try:
            scenario = scenario_import(data=data)
        except ScenarioFileError as error:
            raise CommandError(f"{source}: nothing imported: {error}") from error
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported scenario {scenario.pk} ({scenario}): {scenario.streams.count()} streams, "
                f"{scenario.qc_gates.count()} QC gates, {scenario.phases.count()} phases."
            )
        )
