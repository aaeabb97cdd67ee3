"""The admin as a whole: named FlowViz, column titles with their units."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.roles import Role
from flowviz.production.models import ProductionRun
from lots.models import Lot
from quality.models import QcDecision
from tests.admin_support import user_with_role

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("role_groups")]


@pytest.fixture
def auditor_client(client):
    client.force_login(user_with_role(Role.AUDITOR))
    return client


def column_titles(client, url_name: str) -> list[str]:
    """The column titles of a change list, as the page shows them."""
    page = client.get(reverse(url_name)).content.decode()
    results = page[page.index('<table id="result_list">') :]
    return [
        re.sub(r"<[^>]+>", "", title).strip()
        for title in re.findall(r'<div class="text">(.*?)</div>', results)
    ]


def test_the_login_page_is_titled_flowviz_administration(client):
    page = client.get(reverse("admin:login")).content.decode()
    assert "FlowViz administration" in page and "<title>Log in | FlowViz admin</title>" in page
    assert "Django administration" not in page


def test_the_lot_list_gives_weight_and_temperature_with_their_units(auditor_client, demo):
    titles = column_titles(auditor_client, "admin:lots_lot_changelist")
    assert {"Weight (kg)", "Temperature (°C)"} <= set(titles), titles


def test_the_genealogy_link_list_gives_the_quantity_used_in_kg(auditor_client, demo):
    assert "Quantity used (kg)" in column_titles(auditor_client, "admin:lots_lotgenealogy_changelist")


def test_the_production_run_list_gives_target_and_output_in_kg(auditor_client):
    ProductionRun.objects.create(run_code="PRD-20260101-A", daily_target_kg=Decimal("1000"))
    titles = column_titles(auditor_client, "admin:flowviz_productionrun_changelist")
    assert {"Daily target (kg)", "Produced (kg)"} <= set(titles), titles


def test_the_qc_decision_list_gives_the_temperature_in_celsius_and_names_the_qc_gate(auditor_client, demo):
    QcDecision.objects.create(lot=Lot.objects.get(lot_code="MIX-BATCH-88"), decision="PASS")
    titles = column_titles(auditor_client, "admin:quality_qcdecision_changelist")
    assert {"Temperature (°C)", "QC gate"} <= set(titles), titles


def test_a_lot_page_labels_its_fields_with_their_units(auditor_client, demo):
    lot = Lot.objects.get(lot_code="MIX-BATCH-88")
    page = auditor_client.get(reverse("admin:lots_lot_change", args=[lot.pk])).content.decode()
    assert "Weight (kg):" in page and "Temperature (°C):" in page
