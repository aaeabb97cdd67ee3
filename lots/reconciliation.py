"""Mass-balance reconciliation of a recalled lot (issue 15): where its kilograms went.

The model (proportional flow). A lot is treated as well mixed: a child that drew q kg from a
parent weighing W kg carries q / W of everything that is in the parent. The recalled lot R
starts with its own weight W_R of "R kilograms"; walking down the genealogy in topological
order, a lot L holding f kg of R passes f * q / W_L to each child that drew q kg from it. A lot
reached by several paths (a diamond) adds up what each path brings: every path carries its
own share, so no kilogram is counted twice and none is lost. Where the R kilograms end:

- **finished goods**: f of an FG lot stays there (the walk stops at finished goods; an FG lot
  made from another FG lot is not counted again);
- **in process**: f of a lot that nothing has been made from yet (a leaf that is not FG);
- **unaccounted**: the share of a lot's weight that none of its children drew,
  f * (W_L - sum of q) / W_L - waste, yield loss or stock nobody recorded;
- **unknown**: kilograms that reached a lot whose weight is missing (or zero), or the part of
  a lot that its children with a missing quantity and its remainder share - never guessed.

accounted = finished goods + in process; accounted % = accounted / W_R * 100, given only when
every weight and quantity on the way is known (`weights_known`). Lots that gave away more
than they weighed (possible only through the admin or the legacy server) are listed in
`overdrawn_lots`; their children get what they drew, so the total can exceed W_R.

Arithmetic in Decimal at 40 significant digits; every figure is rounded once, at the end, to
0.01 kg (and 0.01 %) half-even. Totals are sums of the unrounded parts, so a list of rounded
parts may differ from its rounded total by a cent per line.

Example (the issue's): R weighs 100 kg; children drew 60 and 30 kg and are finished goods
-> 60 + 30 kg in finished goods, 10 kg unaccounted, 90.00 % accounted for.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from typing import Any

FINISHED_GOODS = "FG"
_KG = Decimal("0.01")
_PRECISION = 40


@dataclass(frozen=True)
class FlowLot:
    id: uuid.UUID
    lot_code: str
    lot_type: str | None
    weight_kg: Decimal | None


@dataclass(frozen=True)
class FlowLink:
    parent_id: uuid.UUID
    child_id: uuid.UUID
    quantity_kg: Decimal | None


def _kg(value: Decimal | None) -> str | None:
    return None if value is None else str(value.quantize(_KG, rounding=ROUND_HALF_EVEN))


def _entries(amounts: dict[uuid.UUID, Decimal], lots: dict[uuid.UUID, FlowLot]) -> list[dict[str, Any]]:
    rows = sorted((lots[lot_id] for lot_id in amounts), key=lambda lot: lot.lot_code)
    return [{"lot_code": lot.lot_code, "lot_type": lot.lot_type, "kg": _kg(amounts[lot.id])} for lot in rows]


def reconcile(*, root_id: uuid.UUID, lots: list[FlowLot], links: list[FlowLink]) -> dict[str, Any]:
    """The reconciliation of the lot `root_id`, given every lot reached going down from it and
    every link from a reached lot to its children (the JSON shape: see lots.schemas)."""
    by_id = {lot.id: lot for lot in lots}
    root = by_id[root_id]
    children: dict[uuid.UUID, list[FlowLink]] = defaultdict(list)
    for link in links:
        children[link.parent_id].append(link)
    direct = sorted(children[root_id], key=lambda link: by_id[link.child_id].lot_code)
    report: dict[str, Any] = {
        "lot_code": root.lot_code,
        "weight_kg": _kg(root.weight_kg),
        "drawn_kg": _kg(sum((link.quantity_kg or Decimal(0) for link in direct), Decimal(0))),
        "drawn_by": [
            {"lot_code": by_id[link.child_id].lot_code, "quantity_used_kg": _kg(link.quantity_kg)}
            for link in direct
        ],
    }
    buckets: dict[str, dict[uuid.UUID, Decimal]] = {
        name: defaultdict(Decimal) for name in ("finished_goods", "in_process", "unaccounted", "unknown")
    }
    missing_weight: set[uuid.UUID] = set()
    missing_quantity: list[FlowLink] = []
    overdrawn: set[uuid.UUID] = set()
    unresolved: set[uuid.UUID] = set()
    if root.weight_kg is None:
        missing_weight.add(root_id)
    else:
        with localcontext(prec=_PRECISION):
            unresolved = _flow(root, by_id, children, buckets, missing_weight, missing_quantity, overdrawn)
    totals = {name: sum(amounts.values(), Decimal(0)) for name, amounts in buckets.items()}
    weights_known = not (missing_weight or missing_quantity or unresolved)
    known_total = root.weight_kg is not None
    accounted = totals["finished_goods"] + totals["in_process"]
    percent = None
    if weights_known and root.weight_kg:
        with localcontext(prec=_PRECISION):
            percent = (accounted / root.weight_kg * 100).quantize(_KG, rounding=ROUND_HALF_EVEN)
    report.update(
        {
            "weights_known": weights_known,
            "lots_without_weight": sorted(by_id[lot_id].lot_code for lot_id in missing_weight),
            "links_without_quantity": sorted(
                (
                    {
                        "parent_lot_code": by_id[link.parent_id].lot_code,
                        "child_lot_code": by_id[link.child_id].lot_code,
                    }
                    for link in missing_quantity
                ),
                key=lambda pair: (pair["parent_lot_code"], pair["child_lot_code"]),
            ),
            "overdrawn_lots": sorted(by_id[lot_id].lot_code for lot_id in overdrawn),
            "lots_in_cycles": sorted(by_id[lot_id].lot_code for lot_id in unresolved),
            "finished_goods_kg": _kg(totals["finished_goods"]) if known_total else None,
            "in_process_kg": _kg(totals["in_process"]) if known_total else None,
            "unaccounted_kg": _kg(totals["unaccounted"]) if known_total else None,
            "unknown_kg": _kg(totals["unknown"]) if known_total else None,
            "accounted_kg": _kg(accounted) if known_total else None,
            "accounted_percent": None if percent is None else str(percent),
            **{name: _entries(amounts, by_id) for name, amounts in buckets.items()},
        }
    )
    return report


def _flow(
    root: FlowLot,
    by_id: dict[uuid.UUID, FlowLot],
    children: dict[uuid.UUID, list[FlowLink]],
    buckets: dict[str, dict[uuid.UUID, Decimal]],
    missing_weight: set[uuid.UUID],
    missing_quantity: list[FlowLink],
    overdrawn: set[uuid.UUID],
) -> set[uuid.UUID]:
    """Push the root's kilograms down in topological order (Kahn); returns the lots a cycle
    kept from being processed (their inflow is counted as unknown)."""
    waiting = defaultdict(int)  # links into a lot not yet processed
    for lot_id in by_id:
        if by_id[lot_id].lot_type == FINISHED_GOODS and lot_id != root.id:
            continue  # the walk stops at finished goods: their own children are not followed
        for link in children[lot_id]:
            waiting[link.child_id] += 1
    inflow: dict[uuid.UUID, Decimal] = defaultdict(Decimal)
    inflow[root.id] = root.weight_kg
    ready = [root.id]
    done: set[uuid.UUID] = set()
    while ready:
        lot_id = ready.pop()
        done.add(lot_id)
        lot, share = by_id[lot_id], inflow[lot_id]
        links = children[lot_id]
        if lot.lot_type == FINISHED_GOODS:
            _add(buckets["finished_goods"], lot_id, share)
            continue
        for link in links:
            waiting[link.child_id] -= 1
            if waiting[link.child_id] == 0:
                ready.append(link.child_id)
        if not links:
            _add(buckets["in_process"], lot_id, share)
            continue
        if not lot.weight_kg:
            missing_weight.add(lot_id)
            _add(buckets["unknown"], lot_id, share)
            continue
        known = [link for link in links if link.quantity_kg is not None]
        drawn = sum((link.quantity_kg for link in known), Decimal(0))
        for link in known:
            inflow[link.child_id] += share * link.quantity_kg / lot.weight_kg
        rest = share * (lot.weight_kg - drawn) / lot.weight_kg
        if drawn > lot.weight_kg:
            overdrawn.add(lot_id)
            rest = Decimal(0)
        if len(known) < len(links):
            missing_quantity.extend(link for link in links if link.quantity_kg is None)
            _add(buckets["unknown"], lot_id, rest)
        else:
            _add(buckets["unaccounted"], lot_id, rest)
    unresolved = {lot_id for lot_id, amount in inflow.items() if lot_id not in done and amount}
    for lot_id in unresolved:
        _add(buckets["unknown"], lot_id, inflow[lot_id])
    return unresolved


def _add(bucket: dict[uuid.UUID, Decimal], lot_id: uuid.UUID, amount: Decimal) -> None:
    # Lots that received nothing of the recalled lot (only through a lot of unknown weight)
    # are left out of the lists rather than shown with 0 kg.
    if amount:
        bucket[lot_id] += amount


RECONCILIATION_CSV_COLUMNS = ("category", "lot_code", "lot_type", "kg", "percent_of_recalled_lot")
_CATEGORIES = (
    ("finished_goods", "finished goods"),
    ("in_process", "in process"),
    ("unaccounted", "unaccounted"),
    ("unknown", "unknown"),
)


def reconciliation_csv_rows(report: dict[str, Any]) -> list[list[str]]:
    """The reconciliation as a sortable table (header first): the recalled lot, one row per lot
    in each category, the totals, then what kept weights from being known (one row each)."""
    weight = None if report["weight_kg"] is None else Decimal(report["weight_kg"])

    def percent(kg: str | None) -> str:
        if kg is None or not weight:
            return ""
        return str((Decimal(kg) / weight * 100).quantize(_KG, rounding=ROUND_HALF_EVEN))

    rows = [list(RECONCILIATION_CSV_COLUMNS)]
    rows.append(
        ["recalled lot", report["lot_code"], "", report["weight_kg"] or "", percent(report["weight_kg"])]
    )
    for key, label in _CATEGORIES:
        rows += [[label, e["lot_code"], e["lot_type"] or "", e["kg"], percent(e["kg"])] for e in report[key]]
    for key, label in (*_CATEGORIES, ("accounted", "accounted")):
        kg = report[f"{key}_kg"]
        rows.append([f"total {label}", "", "", kg or "", percent(kg)])
    rows += [["lot without weight", code, "", "", ""] for code in report["lots_without_weight"]]
    rows += [
        ["link without quantity", f"{pair['parent_lot_code']} -> {pair['child_lot_code']}", "", "", ""]
        for pair in report["links_without_quantity"]
    ]
    rows += [["overdrawn lot", code, "", "", ""] for code in report["overdrawn_lots"]]
    rows += [["lot in a cycle", code, "", "", ""] for code in report["lots_in_cycles"]]
    return rows
