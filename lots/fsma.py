"""The FSMA 204 sortable spreadsheet of a lot's genealogy (US Food Traceability Rule, 21 CFR 1
subpart S): the key data elements (KDEs) of its critical tracking events (CTEs).

FlowViz records two kinds of event: **receiving** (a lot without parents: it came into the
plant) and **transformation** (a lot made from parent lots). The spreadsheet has one row per
receiving event and one row per input of a transformation (the event's own KDEs repeated on
each of its rows): sortable and filterable on any column, no merged cells, no multi-line
cells - filtering on an input lot code finds every transformation that used it.

Column headers. The FDA publishes an example "electronic sortable spreadsheet" template
(https://www.fda.gov/media/179617/download, linked from
https://www.fda.gov/food/food-safety-modernization-act-fsma/fsma-final-rule-requirements-additional-traceability-records-certain-foods);
its exact headers could not be consulted when this was written, so the headers are the KDE
names of the rule itself: 21 CFR 1.1345(a) (receiving: traceability lot code; quantity and
unit of measure; product description; location description for where the food was
received; date received; reference document type and reference document number) and
21 CFR 1.1350(a) (transformation: for each food used, its traceability lot code, product
description and the quantity and unit of measure used; for the food produced, the new
traceability lot code, the location description for where it was transformed, the date
transformation was completed, product description, quantity and unit of measure, and the
reference document type and number), https://www.ecfr.gov/current/title-21/chapter-I/subchapter-A/part-1/subpart-S.
The FDA calls its template illustrative, not mandatory; the rule's KDEs are what it asks for.

What FlowViz fills in: the lot code is the traceability lot code; the lot type is the
product description (lots carry no product name); quantities are the lots' weights and the
quantities drawn, in kg; the location is the facility (settings FACILITY_NAME,
FACILITY_ADDRESS); the event date is the lot's creation date (UTC); the reference document
is the lot's production run ("Production run", run code) or, without one, the lot record
itself ("Lot record", lot id). Unknown values are left empty, never guessed.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings

from lots.models import LotType
from lots.selectors import genealogy_events

RECEIVING = "Receiving"
TRANSFORMATION = "Transformation"
UNIT = "kg"

COLUMNS = (
    "Critical Tracking Event",
    "Traceability Lot Code",
    "Product Description",
    "Quantity",
    "Unit of Measure",
    "Location Description",
    "Event Date",
    "Reference Document Type",
    "Reference Document Number",
    "Input Traceability Lot Code",
    "Input Product Description",
    "Input Quantity Used",
    "Input Unit of Measure",
)


def _product(lot_type: str | None) -> str:
    return LotType(lot_type).label if lot_type in LotType.values else "Unspecified lot type"


def _quantity(value: Decimal | None) -> str:
    return "" if value is None else format(value, "f")


def location_description() -> str:
    """The facility where every FlowViz event happens: name, then address when set."""
    return ", ".join(part for part in (settings.FACILITY_NAME, settings.FACILITY_ADDRESS) if part)


def fsma204_rows(*, lot_code: str) -> list[list[str]] | None:
    """The spreadsheet's rows (header first) for the genealogy of `lot_code` in both
    directions, by event date, lot code and input code; None when no lot has that code."""
    events = genealogy_events(lot_code=lot_code)
    if events is None:
        return None
    location = location_description()
    rows = []
    for event in events:
        own = [
            event.lot_code,
            _product(event.lot_type),
            _quantity(event.weight_kg),
            UNIT if event.weight_kg is not None else "",
            location,
            event.created_at.date().isoformat(),
            "Production run" if event.run_code else "Lot record",
            event.run_code or str(event.lot_id),
        ]
        if not event.inputs:
            rows.append([RECEIVING, *own, "", "", "", ""])
        for used in event.inputs:
            rows.append(
                [
                    TRANSFORMATION,
                    *own,
                    used.lot_code,
                    _product(used.lot_type),
                    _quantity(used.quantity_kg),
                    UNIT if used.quantity_kg is not None else "",
                ]
            )
    rows.sort(key=lambda row: (row[6], row[1], row[9]))
    return [list(COLUMNS), *rows]
