"""The scenario editor: a scenario's page edits its streams, QC gates and phases inline."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts.roles import Role
from flowviz.demo.seed import demo_scenario_data
from flowviz.production.models import Phase, Scenario, Stream
from flowviz.production.services import scenario_activate, scenario_import
from quality.models import QcGate
from tests.admin_support import bilingual, formset_data, user_with_role

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("role_groups")]


@pytest.fixture
def manager_client(client):
    client.force_login(user_with_role(Role.MANAGER))
    return client


@pytest.fixture
def scenario():
    return scenario_import(data=demo_scenario_data())


def _other_scenario() -> Scenario:
    data = demo_scenario_data()
    data["meta"]["id"] = "another-factory"
    return scenario_import(data=data)


def _page_data(scenario: Scenario, **changes) -> dict:
    """The change form's POST data as the page shows it, with `changes` applied to rows."""
    streams = [
        {
            "id": str(s.pk),
            "scenario": str(scenario.pk),
            "stream_key": s.stream_key,
            **bilingual("name", s.name["hu"], s.name["en"]),
            "color": s.color or "",
            "sort_order": str(s.sort_order),
        }
        for s in scenario.streams.order_by("sort_order")
    ]
    gates = [
        {
            "id": str(g.pk),
            "scenario": str(scenario.pk),
            "gate_number": str(g.gate_number),
            **bilingual("name", g.name["hu"], g.name["en"]),
            "gate_type": g.gate_type,
            **({"is_ccp": "on"} if g.is_ccp else {}),
            "checklist": "\n".join(g.checklist),
        }
        for g in QcGate.objects.filter(scenario=scenario).order_by("gate_number")
    ]
    phases = [
        {
            "id": str(p.pk),
            "scenario": str(scenario.pk),
            "phase_number": str(p.phase_number),
            **bilingual("name", p.name["hu"], p.name["en"]),
            **bilingual("description", p.description.get("hu", ""), p.description.get("en", "")),
            "stream": str(p.stream_id or ""),
            "qc_gate": str(p.qc_gate_id or ""),
        }
        for p in scenario.phases.order_by("phase_number")
    ]
    rows = {"streams": streams, "qc_gates": gates, "phases": phases}
    for key, (index, values) in changes.items():
        rows[key][index].update(values)
    data = {
        **bilingual("name", scenario.name["hu"], scenario.name["en"]),
        "version": scenario.version,
        "config": __import__("json").dumps(scenario.config),
        "i18n": __import__("json").dumps(scenario.i18n),
        **({"active": "on"} if scenario.is_active else {}),
    }
    for prefix, prefix_rows in rows.items():
        data.update(formset_data(prefix, prefix_rows, initial=len(prefix_rows)))
    return data


def _change_url(scenario: Scenario) -> str:
    return reverse("admin:flowviz_scenario_change", args=[scenario.pk])


def test_the_scenario_page_shows_bilingual_names_as_two_inputs_and_the_checklist_as_lines(
    manager_client, scenario
):
    page = manager_client.get(_change_url(scenario)).content.decode()
    assert 'name="name_hu"' in page and 'name="name_en"' in page
    assert 'name="qc_gates-0-name_hu"' in page and 'name="phases-0-description_en"' in page
    assert "Supplier certificate present\nCore temperature at most 4 °C</textarea>" in page


def test_the_scenario_page_saves_its_streams_gates_and_phases_with_bilingual_names(manager_client, scenario):
    data = _page_data(
        scenario,
        streams=(0, bilingual("name", "A ág", "Stream A")),
        qc_gates=(0, {**bilingual("name", "Bejövő", "Incoming"), "checklist": "One\n\n  Two  \n"}),
        phases=(2, {**bilingual("description", "", ""), "qc_gate": ""}),
    )
    response = manager_client.post(_change_url(scenario), data)
    assert response.status_code == 302, response.context and response.context["errors"]
    assert Stream.objects.get(scenario=scenario, stream_key="A").name == {"hu": "A ág", "en": "Stream A"}
    gate = QcGate.objects.get(scenario=scenario, gate_number=1)
    assert (gate.name, gate.checklist) == ({"hu": "Bejövő", "en": "Incoming"}, ["One", "Two"])
    phase = Phase.objects.get(scenario=scenario, phase_number=2)
    assert (phase.description, phase.qc_gate) == ({}, None)


def test_a_bilingual_name_needs_both_languages(manager_client, scenario):
    data = _page_data(scenario, qc_gates=(0, bilingual("name", "", "Incoming")))
    response = manager_client.post(_change_url(scenario), data)
    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    assert QcGate.objects.get(scenario=scenario, gate_number=1).name["en"] == "Intake check"


def test_a_phase_cannot_use_a_stream_or_gate_of_another_scenario_in_the_editor(manager_client, scenario):
    other = _other_scenario()
    foreign_stream = other.streams.get(stream_key="A")
    foreign_gate = QcGate.objects.get(scenario=other, gate_number=2)
    data = _page_data(
        scenario, phases=(1, {"stream": str(foreign_stream.pk), "qc_gate": str(foreign_gate.pk)})
    )
    response = manager_client.post(_change_url(scenario), data)
    page = response.content.decode()
    assert response.status_code == 200
    assert "Choose one of this scenario&#x27;s streams." in page
    assert "Choose one of this scenario&#x27;s QC gates." in page
    assert Phase.objects.get(scenario=scenario, phase_number=1).stream.scenario_id == scenario.pk


def test_the_phase_page_rejects_a_stream_of_another_scenario_with_a_clear_message(manager_client, scenario):
    other = _other_scenario()
    phase = Phase.objects.get(scenario=scenario, phase_number=1)
    response = manager_client.post(
        reverse("admin:flowviz_phase_change", args=[phase.pk]),
        {
            "scenario": str(scenario.pk),
            "phase_number": "1",
            **bilingual("name", "Á", "I"),
            **bilingual("description", "", ""),
            "stream": str(other.streams.get(stream_key="B").pk),
            "qc_gate": "",
        },
    )
    assert response.status_code == 200
    assert "Stream B belongs to another scenario; a phase can only use a stream of its own scenario." in (
        response.content.decode()
    )


def test_phase_clean_names_a_foreign_gate():
    scenario, other = scenario_import(data=demo_scenario_data()), _other_scenario()
    phase = Phase.objects.get(scenario=scenario, phase_number=3)
    phase.qc_gate = QcGate.objects.get(scenario=other, gate_number=2)
    with pytest.raises(ValidationError) as error:
        phase.full_clean()
    assert error.value.message_dict["qc_gate"] == [
        "QC gate 2 belongs to another scenario; a phase can only use a QC gate of its own scenario."
    ]


def test_a_stream_colour_must_be_hex(manager_client, scenario):
    data = _page_data(scenario, streams=(0, {"color": "orange"}))
    response = manager_client.post(_change_url(scenario), data)
    assert response.status_code == 200
    assert "Enter a colour as #rrggbb" in response.content.decode()


def test_a_new_scenario_is_created_with_its_inline_rows(manager_client):
    data = {**bilingual("name", "Új", "New"), "version": "0.1", "config": "{}", "i18n": "{}"}
    data.update(
        formset_data(
            "streams",
            [
                {
                    "stream_key": "X",
                    **bilingual("name", "X ág", "Stream X"),
                    "color": "#123abc",
                    "sort_order": "0",
                }
            ],
            initial=0,
        )
    )
    data.update(
        formset_data(
            "qc_gates",
            [{"gate_number": "2.5", **bilingual("name", "K", "Check"), "gate_type": "INFO", "checklist": ""}],
            initial=0,
        )
    )
    data.update(
        formset_data(
            "phases",
            [
                {
                    "phase_number": "0",
                    **bilingual("name", "Kezdés", "Start"),
                    **bilingual("description", "", ""),
                }
            ],
            initial=0,
        )
    )
    response = manager_client.post(reverse("admin:flowviz_scenario_add"), data)
    assert response.status_code == 302, response.context and response.context["errors"]
    scenario = Scenario.objects.get(version="0.1")
    assert scenario.name == {"hu": "Új", "en": "New"}
    assert list(scenario.streams.values_list("stream_key", "color")) == [("X", "#123abc")]
    assert str(QcGate.objects.get(scenario=scenario).gate_number) == "2.5"
    assert scenario.phases.get().name == {"hu": "Kezdés", "en": "Start"}


def test_activating_a_scenario_in_the_editor_deactivates_the_other(manager_client, scenario):
    other = _other_scenario()
    scenario_activate(scenario_id=other.pk)
    data = _page_data(scenario)
    data["active"] = "on"
    response = manager_client.post(_change_url(scenario), data)
    assert response.status_code == 302, (
        response.context["adminform"].form.errors,
        [f.formset.errors for f in response.context["inline_admin_formsets"]],
    )
    assert list(Scenario.objects.filter(is_active=True)) == [scenario]


def test_the_activate_action_makes_one_scenario_active(manager_client, scenario):
    other = _other_scenario()
    scenario_activate(scenario_id=scenario.pk)
    response = manager_client.post(
        reverse("admin:flowviz_scenario_changelist"),
        {"action": "activate", "_selected_action": [str(other.pk)]},
    )
    assert response.status_code == 302
    assert list(Scenario.objects.filter(is_active=True)) == [other]
