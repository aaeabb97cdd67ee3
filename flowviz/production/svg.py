"""The picture of a flow version's graph for the admin: an SVG drawn on the server.

Nodes are drawn where the Flow Editor put them (React Flow canvas coordinates: a child's
position is relative to its parent group), edges as arrows from source to target, groups as
swimlanes behind the nodes. Node types are told apart by shape and colour (a legend says
which is which). The picture is shifted so every node is in view. Every text is XML-escaped;
the graph is read defensively (a value of the wrong type is drawn with a default, never an error).
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from typing import Any

from flowviz.core.formats import bilingual_text

MARGIN = 24
LEGEND_HEIGHT = 40
LABEL_CHARS = 22
DEFAULT_SIZE = (150.0, 40.0)
DEFAULT_GROUP_SIZE = (300.0, 160.0)

# nodeType → (shape, fill, stroke, text colour, legend label)
NODE_STYLES: dict[str, tuple[str, str, str, str, str]] = {
    "start": ("pill", "#2f9e44", "#2b8a3e", "#ffffff", "start"),
    "end": ("pill-double", "#c92a2a", "#862e2e", "#ffffff", "end"),
    "process": ("rect", "#1971c2", "#1864ab", "#ffffff", "process"),
    "qc_gate": ("diamond", "#f08c00", "#d9480f", "#ffffff", "QC gate"),
    "buffer": ("hexagon", "#7048e8", "#5f3dc4", "#ffffff", "buffer"),
    "group": ("lane", "#f1f3f5", "#868e96", "#495057", "swimlane (group)"),
}
UNKNOWN_STYLE = ("rect", "#ced4da", "#495057", "#212529", "other")
LEGEND_STEP, LEGEND_CHAR = 40, 7
LEGEND_WIDTH = 2 * MARGIN + sum(LEGEND_STEP + LEGEND_CHAR * len(style[4]) for style in NODE_STYLES.values())


@dataclass
class _Box:
    node_id: str
    node_type: str
    label: str
    x: float
    y: float
    width: float
    height: float

    @property
    def centre(self) -> tuple[float, float]:
        return self.x + self.width / 2, self.y + self.height / 2


def _attr(value: object) -> str:
    return escape(str(value), quote=True)


def _fit(text: str, chars: int = LABEL_CHARS) -> str:
    return text if len(text) <= chars else text[: chars - 1] + "…"


def _number(value: object, default: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return default
    return float(value)


def _size(node: dict[str, Any], node_type: str) -> tuple[float, float]:
    default = DEFAULT_GROUP_SIZE if node_type == "group" else DEFAULT_SIZE
    measured = node.get("measured") if isinstance(node.get("measured"), dict) else {}
    style = node.get("style") if isinstance(node.get("style"), dict) else {}
    sizes = []
    for key, fallback in (("width", default[0]), ("height", default[1])):
        value = node.get(key, measured.get(key, style.get(key)))
        sizes.append(max(_number(value, fallback), 10.0))
    return sizes[0], sizes[1]


def _boxes(nodes: list[dict[str, Any]]) -> list[_Box]:
    """Each node at its absolute canvas position (children are placed relative to their parent)."""
    by_id = {str(node.get("id")): node for node in nodes if isinstance(node, dict)}
    absolute: dict[str, tuple[float, float]] = {}

    def position(node_id: str, seen: frozenset[str] = frozenset()) -> tuple[float, float]:
        if node_id in absolute:
            return absolute[node_id]
        node = by_id[node_id]
        own = node.get("position") if isinstance(node.get("position"), dict) else {}
        x, y = _number(own.get("x"), 0.0), _number(own.get("y"), 0.0)
        parent = node.get("parentId")
        if isinstance(parent, str) and parent in by_id and parent not in seen | {node_id}:
            parent_x, parent_y = position(parent, seen | {node_id})
            x, y = x + parent_x, y + parent_y
        absolute[node_id] = (x, y)
        return x, y

    boxes = []
    for node_id, node in by_id.items():
        data = node.get("data") if isinstance(node.get("data"), dict) else {}
        node_type = data.get("nodeType") if isinstance(data.get("nodeType"), str) else ""
        x, y = position(node_id)
        width, height = _size(node, node_type)
        label = bilingual_text(data.get("label")) or node_id
        boxes.append(_Box(node_id, node_type, label, x, y, width, height))
    return boxes


def _shape(box: _Box, shape: str, fill: str, stroke: str) -> str:
    x, y, w, h = box.x, box.y, box.width, box.height
    cx, cy = box.centre
    paint = f'fill="{fill}" stroke="{stroke}" stroke-width="1.5"'
    if shape == "lane":
        return (
            f'<rect x="{x:g}" y="{y:g}" width="{w:g}" height="{h:g}" rx="4" {paint} stroke-dasharray="6 4"/>'
        )
    if shape in ("pill", "pill-double"):
        outline = f'<rect x="{x:g}" y="{y:g}" width="{w:g}" height="{h:g}" rx="{h / 2:g}" {paint}/>'
        if shape == "pill-double":
            inset = min(4.0, h / 4)
            outline += (
                f'<rect x="{x + inset:g}" y="{y + inset:g}" width="{w - 2 * inset:g}" '
                f'height="{h - 2 * inset:g}" rx="{h / 2 - inset:g}" fill="none" stroke="#ffffff" '
                'stroke-width="1"/>'
            )
        return outline
    if shape == "diamond":
        points = f"{cx:g},{y:g} {x + w:g},{cy:g} {cx:g},{y + h:g} {x:g},{cy:g}"
        return f'<polygon points="{points}" {paint}/>'
    if shape == "hexagon":
        inset = min(w / 4, h / 2)
        points = (
            f"{x + inset:g},{y:g} {x + w - inset:g},{y:g} {x + w:g},{cy:g} "
            f"{x + w - inset:g},{y + h:g} {x + inset:g},{y + h:g} {x:g},{cy:g}"
        )
        return f'<polygon points="{points}" {paint}/>'
    return f'<rect x="{x:g}" y="{y:g}" width="{w:g}" height="{h:g}" rx="4" {paint}/>'


def _edge(edge: dict[str, Any], boxes: dict[str, _Box]) -> str:
    source, target = boxes.get(str(edge.get("source"))), boxes.get(str(edge.get("target")))
    if source is None or target is None:
        return ""
    x1, y1 = source.x + source.width, source.centre[1]
    x2, y2 = target.x, target.centre[1]
    if x2 < x1:  # target left of source: leave from the bottom, arrive at the top
        x1, y1 = source.centre[0], source.y + source.height
        x2, y2 = target.centre[0], target.y
    bend = max(abs(x2 - x1) / 2, 30.0)
    dashed = ' stroke-dasharray="5 4"' if edge.get("animated") is True else ""
    label = edge.get("label")
    text = bilingual_text(label) if isinstance(label, dict | str) else ""
    caption = (
        f'<text x="{(x1 + x2) / 2:g}" y="{(y1 + y2) / 2 - 6:g}" text-anchor="middle" fill="#495057" '
        f'font-size="11">{_attr(_fit(text))}</text>'
        if text
        else ""
    )
    return (
        f'<g class="flow-edge" data-edge-id="{_attr(edge.get("id", ""))}" '
        f'data-source="{_attr(source.node_id)}" data-target="{_attr(target.node_id)}">'
        f'<path d="M{x1:g},{y1:g} C{x1 + bend:g},{y1:g} {x2 - bend:g},{y2:g} {x2:g},{y2:g}" fill="none" '
        f'stroke="#495057" stroke-width="1.5" marker-end="url(#flow-arrow)"{dashed}/>{caption}</g>'
    )


def _node(box: _Box) -> str:
    shape, fill, stroke, ink, kind = NODE_STYLES.get(box.node_type, UNKNOWN_STYLE)
    cx, cy = box.centre
    if shape == "lane":  # the lane's name at its top left corner, the lane itself behind the nodes
        text = f'<text x="{box.x + 8:g}" y="{box.y + 16:g}" fill="{ink}" font-weight="bold">'
    else:
        text = f'<text x="{cx:g}" y="{cy + 4:g}" text-anchor="middle" fill="{ink}">'
    return (
        f'<g class="flow-node node-{_attr(box.node_type or "unknown")}" data-node-id="{_attr(box.node_id)}" '
        f'data-node-type="{_attr(box.node_type)}"><title>{_attr(f"{box.label} ({kind})")}</title>'
        f"{_shape(box, shape, fill, stroke)}{text}{_attr(_fit(box.label))}</text></g>"
    )


def flow_graph_svg(graph: dict[str, Any], *, title: str = "") -> str:
    """The SVG (a string) of a stored `graph_schema`."""
    nodes = graph.get("nodes") if isinstance(graph, dict) and isinstance(graph.get("nodes"), list) else []
    edges = graph.get("edges") if isinstance(graph, dict) and isinstance(graph.get("edges"), list) else []
    boxes = _boxes(nodes)
    min_x = min((box.x for box in boxes), default=0.0)
    min_y = min((box.y for box in boxes), default=0.0)
    max_x = max((box.x + box.width for box in boxes), default=300.0)
    max_y = max((box.y + box.height for box in boxes), default=60.0)
    width = max(max_x - min_x + 2 * MARGIN, LEGEND_WIDTH)
    height = max_y - min_y + 2 * MARGIN + LEGEND_HEIGHT
    # Canvas coordinates are kept; the view box starts at the top left node (less the margin).
    left, top = min_x - MARGIN, min_y - MARGIN
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="flow-graph" width="{width:g}" height="{height:g}" '
        f'viewBox="{left:g} {top:g} {width:g} {height:g}" role="img" '
        f'aria-label="{_attr(title or "Flow graph")}" font-family="system-ui, sans-serif" font-size="12">',
        '<defs><marker id="flow-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" '
        'markerHeight="8" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#495057"/>'
        "</marker></defs>",
        f'<rect x="{left:g}" y="{top:g}" width="{width:g}" height="{height:g}" fill="#ffffff"/>',
    ]
    if not boxes:
        parts.append(
            f'<text x="{left + MARGIN:g}" y="{top + MARGIN + 12:g}" fill="#495057">An empty graph.</text>'
        )
    by_id = {box.node_id: box for box in boxes}
    # Swimlanes first (behind), then edges, then the other nodes on top.
    parts.extend(_node(box) for box in boxes if box.node_type == "group")
    parts.extend(_edge(edge, by_id) for edge in edges if isinstance(edge, dict))
    parts.extend(_node(box) for box in boxes if box.node_type != "group")

    legend_y = top + height - LEGEND_HEIGHT + 12
    x = left + MARGIN
    for node_type, (shape, fill, stroke, _, label) in NODE_STYLES.items():
        sample = _Box(node_type, node_type, label, x, legend_y, 22, 14)
        parts.append(f'<g class="legend">{_shape(sample, shape, fill, stroke)}')
        parts.append(f'<text x="{x + 28:g}" y="{legend_y + 11:g}" fill="#495057">{_attr(label)}</text></g>')
        x += LEGEND_STEP + LEGEND_CHAR * len(label)
    parts.append("</svg>")
    return "".join(parts)
