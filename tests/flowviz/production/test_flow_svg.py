"""The admin's picture of a flow graph: nodes where the editor put them, edges, swimlanes,
node types told apart; every text escaped; any stored graph drawable."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from flowviz.production.svg import NODE_STYLES, flow_graph_svg
from tests.flowviz.production.flow_support import line_graph

SVG = "{http://www.w3.org/2000/svg}"


def _parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # noqa: S314 (our own output)


def _nodes(root: ET.Element) -> dict[str, ET.Element]:
    return {g.get("data-node-id"): g for g in root.iter(f"{SVG}g") if "flow-node" in (g.get("class") or "")}


def _first_shape(group: ET.Element) -> ET.Element:
    return next(child for child in group if child.tag in (f"{SVG}rect", f"{SVG}polygon"))


def test_every_node_is_drawn_once_with_its_type():
    nodes = _nodes(_parse(flow_graph_svg(line_graph())))
    assert {node_id: group.get("data-node-type") for node_id, group in nodes.items()} == {
        "lane-a": "group",
        "in": "start",
        "debone": "process",
        "gate-3": "qc_gate",
        "chill": "buffer",
        "out": "end",
    }


def test_a_node_is_at_its_canvas_position_and_a_child_is_placed_inside_its_group():
    nodes = _nodes(_parse(flow_graph_svg(line_graph())))
    start = _first_shape(nodes["in"])
    assert (float(start.get("x")), float(start.get("y"))) == (0, 60)
    lane, debone = _first_shape(nodes["lane-a"]), _first_shape(nodes["debone"])
    # debone sits at (30, 60) inside the lane at (180, 0)
    assert (float(debone.get("x")), float(debone.get("y"))) == (210, 60)
    assert float(lane.get("x")) <= float(debone.get("x")) <= float(lane.get("x")) + float(lane.get("width"))


def test_node_types_are_told_apart_by_shape_and_colour():
    nodes = _nodes(_parse(flow_graph_svg(line_graph())))
    looks = {
        group.get("data-node-type"): (_first_shape(group).tag, _first_shape(group).get("fill"))
        for group in nodes.values()
    }
    assert len(set(looks.values())) == len(looks) == 6
    assert looks["qc_gate"][0] == f"{SVG}polygon"  # a diamond


def test_swimlanes_are_drawn_behind_edges_and_nodes():
    root = _parse(flow_graph_svg(line_graph()))
    order = [g.get("class").split()[0] for g in root if g.tag == f"{SVG}g" and g.get("class") != "legend"]
    assert order[0] == "flow-node"  # the lane
    assert order.index("flow-edge") < order.index("flow-node", 1)


def test_every_edge_is_drawn_from_its_source_to_its_target():
    root = _parse(flow_graph_svg(line_graph()))
    edges = [
        (g.get("data-source"), g.get("data-target"))
        for g in root.iter(f"{SVG}g")
        if g.get("class") == "flow-edge"
    ]
    assert edges == [(e["source"], e["target"]) for e in line_graph()["edges"]]


def test_the_legend_names_every_node_type():
    texts = [t.text for t in _parse(flow_graph_svg(line_graph())).iter(f"{SVG}text")]
    for style in NODE_STYLES.values():
        assert style[4] in texts


def test_labels_are_escaped():
    graph = line_graph()
    graph["nodes"][1]["data"]["label"] = {"hu": "<script>x</script>", "en": '"><script>x</script>'}
    svg = flow_graph_svg(graph)
    assert "<script>" not in svg
    _parse(svg)


@pytest.mark.parametrize(
    "graph",
    [
        {},
        {"nodes": [], "edges": []},
        {"nodes": "x", "edges": None},
        {"nodes": [{"id": "a", "position": {"x": "1", "y": None}, "data": "?"}], "edges": [{"source": "a"}]},
        {"nodes": [{"id": "a", "parentId": "b"}, {"id": "b", "parentId": "a"}]},
    ],
    ids=["empty_object", "empty_graph", "wrong_types", "odd_node", "parent_loop"],
)
def test_any_stored_graph_is_drawable(graph):
    _parse(flow_graph_svg(graph))
