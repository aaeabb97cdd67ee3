"""`manage.py generate_factory --lots N`: a synthetic genealogy for benchmarks and demos."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from lots.factory import factory_generate


class Command(BaseCommand):
    help = "Generate a synthetic factory genealogy (RAW -> ... -> FG) with bulk inserts."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--lots", type=int, required=True, help="number of lots to create")
        parser.add_argument("--seed", type=int, default=1, help="random seed (same seed, same shape)")
        parser.add_argument("--prefix", default="GEN", help="lot code prefix; unique per run")

    def handle(self, *args, lots: int, seed: int, prefix: str, **options) -> None:
        try:
            result = factory_generate(lots=lots, seed=seed, prefix=prefix)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        layers = ", ".join(f"{name} {size}" for name, size in result.layer_sizes.items())
        self.stdout.write(
            f"generated {result.lots} lots and {result.links} links in {result.seconds:.1f} s ({layers})"
        )
