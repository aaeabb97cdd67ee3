"""Mock-recall drills (issue 15): `manage.py mock_recall` and the admin's "Run mock recall"
action record a timed drill with its files; the admin lists drills read-only with downloads."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.core.management import call_command
from django.urls import reverse

from accounts.roles import Role
from lots.models import Lot, RecallDrill
from tests.admin_support import PASSWORD, user_with_role

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("role_groups")]

FILE_NAMES = ("recall-json", "recall-csv", "reconciliation-csv", "fsma204-csv")


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("mock_recall", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_the_command_records_a_timed_drill_and_writes_its_files(demo, tmp_path):
    out, err = run("RAW-BEEF-001", "--out", str(tmp_path / "drill"))
    drill = RecallDrill.objects.get()
    assert (drill.lot.lot_code, drill.lot_code, drill.source) == ("RAW-BEEF-001", "RAW-BEEF-001", "command")
    assert drill.duration_ms > 0 and drill.run_by_name  # the system user who ran it
    assert (drill.genealogy_lot_count, drill.fg_lot_count, str(drill.fg_weight_kg)) == (3, 1, "530.00")
    assert (str(drill.accounted_percent), drill.weights_known) == ("98.15", True)
    assert "Walking the genealogy down from RAW-BEEF-001" in err and "rows for 3 lots" in err
    assert out.startswith(
        "Mock recall of RAW-BEEF-001: 1 finished-goods lots (530.00 kg) in a genealogy of 3 lots; "
        "98.15% of the lot's weight accounted for;"
    )
    written = {path.name: path.read_bytes().decode() for path in (tmp_path / "drill").iterdir()}
    assert written == {
        "recall-RAW-BEEF-001.json": drill.recall_json,
        "recall-RAW-BEEF-001.csv": drill.recall_csv,
        "reconciliation-RAW-BEEF-001.csv": drill.reconciliation_csv,
        "fsma204-RAW-BEEF-001.csv": drill.fsma204_csv,
    }
    report = json.loads(drill.recall_json)
    assert report["reconciliation"]["accounted_percent"] == "98.15"
    assert [row["lot_code"] for row in csv.DictReader(io.StringIO(drill.recall_csv))] == ["FG-DONER-X1"]
    assert drill.fsma204_csv.startswith("\ufeffCritical Tracking Event,")


def test_the_command_records_who_ran_it_when_told(demo):
    run("FG-DONER-X1", "--user", "auditor@flowviz.com")
    drill = RecallDrill.objects.get()
    assert (drill.run_by.email, drill.run_by_name) == ("auditor@flowviz.com", "auditor@flowviz.com")


# --- The admin: the action on lots, and the drills --------------------------------------------


@pytest.fixture
def auditor_client(client):
    """An auditor signed in through the admin's login form."""
    user = user_with_role(Role.AUDITOR)
    response = client.post(reverse("admin:login"), {"username": user.email, "password": PASSWORD})
    assert response.status_code == 302
    client.user = user
    return client


def test_run_mock_recall_records_a_drill_per_selected_lot(demo, auditor_client):
    lots = Lot.objects.filter(lot_code__in=["RAW-BEEF-001", "MIX-BATCH-88"])
    changelist = reverse("admin:lots_lot_changelist")
    assert 'value="run_mock_recall"' in auditor_client.get(changelist).content.decode()
    response = auditor_client.post(
        changelist,
        {"action": "run_mock_recall", "_selected_action": [str(lot.pk) for lot in lots]},
        follow=True,
    )
    assert response.status_code == 200
    drills = {drill.lot_code: drill for drill in RecallDrill.objects.all()}
    assert set(drills) == {"RAW-BEEF-001", "MIX-BATCH-88"}
    for drill in drills.values():
        assert (drill.source, drill.run_by, drill.run_by_name) == (
            "admin",
            auditor_client.user,
            auditor_client.user.email,
        )
        assert drill.duration_ms > 0
    page = response.content.decode()
    assert "Mock recall of MIX-BATCH-88: 1 finished-goods lots (530.00 kg)" in page
    assert reverse("admin:lots_recalldrill_change", args=[drills["RAW-BEEF-001"].pk]) in page


def test_drills_are_listed_read_only_and_each_file_downloads_again(demo, auditor_client):
    run("RAW-BEEF-001")
    drill = RecallDrill.objects.get()
    listing = auditor_client.get(reverse("admin:lots_recalldrill_changelist")).content.decode()
    assert "RAW-BEEF-001" in listing
    page = auditor_client.get(reverse("admin:lots_recalldrill_change", args=[drill.pk])).content.decode()
    assert 'name="_save"' not in page and "fsma204-RAW-BEEF-001.csv" in page
    for name in FILE_NAMES:
        url = reverse("admin:lots_recalldrill_download", args=[drill.pk, name])
        assert url in page
        response = auditor_client.get(url)
        assert response.status_code == 200
        assert response["Content-Disposition"].startswith('attachment; filename="')
        field = name.replace("-", "_")
        assert response.content.decode() == getattr(drill, field)
    assert auditor_client.get(reverse("admin:lots_recalldrill_add")).status_code == 403
    delete = reverse("admin:lots_recalldrill_delete", args=[drill.pk])
    assert auditor_client.post(delete, {"post": "yes"}).status_code == 403
    assert RecallDrill.objects.exists()


def test_a_manager_sees_drills_and_an_unknown_file_is_404(demo, client):
    run("RAW-BEEF-001")
    drill = RecallDrill.objects.get()
    client.force_login(user_with_role(Role.MANAGER))
    assert client.get(reverse("admin:lots_recalldrill_changelist")).status_code == 200
    assert (
        client.get(reverse("admin:lots_recalldrill_download", args=[drill.pk, "secrets"])).status_code == 404
    )
