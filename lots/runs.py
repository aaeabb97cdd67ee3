"""What a production run produced: its lots' weight against the run's daily target.

In lots, not in the production app: it reads lots, and lots is the app above production.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Sum

from flowviz.production.models import ProductionRun
from lots.models import Lot


@dataclass(frozen=True)
class RunOutput:
    lot_count: int
    produced_kg: Decimal
    target_kg: Decimal | None

    @property
    def percent_of_target(self) -> Decimal | None:
        if not self.target_kg:
            return None
        return (self.produced_kg / self.target_kg * 100).quantize(Decimal(1))

    def __str__(self) -> str:
        text = f"Produced: {self.produced_kg:.2f} kg"
        if self.target_kg:
            text += f" of {self.target_kg:.2f} kg target ({self.percent_of_target}%)"
        else:
            text += " (no daily target set)"
        return f"{text} in {self.lot_count} lot{'s' if self.lot_count != 1 else ''}"


def production_run_output(run: ProductionRun) -> RunOutput:
    """Total weight of a run's lots against its daily target (one query)."""
    totals = Lot.objects.filter(production_run_id=run.pk).aggregate(
        lot_count=Count("id"), produced=Sum("weight_kg")
    )
    return RunOutput(
        lot_count=totals["lot_count"],
        produced_kg=totals["produced"] or Decimal("0"),
        target_kg=run.daily_target_kg,
    )
