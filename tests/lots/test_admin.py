"""Lots and production runs in the admin."""

from __future__ import annotations

import itertools
from decimal import Decimal

import orjson
import pytest
from django.urls import reverse

from accounts.roles import Role
from flowviz.production.models import ProductionRun
from lots import cache as trace_cache
from lots.models import Lot, LotGenealogy
from quality.models import QcDecision
from tests.admin_support import user_with_role

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("role_groups")]


def _one_step(lot_code: str) -> dict:
    """The cached one-step answer, parsed."""
    return orjson.loads(trace_cache.one_step_cached(lot_code=lot_code))


@pytest.fixture
def admin_client_(client):
    client.force_login(user_with_role(Role.ADMIN))
    return client


@pytest.fixture
def manager_client(client):
    client.force_login(user_with_role(Role.MANAGER))
    return client


def _change_url(lot: Lot) -> str:
    return reverse("admin:lots_lot_change", args=[lot.pk])


def test_a_lot_page_links_its_parents_and_children_and_lists_its_decisions(manager_client, demo):
    mix = Lot.objects.get(lot_code="MIX-BATCH-88")
    QcDecision.objects.create(lot=mix, decision="HOLD", notes="recheck salt")
    page = manager_client.get(_change_url(mix)).content.decode()
    for code in ("RAW-BEEF-001", "RAW-SPICE-001", "FG-DONER-X1"):
        assert f'href="{_change_url(Lot.objects.get(lot_code=code))}">{code}</a>' in page
    assert "Made from (2)" in page and "Used in (1)" in page
    assert "QC decisions (1)" in page and "recheck salt" in page


def test_a_lot_page_shows_the_genealogy_picture(manager_client, demo):
    mix = Lot.objects.get(lot_code="MIX-BATCH-88")
    page = manager_client.get(_change_url(mix)).content.decode()
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="lot-genealogy"' in page
    for lot in Lot.objects.all():
        assert f'<a class="lot" href="{_change_url(lot)}" data-lot-code="{lot.lot_code}"' in page


def test_the_lot_list_searches_by_code_and_filters_by_type_run_phase_and_date(manager_client, demo):
    ProductionRun.objects.create(run_code="PRD-20260101-A")
    url = reverse("admin:lots_lot_changelist")
    listing = manager_client.get(url).content.decode()
    for filter_param in (
        "lot_type__exact",
        "production_run__id__exact",
        "phase__id__exact",
        "created_at__gte",
    ):
        assert filter_param in listing
    found = manager_client.get(url, {"q": "SPICE"}).content.decode()
    assert "RAW-SPICE-001" in found and "RAW-BEEF-001" not in found
    raws = manager_client.get(url, {"lot_type__exact": "RAW"}).content.decode()
    assert "RAW-BEEF-001" in raws and "MIX-BATCH-88" not in raws


def test_lot_foreign_keys_use_autocomplete(admin_client_, demo):
    run = ProductionRun.objects.create(run_code="PRD-20260101-A", daily_target_kg=Decimal("500"))
    page = admin_client_.get(reverse("admin:lots_lot_add")).content.decode()
    assert page.count("admin-autocomplete") >= 3
    response = admin_client_.get(
        reverse("admin:autocomplete"),
        {"app_label": "lots", "model_name": "lot", "field_name": "production_run", "term": "PRD-2026"},
    )
    assert response.json()["results"] == [{"id": str(run.pk), "text": "PRD-20260101-A"}]


def _admin_lot_form(code: str, weight: str) -> dict[str, str]:
    return {
        "lot_code": code,
        "lot_type": "MIX",
        "weight_kg": weight,
        "metadata": "{}",
        "created_at_0": "2026-01-05",
        "created_at_1": "08:00:00",
    }


def test_an_admin_edit_of_a_lot_invalidates_its_cached_traceability(
    admin_client_, demo, django_capture_on_commit_callbacks
):
    mix = Lot.objects.get(lot_code="MIX-BATCH-88")
    # Warm the cached answers that contain the lot: its own, a parent's graph, a child's one-step.
    assert _one_step(lot_code="MIX-BATCH-88")["central"]["weight_kg"] == "540.00"
    assert b'"540.00"' in trace_cache.graph_json_cached(lot_code="RAW-BEEF-001")
    assert _one_step(lot_code="FG-DONER-X1")["parents"][0]["weight_kg"] == "540.00"
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client_.post(_change_url(mix), _admin_lot_form("MIX-BATCH-88", "541.00"))
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert _one_step(lot_code="MIX-BATCH-88")["central"]["weight_kg"] == "541.00"
    assert b'"541.00"' in trace_cache.graph_json_cached(lot_code="RAW-BEEF-001")
    assert _one_step(lot_code="FG-DONER-X1")["parents"][0]["weight_kg"] == "541.00"


def test_an_admin_rename_of_a_lot_retires_the_answers_cached_under_its_old_code(
    admin_client_, demo, django_capture_on_commit_callbacks
):
    mix = Lot.objects.get(lot_code="MIX-BATCH-88")
    assert trace_cache.one_step_cached(lot_code="MIX-BATCH-88") is not None
    assert trace_cache.graph_json_cached(lot_code="MIX-BATCH-88") is not None
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client_.post(_change_url(mix), _admin_lot_form("MIX-BATCH-89", "540.00"))
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert trace_cache.one_step_cached(lot_code="MIX-BATCH-88") is None
    assert trace_cache.graph_json_cached(lot_code="MIX-BATCH-88") is None
    assert _one_step(lot_code="MIX-BATCH-89")["central"]["id"] == str(mix.pk)


def test_a_manager_only_views_lots(manager_client, demo):
    mix = Lot.objects.get(lot_code="MIX-BATCH-88")
    response = manager_client.post(
        _change_url(mix), {"lot_code": "CHANGED", "lot_type": "MIX", "weight_kg": "1", "metadata": "{}"}
    )
    assert response.status_code == 403
    assert Lot.objects.filter(lot_code="MIX-BATCH-88").exists()


def test_a_run_page_shows_its_lots_read_only_and_the_output_against_the_target(manager_client):
    run = ProductionRun.objects.create(run_code="PRD-20260102-B", daily_target_kg=Decimal("500.00"))
    Lot.objects.create(lot_code="FG-1", lot_type="FG", production_run=run, weight_kg=Decimal("300.00"))
    Lot.objects.create(lot_code="FG-2", lot_type="FG", production_run=run, weight_kg=Decimal("120.00"))
    page = manager_client.get(reverse("admin:flowviz_productionrun_change", args=[run.pk])).content.decode()
    assert "Produced: 420.00 kg of 500.00 kg target (84%) in 2 lots" in page
    assert "FG-1" in page and "FG-2" in page
    assert 'name="lots-0-lot_code"' not in page and 'name="lots-TOTAL_FORMS"' in page


def test_the_run_list_filters_by_status(manager_client):
    ProductionRun.objects.create(run_code="PRD-20260103-A", status="ACTIVE")
    ProductionRun.objects.create(run_code="PRD-20260103-B", status="CANCELLED")
    listing = manager_client.get(
        reverse("admin:flowviz_productionrun_changelist"), {"status__exact": "CANCELLED"}
    )
    page = listing.content.decode()
    assert "PRD-20260103-B" in page and "PRD-20260103-A" not in page


def test_a_link_moved_in_the_admin_retires_the_graphs_of_the_lots_it_used_to_join(
    admin_client_, demo, django_capture_on_commit_callbacks
):
    from lots.models import LotGenealogy

    link = LotGenealogy.objects.get(parent_lot__lot_code="MIX-BATCH-88", child_lot__lot_code="FG-DONER-X1")
    assert b"FG-DONER-X1" in trace_cache.graph_json_cached(lot_code="RAW-BEEF-001")
    spice = Lot.objects.get(lot_code="RAW-SPICE-001")
    form = {
        "parent_lot": str(spice.pk),
        "child_lot": str(link.child_lot_id),
        "quantity_used_kg": "10.00",  # RAW-SPICE-001 has 10 of its 50 kg left
        "linked_at_0": link.linked_at.strftime("%Y-%m-%d"),
        "linked_at_1": link.linked_at.strftime("%H:%M:%S"),
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client_.post(reverse("admin:lots_lotgenealogy_change", args=[link.pk]), form)
    assert response.status_code == 302, response.context["adminform"].form.errors
    # RAW-BEEF-001 reached FG-DONER-X1 only through the moved link's former parent.
    assert b"FG-DONER-X1" not in trace_cache.graph_json_cached(lot_code="RAW-BEEF-001")


# --- Suspect lots (issue 15) ------------------------------------------------------------------


def _hold(code: str, decision: str = "HOLD") -> None:
    from accounts.models import User
    from lots.services import qc_decision_record

    actor = User.objects.get(email="auditor@flowviz.com")
    qc_decision_record(
        lot_id=Lot.objects.get(lot_code=code).pk, decision=decision, actor=actor, notes="x" * 12
    )


def test_a_suspect_lot_page_shows_the_held_lot_it_was_made_from(manager_client, demo):
    _hold("RAW-BEEF-001")
    fg = Lot.objects.get(lot_code="FG-DONER-X1")
    page = manager_client.get(_change_url(fg)).content.decode()
    assert "Suspect: this lot was made from 1 held lot" in page
    beef = Lot.objects.get(lot_code="RAW-BEEF-001")
    assert f'<a href="{_change_url(beef)}">RAW-BEEF-001</a></td>\n        <td>HOLD</td>' in page
    assert 'data-lot-code="FG-DONER-X1" data-decision="NONE" data-suspect="yes"' in page
    spice_page = manager_client.get(_change_url(Lot.objects.get(lot_code="RAW-SPICE-001"))).content.decode()
    assert "Not suspect" in spice_page


def test_the_lot_list_filters_suspect_lots(manager_client, demo):
    _hold("RAW-BEEF-001")
    url = reverse("admin:lots_lot_changelist")
    assert "?suspect=yes" in manager_client.get(url).content.decode()
    suspect = manager_client.get(url, {"suspect": "yes"}).context["cl"].result_list
    assert sorted(lot.lot_code for lot in suspect) == ["FG-DONER-X1", "MIX-BATCH-88"]
    clean = manager_client.get(url, {"suspect": "no"}).context["cl"].result_list
    assert sorted(lot.lot_code for lot in clean) == ["RAW-BEEF-001", "RAW-SPICE-001"]


def _link_form(parent: str, child: str, quantity: str) -> dict[str, str]:
    return {
        "parent_lot": str(Lot.objects.get(lot_code=parent).pk),
        "child_lot": str(Lot.objects.get(lot_code=child).pk),
        "quantity_used_kg": quantity,
    }


def _form_errors(response) -> list[str]:
    form = response.context["adminform"].form
    return [message for messages in form.errors.values() for message in messages]


def test_a_link_from_a_held_lot_is_refused_by_the_admin_form(admin_client_, demo):
    _hold("RAW-SPICE-001")
    Lot.objects.create(lot_code="FG-NEW", lot_type="FG")
    response = admin_client_.post(
        reverse("admin:lots_lotgenealogy_add"), _link_form("RAW-SPICE-001", "FG-NEW", "1.00")
    )
    assert response.status_code == 200
    assert _form_errors(response) == ["Parent lot RAW-SPICE-001 has QC status HOLD and cannot be consumed"]
    assert not LotGenealogy.objects.filter(child_lot__lot_code="FG-NEW").exists()


def test_a_link_deleted_in_the_admin_frees_the_lots_it_made_suspect(admin_client_, demo):
    from lots.models import LotGenealogy
    from lots.selectors import lot_qc_states

    _hold("RAW-BEEF-001")
    link = LotGenealogy.objects.get(parent_lot__lot_code="RAW-BEEF-001")
    delete = reverse("admin:lots_lotgenealogy_delete", args=[link.pk])
    assert admin_client_.post(delete, {"post": "yes"}).status_code == 302
    states = lot_qc_states(lot_ids=list(Lot.objects.values_list("pk", flat=True)))
    assert all(not state.held_by for state in states.values())


# --- The admin writes through the API's services, with their rules (issue 14, item 16) ----------


@pytest.fixture
def chain(db):
    """L0 → L1 → ... → L29 (each made from the one before), 1 kg drawn per link."""
    lots = [Lot.objects.create(lot_code=f"L{n}", lot_type="MIX", weight_kg=Decimal("10")) for n in range(30)]
    LotGenealogy.objects.bulk_create(
        LotGenealogy(parent_lot=parent, child_lot=child, quantity_used_kg=Decimal("1"))
        for parent, child in itertools.pairwise(lots)
    )
    return lots


CYCLE = "Linking L29 as a parent of L0 would create a cycle"
TOO_MUCH = (
    "Mass balance exceeded for parent lot TEN-KG: "
    "0.00 kg of 10.00 kg already used, 99999.00 kg more requested"
)


def test_the_admin_link_form_refuses_a_link_that_closes_a_cycle(admin_client_, chain):
    response = admin_client_.post(reverse("admin:lots_lotgenealogy_add"), _link_form("L29", "L0", "1.00"))
    assert response.status_code == 200
    assert _form_errors(response) == [CYCLE]
    assert not LotGenealogy.objects.filter(parent_lot__lot_code="L29").exists()


def test_the_admin_link_form_refuses_a_link_changed_into_one_that_closes_a_cycle(admin_client_, chain):
    Lot.objects.create(lot_code="X", lot_type="RAW", weight_kg=Decimal("5"))
    link = LotGenealogy.objects.create(
        parent_lot=Lot.objects.get(lot_code="X"), child_lot=chain[0], quantity_used_kg=Decimal("1")
    )
    url = reverse("admin:lots_lotgenealogy_change", args=[link.pk])
    response = admin_client_.post(url, _link_form("L29", "L0", "1.00"))
    assert response.status_code == 200
    assert _form_errors(response) == [CYCLE]
    link.refresh_from_db()
    assert link.parent_lot.lot_code == "X"


def test_the_admin_link_form_refuses_drawing_more_than_the_parent_weighs(admin_client_, db):
    Lot.objects.create(lot_code="TEN-KG", lot_type="RAW", weight_kg=Decimal("10"))
    Lot.objects.create(lot_code="BIG", lot_type="MIX")
    response = admin_client_.post(
        reverse("admin:lots_lotgenealogy_add"), _link_form("TEN-KG", "BIG", "99999.00")
    )
    assert response.status_code == 200
    assert _form_errors(response) == [TOO_MUCH]
    assert not LotGenealogy.objects.exists()


def test_the_admin_link_form_refuses_raising_a_links_draw_beyond_the_parent_weight(admin_client_, db):
    ten = Lot.objects.create(lot_code="TEN-KG", lot_type="RAW", weight_kg=Decimal("10"))
    big = Lot.objects.create(lot_code="BIG", lot_type="MIX")
    link = LotGenealogy.objects.create(parent_lot=ten, child_lot=big, quantity_used_kg=Decimal("4"))
    url = reverse("admin:lots_lotgenealogy_change", args=[link.pk])
    response = admin_client_.post(url, _link_form("TEN-KG", "BIG", "99999.00"))
    assert response.status_code == 200
    # The link's own 4 kg are not counted twice: it is judged as if written anew.
    assert _form_errors(response) == [TOO_MUCH]
    link.refresh_from_db()
    assert link.quantity_used_kg == Decimal("4")
    assert admin_client_.post(url, _link_form("TEN-KG", "BIG", "10.00")).status_code == 302


def test_the_admin_link_form_refuses_a_suspect_parent(admin_client_, demo):
    _hold("RAW-BEEF-001")
    Lot.objects.create(lot_code="FG-NEW", lot_type="FG")
    response = admin_client_.post(
        reverse("admin:lots_lotgenealogy_add"), _link_form("MIX-BATCH-88", "FG-NEW", "1.00")
    )
    assert response.status_code == 200
    assert _form_errors(response) == ["Parent lot MIX-BATCH-88 is suspect: made from RAW-BEEF-001 (HOLD)"]
    assert not LotGenealogy.objects.filter(child_lot__lot_code="FG-NEW").exists()


def test_the_admin_lot_form_refuses_a_weight_below_what_the_children_drew(admin_client_, demo):
    mix = Lot.objects.get(lot_code="MIX-BATCH-88")
    drawn = LotGenealogy.objects.filter(parent_lot=mix).values_list("quantity_used_kg", flat=True).get()
    response = admin_client_.post(_change_url(mix), _admin_lot_form("MIX-BATCH-88", "1.00"))
    assert response.status_code == 200
    assert _form_errors(response) == [
        f"Mass balance: {drawn:.2f} kg of lot MIX-BATCH-88 is already used by its children; "
        "its weight cannot be 1.00 kg"
    ]
    mix.refresh_from_db()
    assert mix.weight_kg == Decimal("540.00")


def test_a_lot_added_in_the_admin_is_registered_by_the_service(admin_client_, db):
    response = admin_client_.post(reverse("admin:lots_lot_add"), _admin_lot_form("ADMIN-NEW", "12.50"))
    assert response.status_code == 302, response.context["adminform"].form.errors
    lot = Lot.objects.get(lot_code="ADMIN-NEW")
    # lot_create's defaults: the operator is the one who registered it.
    assert (lot.weight_kg, lot.operator.email) == (Decimal("12.50"), "admin-false@example.com")
