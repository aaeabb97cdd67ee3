"""The genealogy picture: every node of a small graph, coloured by decision; big graphs collapse."""

from __future__ import annotations

import itertools
import re
import xml.etree.ElementTree as ET
from decimal import Decimal

import pytest

from lots.models import Lot, LotGenealogy
from lots.selectors import lot_graph, lot_latest_decisions
from lots.svg import DECISION_COLOURS, genealogy_svg
from quality.models import QcDecision

SVG = "{http://www.w3.org/2000/svg}"


def _href(lot_id) -> str:
    return f"/admin/lots/lot/{lot_id}/change/"


def _lot(code: str, lot_type: str = "MIX") -> Lot:
    return Lot.objects.create(lot_code=code, lot_type=lot_type, weight_kg=Decimal("10"))


def _link(parent: Lot, child: Lot) -> None:
    LotGenealogy.objects.create(parent_lot=parent, child_lot=child, quantity_used_kg=Decimal("1"))


def _nodes(svg: str) -> dict[str, ET.Element]:
    root = ET.fromstring(svg)  # noqa: S314 (our own output) - also proves it is well-formed XML
    return {a.get("data-lot-code"): a for a in root.iter(f"{SVG}a")}


def _fill(anchor: ET.Element) -> str:
    return anchor.find(f"{SVG}rect").get("fill")


@pytest.mark.django_db
def test_the_picture_has_every_lot_of_a_small_graph_with_its_link_and_decision_colour(demo):
    beef, spice = Lot.objects.get(lot_code="RAW-BEEF-001"), Lot.objects.get(lot_code="RAW-SPICE-001")
    QcDecision.objects.create(lot=beef, decision="HOLD")
    QcDecision.objects.create(lot=beef, decision="PASS")  # the latest one counts
    QcDecision.objects.create(lot=spice, decision="FAIL")
    graph = lot_graph(lot_code="MIX-BATCH-88")
    decisions = lot_latest_decisions(lot_ids=[node.lot.pk for node in graph.nodes])

    svg = genealogy_svg(graph, decisions=decisions, href=_href)

    nodes = _nodes(svg)
    assert set(nodes) == {"RAW-BEEF-001", "RAW-SPICE-001", "MIX-BATCH-88", "FG-DONER-X1"}
    for node in graph.nodes:
        assert nodes[node.lot.lot_code].get("href") == _href(node.lot.pk)
    assert _fill(nodes["RAW-BEEF-001"]) == DECISION_COLOURS["PASS"][0]
    assert _fill(nodes["RAW-SPICE-001"]) == DECISION_COLOURS["FAIL"][0]
    assert _fill(nodes["MIX-BATCH-88"]) == DECISION_COLOURS[None][0]
    assert svg.count('class="edge"') == 3
    assert "collapsed" not in svg


@pytest.mark.django_db
def test_ancestors_are_drawn_left_of_the_lot_and_descendants_right(demo):
    graph = lot_graph(lot_code="MIX-BATCH-88")
    nodes = _nodes(genealogy_svg(graph, decisions={}, href=_href))
    x = {code: float(anchor.find(f"{SVG}rect").get("x")) for code, anchor in nodes.items()}
    assert x["RAW-BEEF-001"] == x["RAW-SPICE-001"] < x["MIX-BATCH-88"] < x["FG-DONER-X1"]


@pytest.mark.django_db
def test_a_hold_decision_is_orange():
    lot = _lot("HOLD-ME")
    QcDecision.objects.create(lot=lot, decision="HOLD")
    graph = lot_graph(lot_code="HOLD-ME")
    nodes = _nodes(genealogy_svg(graph, decisions=lot_latest_decisions(lot_ids=[lot.pk]), href=_href))
    assert _fill(nodes["HOLD-ME"]) == DECISION_COLOURS["HOLD"][0] == "#f08c00"


@pytest.mark.django_db
def test_the_latest_decisions_of_all_graph_nodes_take_one_query(demo, django_assert_num_queries):
    lot_ids = list(Lot.objects.values_list("pk", flat=True))
    for lot_id in lot_ids:
        QcDecision.objects.create(lot_id=lot_id, decision="PASS")
    with django_assert_num_queries(1):
        decisions = lot_latest_decisions(lot_ids=lot_ids)
    assert decisions == dict.fromkeys(lot_ids, "PASS")


@pytest.mark.django_db
def test_a_graph_of_hundreds_of_lots_is_collapsed_per_column_with_a_note():
    root = _lot("ROOT-MIX")
    parents = [_lot(f"RAW-{i:03d}", "RAW") for i in range(150)]
    children = [_lot(f"SKW-{i:03d}", "SKW") for i in range(150)]
    for parent in parents:
        _link(parent, root)
    for child in children:
        _link(root, child)
    graph = lot_graph(lot_code="ROOT-MIX")

    svg = genealogy_svg(graph, decisions={}, href=_href, max_per_column=12)

    nodes = _nodes(svg)
    assert len(nodes) == 1 + 11 + 11
    assert svg.count("+139 more") == 2
    assert "278 lots collapsed into “+N more” (at most 12 per column)." in svg
    assert svg.count('class="edge"') == 11 + 1 + 11 + 1
    height = int(re.search(r'height="(\d+)"', svg).group(1))
    assert height < 700


@pytest.mark.django_db
def test_lots_beyond_the_depth_limit_are_left_out_with_a_note():
    chain = [_lot(f"STEP-{i}") for i in range(6)]
    for parent, child in itertools.pairwise(chain):
        _link(parent, child)
    graph = lot_graph(lot_code="STEP-0", max_depth=4)
    svg = genealogy_svg(graph, decisions={}, href=_href, max_depth=3)
    assert set(_nodes(svg)) == {"STEP-0", "STEP-1", "STEP-2", "STEP-3"}
    assert "The genealogy continues beyond the picture." in svg


@pytest.mark.django_db
def test_lot_codes_are_escaped_in_the_picture():
    _lot('<script>alert("x")</script>&')
    graph = lot_graph(lot_code='<script>alert("x")</script>&')
    svg = genealogy_svg(graph, decisions={}, href=_href)
    assert "<script>" not in svg
    assert '<script>alert("x")</script>&' in _nodes(svg)


@pytest.mark.django_db
def test_a_suspect_lot_is_marked_and_says_which_held_lots_it_was_made_from(demo):
    from lots.svg import SUSPECT_LABEL, SUSPECT_STROKE

    graph = lot_graph(lot_code="MIX-BATCH-88")
    ids = {node.lot.lot_code: node.lot.pk for node in graph.nodes}
    svg = genealogy_svg(
        graph,
        decisions={ids["RAW-BEEF-001"]: "HOLD"},
        suspects={ids["MIX-BATCH-88"]: ("RAW-BEEF-001",), ids["FG-DONER-X1"]: ("RAW-BEEF-001",)},
        href=_href,
    )
    nodes = _nodes(svg)
    assert {code: node.get("data-suspect") for code, node in nodes.items()} == {
        "RAW-BEEF-001": "no",
        "RAW-SPICE-001": "no",
        "MIX-BATCH-88": "yes",
        "FG-DONER-X1": "yes",
    }
    mix = nodes["MIX-BATCH-88"]
    assert "suspect: made from RAW-BEEF-001" in mix.find(f"{SVG}title").text
    assert (
        mix.find(f"{SVG}rect").get("stroke-dasharray") == re.search(r'dasharray="([^"]+)"', SUSPECT_STROKE)[1]
    )
    assert SUSPECT_LABEL in svg  # the legend
