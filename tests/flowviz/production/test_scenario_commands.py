"""import_scenario / export_scenario / seed_demo: scenario files in the frontend's format."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from flowviz.demo.seed import DEMO_SCENARIO_FILE, demo_scenario_data
from flowviz.production.models import Phase, Scenario, Stream
from flowviz.production.selectors import scenario_export
from flowviz.production.services import ScenarioFileError, scenario_file_validate, scenario_import
from lots.models import Lot
from quality.models import QcDecision, QcGate

ROOT = Path(__file__).resolve().parents[3]
# The factory's scenario file: the spec's copy beside the checkout when it is there, else the
# copy kept with the tests (a clone elsewhere, e.g. CI's, has no ../shared).
SHARED_SCENARIO = ROOT.parent / "shared" / "fixtures" / "doner-kft.json"
KEPT_SCENARIO = ROOT / "tests" / "fixtures" / "doner-kft.json"


def _rows() -> list:
    """Every row a scenario import writes, comparable across imports."""
    return [
        list(Scenario.objects.order_by("pk").values_list("pk", "name", "version", "config", "i18n")),
        list(
            Stream.objects.order_by("pk").values_list(
                "pk", "scenario", "stream_key", "name", "color", "sort_order"
            )
        ),
        list(
            QcGate.objects.order_by("pk").values_list(
                "pk", "scenario", "gate_number", "name", "gate_type", "is_ccp", "checklist"
            )
        ),
        list(
            Phase.objects.order_by("pk").values_list(
                "pk", "scenario", "phase_number", "name", "description", "stream", "qc_gate"
            )
        ),
    ]


def _import(path: Path | str) -> str:
    out = StringIO()
    call_command("import_scenario", str(path), stdout=out)
    return out.getvalue()


def _write(tmp_path: Path, data: object, name: str = "scenario.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.mark.django_db
def test_the_demo_scenario_imports_its_streams_gates_and_phases():
    output = _import(DEMO_SCENARIO_FILE)
    scenario = Scenario.objects.get()
    assert "2 streams, 3 QC gates, 5 phases" in output
    assert scenario.name == {"hu": "FlowViz bemutató gyártás", "en": "FlowViz demo production"}
    assert scenario.config["meta"]["id"] == "flowviz-demo"
    assert list(scenario.streams.values_list("stream_key", "color", "sort_order")) == [
        ("A", "#e8590c", 0),
        ("B", "#1c7ed6", 1),
    ]
    gates = {g.gate_number: g for g in QcGate.objects.filter(scenario=scenario)}
    assert sorted(gates) == [Decimal("1.0"), Decimal("1.5"), Decimal("2.0")]
    assert (gates[Decimal("2.0")].gate_type, gates[Decimal("2.0")].is_ccp) == ("BLOCKING", True)
    assert (gates[Decimal("1.5")].gate_type, gates[Decimal("1.5")].is_ccp) == ("CHECKPOINT", False)
    mixing = scenario.phases.get(phase_number=2)
    assert (mixing.stream.stream_key, mixing.qc_gate.gate_number) == ("B", Decimal("1.5"))
    assert scenario.phases.get(phase_number=0).stream is None


@pytest.mark.django_db
def test_import_export_import_gives_identical_rows_and_a_stable_export(tmp_path):
    _import(DEMO_SCENARIO_FILE)
    scenario = Scenario.objects.get()
    first_rows, first_export = _rows(), scenario_export(scenario)
    assert first_export == demo_scenario_data()

    exported = tmp_path / "exported.json"
    call_command("export_scenario", str(scenario.pk), str(exported), stdout=StringIO(), stderr=StringIO())
    _import(exported)

    assert _rows() == first_rows
    assert scenario_export(Scenario.objects.get()) == first_export


@pytest.mark.django_db
def test_export_writes_to_standard_output_and_finds_a_scenario_by_its_file_id():
    _import(DEMO_SCENARIO_FILE)
    out = StringIO()
    call_command("export_scenario", "flowviz-demo", stdout=out)
    assert json.loads(out.getvalue()) == demo_scenario_data()


@pytest.mark.django_db
def test_export_of_an_unknown_scenario_fails():
    with pytest.raises(CommandError, match="No scenario with id nope"):
        call_command("export_scenario", "nope", stdout=StringIO())


@pytest.mark.django_db
def test_export_reflects_admin_edits_and_reimports_them():
    scenario = scenario_import(data=demo_scenario_data())
    gate = QcGate.objects.get(scenario=scenario, gate_number=1)
    gate.name, gate.checklist = {"hu": "Új", "en": "New"}, ["Only this"]
    gate.save()
    exported = scenario_export(scenario)
    assert exported["config"]["qcGates"][0] == {
        "id": 1,
        "name": {"hu": "Új", "en": "New"},
        "type": "oPRP",
        "checklist": ["Only this"],
    }
    rows = _rows()
    scenario_import(data=exported)
    assert _rows()[1:] == rows[1:]  # streams, gates, phases unchanged; config now names the edit
    assert scenario_export(Scenario.objects.get()) == exported


@pytest.mark.django_db
def test_reimport_updates_the_scenario_in_place(tmp_path):
    _import(DEMO_SCENARIO_FILE)
    ids_before = _rows()
    data = demo_scenario_data()
    data["meta"]["title"]["en"] = "Renamed demo"
    data["phases"][1]["name"]["en"] = "RECEIVING"
    data["streams"]["A"]["name"]["en"] = "Stream A: Intake"
    _import(_write(tmp_path, data))
    assert Scenario.objects.count() == 1
    scenario = Scenario.objects.get()
    assert scenario.name["en"] == "Renamed demo"
    assert scenario.phases.get(phase_number=1).name["en"] == "RECEIVING"
    assert [row[0] for table in _rows() for row in table] == [row[0] for table in ids_before for row in table]


@pytest.mark.django_db
def test_a_new_version_of_a_scenario_is_a_new_scenario(tmp_path):
    _import(DEMO_SCENARIO_FILE)
    data = demo_scenario_data()
    data["meta"]["version"] = "2.0.0"
    _import(_write(tmp_path, data))
    assert sorted(Scenario.objects.values_list("version", flat=True)) == ["1.0.0", "2.0.0"]


@pytest.mark.django_db
def test_a_malformed_file_changes_nothing_and_names_the_problem(tmp_path):
    _import(DEMO_SCENARIO_FILE)
    before = _rows()
    data = demo_scenario_data()
    data["meta"]["title"]["en"] = "Should not be written"
    data["phases"][3]["qcGate"] = 9
    data["phases"][4]["stream"] = "Z"
    data["meta"]["theme"]["streamColors"]["B"] = "blue"
    with pytest.raises(CommandError) as error:
        _import(_write(tmp_path, data))
    message = str(error.value)
    assert "phases[3].qcGate: gate 9 is not in config.qcGates" in message
    assert "phases[4].stream: stream 'Z' is not in streams" in message
    assert "meta.theme.streamColors.B: 'blue' is not a colour like #4a9eff" in message
    assert _rows() == before


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda d: d.pop("phases"), "phases: missing or not a JSON array"),
        (lambda d: d["meta"].pop("id"), "meta.id: missing or not a non-empty string"),
        (
            lambda d: d["config"]["qcGates"].append(copy.deepcopy(d["config"]["qcGates"][0])),
            "gate 1 appears twice",
        ),
        (
            lambda d: d["config"]["qcGates"][1].update(id=1.25),
            "config.qcGates[1].id: 1.25 is not a gate number",
        ),
        (lambda d: d["config"]["qcGates"][0].update(type="SOMETIMES"), "config.qcGates[0].type: 'SOMETIMES'"),
        (lambda d: d["phases"][0].update(name="START"), 'phases[0].name: expected {"hu": ..., "en": ...}'),
        (lambda d: d["phases"][2].update(id=1), "phases[2].id: phase 1 appears twice"),
    ],
)
def test_validation_names_each_kind_of_problem(change, problem):
    data = demo_scenario_data()
    change(data)
    with pytest.raises(ScenarioFileError) as error:
        scenario_file_validate(data)
    assert problem in str(error.value)


@pytest.mark.django_db
def test_a_failure_half_way_through_the_import_rolls_everything_back(tmp_path):
    scenario = scenario_import(data=demo_scenario_data())
    gate = QcGate.objects.get(scenario=scenario, gate_number=2)
    QcDecision.objects.create(lot=Lot.objects.create(lot_code="L-1"), qc_gate=gate, decision="PASS")
    before = _rows()
    data = demo_scenario_data()
    data["meta"]["title"]["en"] = "Written first, then rolled back"
    data["config"]["qcGates"].pop()  # gate 2 has a decision: it cannot be removed
    data["phases"][3]["qcGate"] = None
    with pytest.raises(CommandError, match="A QC gate is no longer in the file but is still used"):
        _import(_write(tmp_path, data))
    assert _rows() == before


@pytest.mark.django_db
def test_a_file_that_is_not_json_is_refused(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(CommandError, match="not valid JSON"):
        _import(path)
    assert Scenario.objects.count() == 0


def test_the_command_exits_non_zero_naming_the_problem(tmp_path):
    data = demo_scenario_data()
    data["phases"][3]["qcGate"] = 9
    path = _write(tmp_path, data)
    env = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        # The file is refused before the database is touched.
        "DATABASE_URL": os.environ["DATABASE_URL"],
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "import_scenario", str(path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert "phases[3].qcGate: gate 9 is not in config.qcGates" in result.stderr


def test_every_command_has_help():
    for command in ("import_scenario", "export_scenario", "seed_demo", "create_user"):
        result = subprocess.run(
            [sys.executable, "manage.py", command, "--help"],
            cwd=ROOT,
            env={
                "PATH": "/usr/bin:/bin",
                "DJANGO_SETTINGS_MODULE": "tests.settings",
                "DATABASE_URL": os.environ["DATABASE_URL"],
            },
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        assert "usage: manage.py " + command in result.stdout


@pytest.mark.django_db
def test_seed_demo_imports_the_demo_scenario_once_and_activates_it():
    call_command("seed_demo", stdout=StringIO())
    scenario = Scenario.objects.get()
    assert scenario.is_active and scenario.config["meta"]["id"] == "flowviz-demo"
    gate = QcGate.objects.get(scenario=scenario, gate_number=1)
    gate.name = {"hu": "Kézi", "en": "Edited by a manager"}
    gate.save()
    rows = _rows()
    call_command("seed_demo", stdout=StringIO())
    assert _rows() == rows


def test_the_kept_scenario_file_is_the_specs_copy_when_that_is_present():
    scenario_file = SHARED_SCENARIO if SHARED_SCENARIO.is_file() else KEPT_SCENARIO
    assert scenario_file.read_bytes() == KEPT_SCENARIO.read_bytes()


@pytest.mark.django_db
def test_the_factory_scenario_file_imports_to_3_streams_8_gates_and_11_phases():
    _import(KEPT_SCENARIO)
    scenario = Scenario.objects.get()
    assert (
        scenario.streams.count(),
        QcGate.objects.filter(scenario=scenario).count(),
        scenario.phases.count(),
    ) == (
        3,
        8,
        11,
    )
    assert QcGate.objects.filter(scenario=scenario, gate_number=Decimal("6.5")).exists()
    freeze = QcGate.objects.get(scenario=scenario, gate_number=7)
    assert (freeze.gate_type, freeze.is_ccp) == ("BLOCKING", True)
    original = json.loads(KEPT_SCENARIO.read_text(encoding="utf-8"))
    assert scenario_export(scenario) == original
