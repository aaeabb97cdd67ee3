"""The genealogy graph selector: one query, signed depths, walked edges."""

from __future__ import annotations

from decimal import Decimal

import pytest

from lots.models import Lot
from lots.selectors import lot_graph


def _depths(graph) -> dict[str, int]:
    return {node.lot.lot_code: node.depth for node in graph.nodes}


@pytest.mark.django_db
def test_graph_of_the_demo_mix_has_two_ancestors_and_one_descendant(demo, django_assert_num_queries):
    with django_assert_num_queries(1):
        graph = lot_graph(lot_code="MIX-BATCH-88")
    assert _depths(graph) == {"RAW-BEEF-001": -1, "RAW-SPICE-001": -1, "MIX-BATCH-88": 0, "FG-DONER-X1": 1}
    assert (graph.ancestor_count, graph.descendant_count) == (2, 1)
    quantities = sorted(edge.quantity_used_kg for edge in graph.edges)
    assert quantities == [Decimal("40.00"), Decimal("500.00"), Decimal("530.00")]


@pytest.mark.django_db
def test_graph_down_from_a_raw_lot_reaches_the_finished_good(demo):
    graph = lot_graph(lot_code="RAW-BEEF-001", direction="down")
    assert _depths(graph) == {"RAW-BEEF-001": 0, "MIX-BATCH-88": 1, "FG-DONER-X1": 2}
    assert len(graph.edges) == 2


@pytest.mark.django_db
def test_graph_max_depth_stops_the_walk(demo):
    graph = lot_graph(lot_code="FG-DONER-X1", direction="up", max_depth=1)
    assert _depths(graph) == {"MIX-BATCH-88": -1, "FG-DONER-X1": 0}
    assert [(e.parent_lot_id, e.child_lot_id) for e in graph.edges] == [
        (Lot.objects.get(lot_code="MIX-BATCH-88").id, Lot.objects.get(lot_code="FG-DONER-X1").id)
    ]


@pytest.mark.django_db
def test_graph_of_an_unknown_lot_raises_does_not_exist(demo):
    with pytest.raises(Lot.DoesNotExist):
        lot_graph(lot_code="NOPE")


@pytest.mark.django_db
def test_descendant_ids_of_a_raw_lot_are_every_lot_made_from_it(demo, django_assert_num_queries):
    from lots.selectors import lot_descendant_ids

    beef = Lot.objects.get(lot_code="RAW-BEEF-001")
    with django_assert_num_queries(1):
        descendants = lot_descendant_ids(lot_id=beef.id)
    assert descendants == set(
        Lot.objects.filter(lot_code__in=["MIX-BATCH-88", "FG-DONER-X1"]).values_list("id", flat=True)
    )
