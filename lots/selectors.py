"""Reads of lots and their genealogy, returning plain data (dicts, lists, strings, None).

Plain data so that the API serializes it directly and a cache can store it as it is.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.db.models import Q

from lots.models import Lot, LotGenealogy, LotType

# The columns' scales: numeric(10,2) weights and quantities, numeric(5,1) temperatures.
_KG = Decimal("0.01")
_CELSIUS = Decimal("0.1")


def decimal_text(value: Decimal | None, scale: Decimal) -> str | None:
    """A decimal as the contract sends it: a string with the column's scale ("540.00")."""
    return None if value is None else format(Decimal(value).quantize(scale), "f")


def timestamp_text(value: datetime) -> str:
    """ISO 8601 in UTC ending in Z."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _uuid_text(value: uuid.UUID | None) -> str | None:
    return None if value is None else str(value)


def lot_as_dict(lot: Lot) -> dict[str, Any]:
    """The contract's Lot shape (ten keys) as plain data."""
    return {
        "id": str(lot.id),
        "lot_code": lot.lot_code,
        "lot_type": lot.lot_type,
        "production_run_id": _uuid_text(lot.production_run_id),
        "phase_id": _uuid_text(lot.phase_id),
        "operator_id": _uuid_text(lot.operator_id),
        "weight_kg": decimal_text(lot.weight_kg, _KG),
        "temperature_c": decimal_text(lot.temperature_c, _CELSIUS),
        "metadata": lot.metadata if lot.metadata is not None else {},
        "created_at": timestamp_text(lot.created_at),
    }


def link_as_dict(link: LotGenealogy) -> dict[str, Any]:
    return {
        "id": str(link.id),
        "parent_lot_id": str(link.parent_lot_id),
        "child_lot_id": str(link.child_lot_id),
        "quantity_used_kg": decimal_text(link.quantity_used_kg, _KG),
        "linked_at": timestamp_text(link.linked_at),
    }


def lot_list(
    *,
    limit: int = 100,
    offset: int = 0,
    lot_type: LotType | str | None = None,
    production_run_id: uuid.UUID | None = None,
    code_prefix: str | None = None,
) -> list[dict[str, Any]]:
    """Lots, newest first (ties by code, so pages are stable)."""
    lots = Lot.objects.all()
    if lot_type is not None:
        lots = lots.filter(lot_type=lot_type)
    if production_run_id is not None:
        lots = lots.filter(production_run_id=production_run_id)
    if code_prefix:
        lots = lots.filter(lot_code__startswith=code_prefix)
    lots = lots.order_by("-created_at", "lot_code")[offset : offset + limit]
    return [lot_as_dict(lot) for lot in lots]


def lot_get(*, lot_code: str) -> dict[str, Any] | None:
    lot = Lot.objects.all().filter(lot_code=lot_code).first()
    return None if lot is None else lot_as_dict(lot)


def lot_id_for_code(*, lot_code: str) -> uuid.UUID | None:
    return Lot.objects.filter(lot_code=lot_code).values_list("id", flat=True).first()


def lot_traceability_one_step(*, lot_code: str) -> dict[str, Any] | None:
    """One step back and one forward: {"central", "parents", "children"}; None if no such lot.

    Two queries: the lot, then its links in both directions with the lot at the other end.
    """
    central = Lot.objects.all().filter(lot_code=lot_code).first()
    if central is None:
        return None
    links = LotGenealogy.objects.filter(
        Q(child_lot_id=central.pk) | Q(parent_lot_id=central.pk)
    ).select_related("parent_lot", "child_lot")
    parents: list[dict[str, Any]] = []
    children: list[dict[str, Any]] = []
    for link in links:
        if link.child_lot_id == central.pk:
            parents.append(lot_as_dict(link.parent_lot))
        else:
            children.append(lot_as_dict(link.child_lot))
    parents.sort(key=lambda lot: lot["lot_code"])
    children.sort(key=lambda lot: lot["lot_code"])
    return {"central": lot_as_dict(central), "parents": parents, "children": children}


def lots_by_ids(ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Lot]:
    return {lot.pk: lot for lot in Lot.objects.filter(pk__in=list(ids))}
