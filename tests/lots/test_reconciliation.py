"""Mass-balance reconciliation of GET /api/recall/{code} (issue 15), with known numbers."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from django.test import Client

from accounts.roles import Role
from lots.models import Lot, LotGenealogy, LotType
from lots.reconciliation import FlowLink, FlowLot, reconcile, reconciliation_csv_rows
from tests.api_support import demo_user, get_json

pytestmark = pytest.mark.django_db

FG = LotType.FG


def lots_with(weights: dict[str, str | None], types: dict[str, str] | None = None) -> dict[str, Lot]:
    types = types or {}
    return {
        code: Lot.objects.create(
            lot_code=code,
            lot_type=types.get(code, LotType.MIX),
            weight_kg=None if weight is None else Decimal(weight),
        )
        for code, weight in weights.items()
    }


def links(*rows: tuple[str, str, str | None]) -> None:
    for parent, child, quantity in rows:
        LotGenealogy.objects.create(
            parent_lot=Lot.objects.get(lot_code=parent),
            child_lot=Lot.objects.get(lot_code=child),
            quantity_used_kg=None if quantity is None else Decimal(quantity),
        )


def reconciliation(code: str) -> dict:
    response = get_json(Client(), f"/api/recall/{code}", demo_user(Role.AUDITOR))
    assert response.status_code == 200
    return response.json()["reconciliation"]


def kg(entries: list[dict]) -> dict[str, str]:
    return {entry["lot_code"]: entry["kg"] for entry in entries}


def test_100_kg_split_60_30_with_10_unaccounted_is_90_percent_accounted_for(demo):
    lots_with({"R": "100.00", "FG-A": "60.00", "FG-B": "30.00"}, {"FG-A": FG, "FG-B": FG})
    links(("R", "FG-A", "60.00"), ("R", "FG-B", "30.00"))
    body = reconciliation("R")
    assert (body["weight_kg"], body["drawn_kg"]) == ("100.00", "90.00")
    assert body["drawn_by"] == [
        {"lot_code": "FG-A", "quantity_used_kg": "60.00"},
        {"lot_code": "FG-B", "quantity_used_kg": "30.00"},
    ]
    assert kg(body["finished_goods"]) == {"FG-A": "60.00", "FG-B": "30.00"}
    assert kg(body["unaccounted"]) == {"R": "10.00"}
    assert (body["finished_goods_kg"], body["in_process_kg"], body["unaccounted_kg"]) == (
        "90.00",
        "0.00",
        "10.00",
    )
    assert (body["accounted_kg"], body["accounted_percent"], body["weights_known"]) == (
        "90.00",
        "90.00",
        True,
    )


def test_kilograms_follow_each_link_in_proportion_down_to_finished_goods_and_lots_in_process(demo):
    # R 100 kg: MIX drew 80 kg of it (MIX weighs 200 kg: 120 kg came from elsewhere).
    # MIX 200 kg: FG drew 150 kg (holding 150 x 80/200 = 60 kg of R); SKW drew 40 kg (16 kg
    # of R) and nothing is made from SKW yet; MIX kept 10 kg (4 kg of R): unaccounted.
    lots_with(
        {"R": "100.00", "OTHER": "500.00", "MIX": "200.00", "FG": "150.00", "SKW": "40.00"},
        {"R": LotType.RAW, "OTHER": LotType.RAW, "FG": FG, "SKW": LotType.SKW},
    )
    links(("R", "MIX", "80.00"), ("OTHER", "MIX", "120.00"), ("MIX", "FG", "150.00"), ("MIX", "SKW", "40.00"))
    body = reconciliation("R")
    assert kg(body["finished_goods"]) == {"FG": "60.00"}
    assert kg(body["in_process"]) == {"SKW": "16.00"}
    assert kg(body["unaccounted"]) == {"R": "20.00", "MIX": "4.00"}
    assert (body["accounted_kg"], body["accounted_percent"]) == ("76.00", "76.00")
    lots = get_json(Client(), "/api/recall/R", demo_user(Role.AUDITOR)).json()["lots"]
    assert [(e["lot"]["lot_code"], e["recalled_kg"]) for e in lots] == [("FG", "60.00")]


def test_a_diamond_counts_each_path_once_and_no_kilogram_twice(demo):
    # R 100 kg -> A (50) and B (50) -> both wholly into D (FG, 100 kg).
    lots_with({"R": "100.00", "A": "50.00", "B": "50.00", "D": "100.00"}, {"D": FG})
    links(("R", "A", "50.00"), ("R", "B", "50.00"), ("A", "D", "50.00"), ("B", "D", "50.00"))
    body = reconciliation("R")
    assert kg(body["finished_goods"]) == {"D": "100.00"}
    assert (body["finished_goods_kg"], body["unaccounted_kg"], body["accounted_percent"]) == (
        "100.00",
        "0.00",
        "100.00",
    )


def test_a_lot_without_weight_is_reported_never_guessed(demo):
    lots_with({"R": "100.00", "MIX": None, "FG": "50.00"}, {"FG": FG})
    links(("R", "MIX", "100.00"), ("MIX", "FG", "50.00"))
    body = reconciliation("R")
    assert (body["weights_known"], body["lots_without_weight"]) == (False, ["MIX"])
    assert (body["unknown_kg"], body["accounted_percent"]) == ("100.00", None)
    assert body["finished_goods"] == []
    lots = get_json(Client(), "/api/recall/R", demo_user(Role.AUDITOR)).json()["lots"]
    assert [(e["lot"]["lot_code"], e["recalled_kg"]) for e in lots] == [("FG", None)]


def test_a_recalled_lot_without_weight_has_no_figures(demo):
    lots_with({"R": None, "FG": "50.00"}, {"FG": FG})
    links(("R", "FG", "50.00"))
    body = reconciliation("R")
    assert (body["weight_kg"], body["weights_known"], body["lots_without_weight"]) == (None, False, ["R"])
    assert [body[key] for key in ("finished_goods_kg", "accounted_kg", "accounted_percent")] == [None] * 3


def test_a_link_without_quantity_leaves_the_rest_of_its_parent_unknown(demo):
    lots_with({"R": "100.00", "FG-A": "40.00", "FG-B": "10.00"}, {"FG-A": FG, "FG-B": FG})
    links(("R", "FG-A", "40.00"), ("R", "FG-B", None))
    body = reconciliation("R")
    assert body["links_without_quantity"] == [{"parent_lot_code": "R", "child_lot_code": "FG-B"}]
    assert kg(body["finished_goods"]) == {"FG-A": "40.00"}
    assert (body["unknown_kg"], body["unaccounted_kg"], body["accounted_percent"]) == ("60.00", "0.00", None)


def test_the_demo_mix_loses_yield_in_proportion():
    # Pure model, demo numbers: 500 kg of beef in the 540 kg mix, the FG lot drew 530 kg.
    ids = {code: uuid.uuid4() for code in ("BEEF", "MIX", "FG")}
    report = reconcile(
        root_id=ids["BEEF"],
        lots=[
            FlowLot(ids["BEEF"], "BEEF", "RAW", Decimal("500.00")),
            FlowLot(ids["MIX"], "MIX", "MIX", Decimal("540.00")),
            FlowLot(ids["FG"], "FG", "FG", Decimal("530.00")),
        ],
        links=[
            FlowLink(ids["BEEF"], ids["MIX"], Decimal("500.00")),
            FlowLink(ids["MIX"], ids["FG"], Decimal("530.00")),
        ],
    )
    # 500 x 530/540 = 490.7407... and 500 x 10/540 = 9.2592...: rounded once, half-even.
    assert (report["finished_goods_kg"], report["unaccounted_kg"]) == ("490.74", "9.26")
    assert report["accounted_percent"] == "98.15"


def test_an_overdrawn_lot_is_flagged():
    ids = {code: uuid.uuid4() for code in ("R", "FG")}
    report = reconcile(
        root_id=ids["R"],
        lots=[FlowLot(ids["R"], "R", "RAW", Decimal("10.00")), FlowLot(ids["FG"], "FG", "FG", Decimal("12"))],
        links=[FlowLink(ids["R"], ids["FG"], Decimal("12.00"))],
    )
    assert (report["overdrawn_lots"], report["finished_goods_kg"], report["unaccounted_kg"]) == (
        ["R"],
        "12.00",
        "0.00",
    )


def test_the_reconciliation_table_has_every_category_and_the_totals(demo):
    lots_with({"R": "100.00", "FG-A": "60.00", "FG-B": "30.00"}, {"FG-A": FG, "FG-B": FG})
    links(("R", "FG-A", "60.00"), ("R", "FG-B", "30.00"))
    rows = reconciliation_csv_rows(reconciliation("R"))
    assert rows[0] == ["category", "lot_code", "lot_type", "kg", "percent_of_recalled_lot"]
    assert ["recalled lot", "R", "", "100.00", "100.00"] in rows
    assert ["finished goods", "FG-A", "FG", "60.00", "60.00"] in rows
    assert ["unaccounted", "R", "MIX", "10.00", "10.00"] in rows
    assert ["total accounted", "", "", "90.00", "90.00"] in rows
