"""A user's role decides what the admin lets them do: real logged-in admin requests."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import User
from accounts.roles import Role
from accounts.services import user_create, user_set_role
from lots.models import Lot
from quality.models import QcDecision, QcGate
from tests.admin_support import PASSWORD, bilingual, user_with_role

pytestmark = pytest.mark.usefixtures("role_groups")


@pytest.fixture
def world(demo):
    """The demo data, a QC gate of the demo scenario and one QC decision."""
    from flowviz.production.models import Scenario

    scenario = Scenario.objects.get(config__meta__id="flowviz-demo")
    gate = QcGate.objects.get(scenario=scenario, gate_number=1)
    lot = Lot.objects.get(lot_code="MIX-BATCH-88")
    decision = QcDecision.objects.create(lot=lot, qc_gate=gate, decision="HOLD", notes="too warm")
    return {"scenario": scenario, "gate": gate, "lot": lot, "decision": decision}


def _pages(world) -> dict[str, str]:
    return {
        "index": reverse("admin:index"),
        "scenario changelist": reverse("admin:flowviz_scenario_changelist"),
        "scenario add": reverse("admin:flowviz_scenario_add"),
        "scenario change": reverse("admin:flowviz_scenario_change", args=[world["scenario"].pk]),
        "qcgate change": reverse("admin:quality_qcgate_change", args=[world["gate"].pk]),
        "lot changelist": reverse("admin:lots_lot_changelist"),
        "lot change": reverse("admin:lots_lot_change", args=[world["lot"].pk]),
        "qcdecision changelist": reverse("admin:quality_qcdecision_changelist"),
        "qcdecision change": reverse("admin:quality_qcdecision_change", args=[world["decision"].pk]),
        "user changelist": reverse("admin:accounts_user_changelist"),
    }


LOGIN = "login"
EXPECTED = {
    Role.ADMIN: dict.fromkeys(
        [
            "index",
            "scenario changelist",
            "scenario add",
            "scenario change",
            "qcgate change",
            "lot changelist",
            "lot change",
            "qcdecision changelist",
            "qcdecision change",
            "user changelist",
        ],
        200,
    ),
    Role.MANAGER: {
        "index": 200,
        "scenario changelist": 200,
        "scenario add": 200,
        "scenario change": 200,
        "qcgate change": 200,
        "lot changelist": 200,
        "lot change": 200,
        "qcdecision changelist": 200,
        "qcdecision change": 200,
        "user changelist": 403,
    },
    Role.AUDITOR: {
        "index": 200,
        "scenario changelist": 200,
        "scenario add": 403,
        "scenario change": 200,
        "qcgate change": 200,
        "lot changelist": 200,
        "lot change": 200,
        "qcdecision changelist": 200,
        "qcdecision change": 200,
        "user changelist": 200,
    },
    Role.OPERATOR: {},  # every page: redirect to the login page
    Role.VIEWER: {},
}


@pytest.mark.django_db
@pytest.mark.parametrize("role", list(EXPECTED))
def test_each_role_gets_its_admin_pages_and_no_others(client, world, role):
    client.force_login(user_with_role(role))
    answers = {}
    for page, url in _pages(world).items():
        response = client.get(url)
        if response.status_code == 302 and response["Location"].startswith(reverse("admin:login")):
            answers[page] = LOGIN
        else:
            answers[page] = response.status_code
    expected = EXPECTED[role] or dict.fromkeys(_pages(world), LOGIN)
    assert answers == expected


@pytest.mark.django_db
def test_anonymous_visitors_are_sent_to_the_login_page(client, world):
    for url in _pages(world).values():
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))


@pytest.mark.django_db
def test_admin_login_takes_the_api_account_email_and_password(client):
    user_with_role(Role.MANAGER, email="maria@example.com")
    response = client.post(
        reverse("admin:login"), {"username": "Maria@Example.com", "password": PASSWORD, "next": "/admin/"}
    )
    assert response.status_code == 302 and response["Location"] == "/admin/"
    assert client.get(reverse("admin:index")).status_code == 200


@pytest.mark.django_db
def test_an_operator_cannot_log_in_to_the_admin_even_with_the_right_password(client):
    user_with_role(Role.OPERATOR, email="olga@example.com")
    response = client.post(reverse("admin:login"), {"username": "olga@example.com", "password": PASSWORD})
    assert response.status_code == 200
    assert "staff account" in response.content.decode()


@pytest.mark.django_db
def test_changing_a_role_moves_the_user_to_that_roles_group():
    user = user_create(email="ron@example.com", role=Role.MANAGER)
    assert list(user.groups.values_list("name", flat=True)) == ["Manager"]
    user_set_role(user=user, role=Role.AUDITOR)
    assert list(user.groups.values_list("name", flat=True)) == ["Auditor"]
    user_set_role(user=user, role=Role.OPERATOR)
    user.refresh_from_db()
    assert (list(user.groups.all()), user.is_staff) == ([], False)


@pytest.mark.django_db
def test_a_role_changed_in_the_admin_form_changes_the_admin_rights(client):
    client.force_login(user_with_role(Role.ADMIN))
    target = user_create(email="vic@example.com", role=Role.VIEWER)
    response = client.post(
        reverse("admin:accounts_user_change", args=[target.pk]),
        {"email": "vic@example.com", "full_name": "Vic", "role": Role.MANAGER, "is_active": "on"},
    )
    assert response.status_code == 302
    target = User.objects.get(pk=target.pk)
    assert target.is_staff
    assert target.has_perm("quality.change_qcgate") and not target.has_perm("accounts.view_user")


@pytest.mark.django_db
def test_a_role_group_set_by_hand_is_not_kept_once_the_role_says_otherwise():
    from django.contrib.auth.models import Group

    user = user_create(email="ann@example.com", role=Role.AUDITOR)
    user.groups.add(Group.objects.get(name="Admin"))
    user.role = Role.MANAGER
    user.save()
    assert list(user.groups.values_list("name", flat=True)) == ["Manager"]


def _gate_post(gate: QcGate, *, en_name: str) -> dict:
    return {
        "scenario": str(gate.scenario_id),
        "gate_number": "1.0",
        **bilingual("name", "Átvétel", en_name),
        "gate_type": "CHECKPOINT",
        "checklist": "Certificate\nTemperature",
    }


@pytest.mark.django_db
def test_a_manager_can_edit_a_qc_gate(client, world):
    client.force_login(user_with_role(Role.MANAGER))
    gate = world["gate"]
    response = client.post(
        reverse("admin:quality_qcgate_change", args=[gate.pk]), _gate_post(gate, en_name="Receipt")
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    gate.refresh_from_db()
    assert gate.name == {"hu": "Átvétel", "en": "Receipt"}
    assert gate.checklist == ["Certificate", "Temperature"]


@pytest.mark.django_db
def test_an_auditor_cannot_edit_a_qc_gate(client, world):
    client.force_login(user_with_role(Role.AUDITOR))
    gate = world["gate"]
    before = QcGate.objects.filter(pk=gate.pk).values().get()
    response = client.post(
        reverse("admin:quality_qcgate_change", args=[gate.pk]), _gate_post(gate, en_name="Renamed")
    )
    assert response.status_code == 403
    assert QcGate.objects.filter(pk=gate.pk).values().get() == before


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("role", "superuser"),
    [(Role.ADMIN, False), (Role.ADMIN, True), (Role.MANAGER, False), (Role.AUDITOR, False)],
)
def test_nobody_can_change_or_delete_a_qc_decision(client, world, role, superuser):
    client.force_login(user_with_role(role, superuser=superuser))
    decision = world["decision"]
    before = QcDecision.objects.filter(pk=decision.pk).values().get()
    change = client.post(
        reverse("admin:quality_qcdecision_change", args=[decision.pk]),
        {"decision": "PASS", "notes": "fixed", "lot": str(decision.lot_id)},
    )
    delete = client.post(reverse("admin:quality_qcdecision_delete", args=[decision.pk]), {"post": "yes"})
    add = client.get(reverse("admin:quality_qcdecision_add"))
    assert (change.status_code, delete.status_code, add.status_code) == (403, 403, 403)
    assert QcDecision.objects.filter(pk=decision.pk).values().get() == before


@pytest.mark.django_db
def test_a_qc_decision_page_is_read_only_with_no_delete_action(client, world):
    client.force_login(user_with_role(Role.ADMIN, superuser=True))
    decision = world["decision"]
    page = client.get(reverse("admin:quality_qcdecision_change", args=[decision.pk])).content.decode()
    assert "too warm" in page
    assert 'name="notes"' not in page and 'name="_save"' not in page
    assert reverse("admin:quality_qcdecision_delete", args=[decision.pk]) not in page
    listing = client.get(reverse("admin:quality_qcdecision_changelist")).content.decode()
    assert "delete_selected" not in listing


@pytest.mark.django_db
def test_the_qc_log_filters_by_decision_gate_date_and_operator(client, world):
    client.force_login(user_with_role(Role.AUDITOR))
    url = reverse("admin:quality_qcdecision_changelist")
    listing = client.get(url).content.decode()
    for filter_param in ("decision__exact", "qc_gate__id__exact", "decided_at__gte", "operator__id__exact"):
        assert filter_param in listing
    assert "MIX-BATCH-88" in client.get(url, {"decision__exact": "HOLD"}).content.decode()
    assert "MIX-BATCH-88" not in client.get(url, {"decision__exact": "PASS"}).content.decode()
