"""Management commands: backfill_genealogy and generate_factory."""

from __future__ import annotations

import io
from collections import defaultdict
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count

from lots import cache as trace_cache
from lots.factory import LAYERS
from lots.models import Lot, LotGenealogy
from tests.lots.conftest import cache_hit_queries

pytestmark = pytest.mark.django_db


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def cached_without_queries(django_assert_num_queries, code: str) -> bool:
    with django_assert_num_queries(cache_hit_queries()):
        return trace_cache.graph_json_cached(lot_code=code) is not None


# --- backfill_genealogy ------------------------------------------------------------------------


def test_backfill_on_the_demo_seed_caches_every_graph_and_prints_a_summary(demo, django_assert_num_queries):
    out, err = run("backfill_genealogy")
    assert out.strip().startswith("backfilled 4 lots in ")
    assert out.strip().endswith(", 0 failures")
    assert "4/4 lots" in err  # the progress line
    for code in ("RAW-BEEF-001", "RAW-SPICE-001", "MIX-BATCH-88", "FG-DONER-X1"):
        assert cached_without_queries(django_assert_num_queries, code)


def test_backfill_is_safe_to_run_again(demo):
    first, _ = run("backfill_genealogy", "--batch-size", "1")
    second, _ = run("backfill_genealogy", "--batch-size", "1")
    assert first.split(" in ")[0] == second.split(" in ")[0] == "backfilled 4 lots"


def test_backfill_one_lot(demo):
    out, _ = run("backfill_genealogy", "--lot", "MIX-BATCH-88")
    assert out.startswith("backfilled 1 lots")


def test_backfill_since_a_date_takes_only_newer_lots(demo):
    Lot.objects.filter(lot_code="RAW-BEEF-001").update(created_at="2020-01-01T00:00:00Z")
    out, _ = run("backfill_genealogy", "--since", "2021-01-01")
    assert out.startswith("backfilled 3 lots")


def test_backfill_queue_fans_out_to_celery(demo, django_assert_num_queries):
    out, _ = run("backfill_genealogy", "--queue")  # tasks run inline in tests
    assert out.startswith("queued 4 lots")
    assert cached_without_queries(django_assert_num_queries, "FG-DONER-X1")


def test_backfill_refuses_an_unknown_lot_and_a_bad_date(demo):
    with pytest.raises(CommandError, match="no lot"):
        run("backfill_genealogy", "--lot", "NOPE")
    with pytest.raises(CommandError, match="not a date"):
        run("backfill_genealogy", "--since", "yesterday")


# --- generate_factory ---------------------------------------------------------------------------


def test_generate_factory_builds_the_seven_layers_with_two_to_four_parents_each():
    out, _ = run("generate_factory", "--lots", "300", "--seed", "7", "--prefix", "T1")
    assert out.startswith("generated 300 lots and ")
    lots = Lot.objects.filter(lot_code__startswith="T1-")
    assert lots.count() == 300
    assert set(lots.values_list("lot_type", flat=True)) == set(LAYERS)
    layer = {t: i for i, t in enumerate(LAYERS)}
    parent_counts = Lot.objects.filter(lot_code__startswith="T1-").annotate(n=Count("parent_links"))
    for lot in parent_counts:
        if lot.lot_type == "RAW":
            assert lot.n == 0
        else:
            assert 2 <= lot.n <= 4, lot.lot_code
    for link in LotGenealogy.objects.select_related("parent_lot", "child_lot").filter(
        child_lot__lot_code__startswith="T1-"
    ):
        assert layer[link.child_lot.lot_type] == layer[link.parent_lot.lot_type] + 1


def test_generate_factory_respects_mass_balance():
    run("generate_factory", "--lots", "300", "--prefix", "T2")
    drawn: dict = defaultdict(Decimal)
    for parent_id, quantity in LotGenealogy.objects.values_list("parent_lot_id", "quantity_used_kg"):
        drawn[parent_id] += quantity
    weights = dict(Lot.objects.values_list("id", "weight_kg"))
    assert drawn
    assert all(total <= weights[parent_id] for parent_id, total in drawn.items())


def test_generate_factory_refuses_a_prefix_already_used():
    run("generate_factory", "--lots", "50", "--prefix", "T3")
    with pytest.raises(CommandError, match="already exist"):
        run("generate_factory", "--lots", "50", "--prefix", "T3")
    assert Lot.objects.filter(lot_code__startswith="T3-").count() == 50


def test_backfill_on_a_generated_factory(django_assert_num_queries):
    run("generate_factory", "--lots", "120", "--prefix", "T4")
    out, _ = run("backfill_genealogy", "--batch-size", "25")
    assert out.startswith("backfilled 120 lots") and out.strip().endswith("0 failures")
    assert cached_without_queries(django_assert_num_queries, "T4-RAW-0000000")
    assert cached_without_queries(django_assert_num_queries, "T4-FG-0000000")
