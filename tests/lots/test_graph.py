"""The genealogy graph selector: one query, signed depths, walked edges."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import orjson
import pytest
from django.db import connection

from lots.models import Lot
from lots.schemas import GraphOut
from lots.selectors import (
    genealogy_affected_codes,
    lot_descendant_ids,
    lot_get,
    lot_graph,
    lot_graph_json,
)
from tests.lots.conftest import genealogy


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
    beef = Lot.objects.get(lot_code="RAW-BEEF-001")
    with django_assert_num_queries(1):
        descendants = lot_descendant_ids(lot_id=beef.id)
    assert descendants == set(
        Lot.objects.filter(lot_code__in=["MIX-BATCH-88", "FG-DONER-X1"]).values_list("id", flat=True)
    )


# --- Hand-built genealogies ---------------------------------------------------------------------

DIAMOND = [("A", "B"), ("A", "C"), ("B", "D"), ("C", "D")]


def _edges(graph) -> set[tuple[str, str]]:
    codes = {node.lot.id: node.lot.lot_code for node in graph.nodes}
    return {(codes[e.parent_lot_id], codes[e.child_lot_id]) for e in graph.edges}


@pytest.mark.django_db
def test_diamond_down_lists_the_shared_descendant_once_at_its_shortest_depth():
    genealogy(DIAMOND)
    graph = lot_graph(lot_code="A", direction="down")
    assert _depths(graph) == {"A": 0, "B": 1, "C": 1, "D": 2}
    assert _edges(graph) == set(DIAMOND)


@pytest.mark.django_db
def test_shared_ancestor_appears_once_walking_up():
    genealogy(DIAMOND)
    graph = lot_graph(lot_code="D", direction="up")
    assert _depths(graph) == {"A": -2, "B": -1, "C": -1, "D": 0}
    assert (graph.ancestor_count, graph.descendant_count) == (3, 0)


@pytest.mark.django_db
def test_shortest_distance_wins_when_a_lot_is_reachable_by_paths_of_different_lengths():
    genealogy([("A", "B"), ("B", "C"), ("C", "D"), ("A", "D")])
    assert _depths(lot_graph(lot_code="A", direction="down"))["D"] == 1
    assert _depths(lot_graph(lot_code="D", direction="up"))["A"] == -1


@pytest.mark.django_db
def test_both_directions_from_the_middle_of_a_chain():
    genealogy([("A", "B"), ("B", "C"), ("C", "D"), ("X", "C")])
    graph = lot_graph(lot_code="C")
    assert _depths(graph) == {"A": -2, "B": -1, "X": -1, "C": 0, "D": 1}
    assert _edges(graph) == {("A", "B"), ("B", "C"), ("X", "C"), ("C", "D")}


@pytest.mark.django_db
def test_siblings_and_cousins_are_not_part_of_a_lots_graph():
    genealogy([("A", "B"), ("A", "SIBLING"), ("SIBLING", "NEPHEW")])
    assert set(_depths(lot_graph(lot_code="B"))) == {"A", "B"}


@pytest.mark.django_db
def test_max_depth_limits_both_directions_and_their_edges():
    genealogy([("A", "B"), ("B", "C"), ("C", "D"), ("D", "E")])
    graph = lot_graph(lot_code="C", max_depth=1)
    assert _depths(graph) == {"B": -1, "C": 0, "D": 1}
    assert _edges(graph) == {("B", "C"), ("C", "D")}


@pytest.mark.django_db
def test_max_depth_zero_is_the_root_alone():
    genealogy(DIAMOND)
    graph = lot_graph(lot_code="B", max_depth=0)
    assert _depths(graph) == {"B": 0}
    assert graph.edges == []


@pytest.mark.django_db
def test_a_negative_max_depth_or_unknown_direction_is_refused():
    genealogy(DIAMOND)
    with pytest.raises(ValueError):
        lot_graph(lot_code="A", max_depth=-1)
    with pytest.raises(ValueError):
        lot_graph(lot_code="A", direction="sideways")


def _insert_link_behind_the_applications_back(parent: Lot, child: Lot) -> None:
    pk = Lot._meta.pk
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO lot_genealogy (id, parent_lot_id, child_lot_id, quantity_used_kg, linked_at) "
            "VALUES (%s, %s, %s, NULL, CURRENT_TIMESTAMP)",
            [pk.get_db_prep_value(v, connection) for v in (uuid.uuid4(), parent.pk, child.pk)],
        )


@pytest.mark.django_db
def test_a_cycle_inserted_by_raw_sql_does_not_loop(settings):
    lots = genealogy([("A", "B"), ("B", "C")])
    _insert_link_behind_the_applications_back(lots["C"], lots["A"])
    settings.TRACEABILITY_DEPTH_LIMIT = 50
    graph = lot_graph(lot_code="A")
    assert set(_depths(graph)) == {"A", "B", "C"}
    assert _edges(graph) == {("A", "B"), ("B", "C"), ("C", "A")}
    document = orjson.loads(lot_graph_json(lot_code="A"))
    assert sorted(node["lot"]["lot_code"] for node in document["nodes"]) == ["A", "B", "C"]
    assert genealogy_affected_codes(lot_ids=[lots["B"].pk]) == ({"A", "B", "C"}, {"A", "B", "C"})
    assert genealogy_affected_codes(links=[(lots["C"].pk, lots["A"].pk)])[0] == {"A", "B", "C"}


@pytest.mark.django_db
def test_descendant_ids_stop_on_a_cycle_inserted_by_raw_sql():
    lots = genealogy([("A", "B"), ("B", "C")])
    _insert_link_behind_the_applications_back(lots["C"], lots["A"])
    assert lot_descendant_ids(lot_id=lots["B"].pk) == {lots["C"].pk, lots["A"].pk}


@pytest.mark.django_db
def test_the_graph_objects_are_the_graph_json(demo):
    genealogy([*DIAMOND, ("D", "E"), ("X", "D")])
    for code in ("RAW-BEEF-001", "MIX-BATCH-88", "FG-DONER-X1", "A", "B", "D", "E", "X"):
        graph = lot_graph(lot_code=code)
        document = orjson.loads(lot_graph_json(lot_code=code))
        assert graph.root.lot_code == document["root"] == code
        assert [(n.lot.data, n.depth) for n in graph.nodes] == [
            (n["lot"], n["depth"]) for n in document["nodes"]
        ]
        assert [
            (str(e.parent_lot_id), str(e.child_lot_id), e.quantity_used_kg and f"{e.quantity_used_kg:f}")
            for e in graph.edges
        ] == [(e["parent_lot_id"], e["child_lot_id"], e["quantity_used_kg"]) for e in document["edges"]]
        assert (graph.ancestor_count, graph.descendant_count) == (
            document["ancestor_count"],
            document["descendant_count"],
        )


@pytest.mark.django_db
def test_the_graph_json_fits_its_schema_and_renders_each_lot_as_the_lot_endpoints_do(
    demo, django_assert_num_queries
):
    # Values whose text is easy to get wrong when the database renders it: quotes, a
    # backslash and non-ASCII in codes and metadata, null decimals and ids, a timestamp
    # with and one without microseconds, a negative temperature, no lot type.
    lots = genealogy([("A", 'QUOTE"\\É'), ('QUOTE"\\É', "C")])
    Lot.objects.filter(pk=lots["A"].pk).update(
        metadata={"note": 'a "b" \\ ü', "n": [1, 2.5, None]},
        temperature_c=Decimal("-18.0"),
        weight_kg=None,
        lot_type=None,
        created_at=datetime(2026, 1, 2, 3, 4, 5, 678, tzinfo=UTC),
    )
    Lot.objects.filter(pk=lots["C"].pk).update(created_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    for code in ("RAW-BEEF-001", "MIX-BATCH-88", "FG-DONER-X1", "A", 'QUOTE"\\É', "C"):
        for direction in ("both", "up", "down"):
            for max_depth in (None, 0, 1):
                with django_assert_num_queries(1):
                    body = lot_graph_json(lot_code=code, direction=direction, max_depth=max_depth)
                GraphOut.model_validate_json(body)
                for node in orjson.loads(body)["nodes"]:
                    assert node["lot"] == orjson.loads(lot_get(lot_code=node["lot"]["lot_code"]))
    assert lot_graph_json(lot_code="NOPE") is None


@pytest.mark.django_db
def test_affected_codes_are_ancestors_and_descendants_with_direct_neighbours_for_one_step():
    lots = genealogy([("A", "B"), ("B", "C"), ("C", "D"), ("A", "SIBLING")])
    graph_codes, step_codes = genealogy_affected_codes(lot_ids=[lots["B"].pk])
    assert graph_codes == {"A", "B", "C", "D"}
    assert step_codes == {"A", "B", "C"}


@pytest.mark.django_db
def test_a_new_link_affects_the_parents_ancestors_and_the_childs_descendants_only():
    lots = genealogy([("GP", "P"), ("P", "OTHER-CHILD"), ("OTHER-PARENT", "C"), ("C", "GC")])
    graph_codes, step_codes = genealogy_affected_codes(links=[(lots["P"].pk, lots["C"].pk)])
    assert graph_codes == {"GP", "P", "C", "GC"}
    assert step_codes == {"P", "C"}


def _plan_nodes(plan: dict):
    yield plan
    for child in plan.get("Plans", ()):
        yield from _plan_nodes(child)


def test_the_walk_after_a_write_probes_the_link_indexes_instead_of_scanning_all_links(db):
    # 3,000 links written since the table's statistics were last gathered (autovacuum off or
    # not yet run, as after a bulk import): as a plain join the planner hashed the whole
    # lot_genealogy table on every write; the lateral lookups stay index probes.
    from django.db import connection

    from lots.selectors import _AFFECTED_SQL

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE lots; ANALYZE lot_genealogy")
        cursor.execute(
            "INSERT INTO lots (id, lot_code, metadata, created_at) "
            "SELECT gen_random_uuid(), 'BULK-' || n, '{}', now() FROM generate_series(1, 3001) n"
        )
        cursor.execute(
            "INSERT INTO lot_genealogy (id, parent_lot_id, child_lot_id, linked_at) "
            "SELECT gen_random_uuid(), p.id, c.id, now() FROM lots p "
            "JOIN lots c ON c.lot_code = 'BULK-' || (split_part(p.lot_code, '-', 2)::int + 1) "
            "WHERE p.lot_code LIKE 'BULK-%'"
        )
        cursor.execute("SELECT id FROM lots WHERE lot_code = 'BULK-1500'")
        [lot_id] = cursor.fetchone()
        seeds = {"up_seed": [lot_id], "down_seed": [lot_id], "near_seed": [lot_id], "changed": [lot_id]}
        cursor.execute("EXPLAIN (FORMAT JSON) " + _AFFECTED_SQL, seeds)
        [[plan]] = cursor.fetchone()
    scanned = [
        node.get("Relation Name") for node in _plan_nodes(plan["Plan"]) if node["Node Type"] == "Seq Scan"
    ]
    assert "lot_genealogy" not in scanned
    assert "lots" not in scanned


def test_the_walk_after_a_write_lists_each_affected_lot_once(demo):
    from lots.selectors import genealogy_affected

    lots = genealogy([("RAW", "MIX"), ("MIX", "SKW")])
    # MIX is reached walking up, walking down and as a neighbour of itself.
    affected = genealogy_affected(lot_ids=[lots["MIX"].pk])
    assert sorted(lot.lot_code for lot in affected) == ["MIX", "RAW", "SKW"]
    assert all(lot.near for lot in affected)
