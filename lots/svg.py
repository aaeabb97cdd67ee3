"""The picture of a lot's genealogy for the admin: an SVG drawn on the server.

Ancestors are to the left of the lot, descendants to the right, one column per step.
A column holds at most `max_per_column` lots; the rest collapse into one "+N more" node,
so a graph of hundreds of lots stays readable. Lots are coloured by their latest QC
decision; a suspect lot (made from a lot on HOLD or FAILed) gets a thick dashed red border
and says which held lots in its tooltip. Every text is XML-escaped.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from html import escape

from lots.selectors import GraphNode, LotGraph

NODE_WIDTH = 190
NODE_HEIGHT = 30
COLUMN_GAP = 70
ROW_GAP = 12
MARGIN = 16
HEADER_HEIGHT = 44
LEGEND_HEIGHT = 34
LABEL_CHARS = 24

# Fill and text colour per latest QC decision; None: no decision yet.
DECISION_COLOURS: dict[str | None, tuple[str, str]] = {
    "PASS": ("#2f9e44", "#ffffff"),
    "HOLD": ("#f08c00", "#ffffff"),
    "FAIL": ("#e03131", "#ffffff"),
    None: ("#ced4da", "#212529"),
}
DECISION_LABELS = (("PASS", "PASS"), ("HOLD", "HOLD"), ("FAIL", "FAIL"), (None, "no decision"))
SUSPECT_STROKE = ' stroke="#c92a2a" stroke-width="3" stroke-dasharray="6 3"'
SUSPECT_LABEL = "suspect: made from a held lot"


@dataclass
class _Box:
    x: int
    y: int
    node: GraphNode | None  # None: the "+N more" box of a column
    hidden: int = 0


def _attr(value: object) -> str:
    return escape(str(value), quote=True)


def _label(code: str) -> str:
    return code if len(code) <= LABEL_CHARS else code[: LABEL_CHARS - 1] + "…"


def genealogy_svg(
    graph: LotGraph,
    *,
    decisions: Mapping[uuid.UUID, str],
    href: Callable[[uuid.UUID], str],
    suspects: Mapping[uuid.UUID, Sequence[str]] | None = None,
    max_depth: int = 3,
    max_per_column: int = 12,
) -> str:
    """The SVG (a string) of `graph`: nodes coloured by `decisions`, each linking to `href(id)`;
    `suspects` maps a suspect lot to the codes of the held lots it was made from.

    Nodes further than `max_depth` steps are left out (the picture says so); they may be in
    the graph to tell whether the genealogy goes on beyond the picture.
    """
    suspects = suspects or {}
    columns: dict[int, list[GraphNode]] = {}
    beyond = 0
    for node in graph.nodes:
        if abs(node.depth) > max_depth:
            beyond += 1
            continue
        columns.setdefault(node.depth, []).append(node)

    depths = sorted(columns)
    boxes: dict[uuid.UUID, _Box] = {}
    more_boxes: list[_Box] = []
    collapsed = 0
    tallest = max(min(len(nodes), max_per_column) for nodes in columns.values())
    body_height = tallest * NODE_HEIGHT + (tallest - 1) * ROW_GAP
    column_boxes: list[list[_Box]] = []
    for index, depth in enumerate(depths):
        nodes = sorted(columns[depth], key=lambda n: (n.depth != 0, n.lot.lot_code))
        shown, hidden = nodes, []
        if len(nodes) > max_per_column:
            shown, hidden = nodes[: max_per_column - 1], nodes[max_per_column - 1 :]
        rows = len(shown) + (1 if hidden else 0)
        height = rows * NODE_HEIGHT + (rows - 1) * ROW_GAP
        x = MARGIN + index * (NODE_WIDTH + COLUMN_GAP)
        y0 = HEADER_HEIGHT + (body_height - height) // 2
        column: list[_Box] = []
        for row, node in enumerate(shown):
            box = _Box(x, y0 + row * (NODE_HEIGHT + ROW_GAP), node)
            boxes[node.lot.pk] = box
            column.append(box)
        if hidden:
            more = _Box(x, y0 + len(shown) * (NODE_HEIGHT + ROW_GAP), None, hidden=len(hidden))
            for node in hidden:
                boxes[node.lot.pk] = more
            more_boxes.append(more)
            column.append(more)
            collapsed += len(hidden)
        column_boxes.append(column)

    width = 2 * MARGIN + len(depths) * NODE_WIDTH + (len(depths) - 1) * COLUMN_GAP
    legend_width = (
        MARGIN + sum(30 + 8 * len(label) for _, label in DECISION_LABELS) + 20 + 8 * len(SUSPECT_LABEL)
    )
    width = max(width, legend_width)
    height = HEADER_HEIGHT + body_height + ROW_GAP + LEGEND_HEIGHT
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="lot-genealogy" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{_attr("Genealogy of " + graph.root.lot_code)}" '
        'font-family="system-ui, sans-serif" font-size="12">',
        f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
    ]

    notes = [f"Ancestors ← {graph.root.lot_code} → descendants; up to {max_depth} steps each way."]
    if beyond:
        notes.append("The genealogy continues beyond the picture.")
    if collapsed:
        notes.append(f"{collapsed} lots collapsed into “+N more” (at most {max_per_column} per column).")
    lines = [notes[0], " ".join(notes[1:])] if len(notes) > 1 else notes
    for line, note in enumerate(lines):
        parts.append(
            f'<text class="note" x="{MARGIN}" y="{16 + line * 16}" fill="#495057">{_attr(note)}</text>'
        )

    drawn: set[tuple[int, int]] = set()
    edge_parts = []
    for edge in graph.edges:
        parent, child = boxes.get(edge.parent_lot_id), boxes.get(edge.child_lot_id)
        if parent is None or child is None or parent is child:
            continue
        key = (id(parent), id(child))
        if key in drawn:
            continue
        drawn.add(key)
        x1, y1 = parent.x + NODE_WIDTH, parent.y + NODE_HEIGHT // 2
        x2, y2 = child.x, child.y + NODE_HEIGHT // 2
        bend = max(COLUMN_GAP // 2, abs(x2 - x1) // 2)
        edge_parts.append(
            f'<path class="edge" d="M{x1},{y1} C{x1 + bend},{y1} {x2 - bend},{y2} {x2},{y2}" '
            'fill="none" stroke="#868e96" stroke-width="1.5"/>'
        )
    parts.extend(edge_parts)

    for column in column_boxes:
        for box in column:
            if box.node is None:
                parts.append(
                    f'<g class="more"><rect x="{box.x}" y="{box.y}" width="{NODE_WIDTH}" '
                    f'height="{NODE_HEIGHT}" rx="6" fill="#f8f9fa" stroke="#868e96" '
                    f'stroke-dasharray="4 3"/><text x="{box.x + NODE_WIDTH // 2}" '
                    f'y="{box.y + 19}" text-anchor="middle" fill="#495057">+{box.hidden} more</text></g>'
                )
                continue
            lot = box.node.lot
            decision = decisions.get(lot.pk)
            held_by = suspects.get(lot.pk, ())
            fill, ink = DECISION_COLOURS.get(decision, DECISION_COLOURS[None])
            is_root = box.node.depth == 0
            stroke = ' stroke="#212529" stroke-width="3"' if is_root else ' stroke="#495057" stroke-width="1"'
            if held_by:
                stroke = SUSPECT_STROKE
            weight = ' font-weight="bold"' if is_root else ""
            suspicion = f"suspect: made from {', '.join(held_by)}" if held_by else ""
            tooltip = " · ".join(
                part
                for part in (lot.lot_code, lot.lot_type or "", decision or "no QC decision", suspicion)
                if part
            )
            parts.append(
                f'<a class="lot" href="{_attr(href(lot.pk))}" data-lot-code="{_attr(lot.lot_code)}" '
                f'data-decision="{_attr(decision or "NONE")}" data-suspect="{"yes" if held_by else "no"}">'
                f"<title>{_attr(tooltip)}</title>"
                f'<rect x="{box.x}" y="{box.y}" width="{NODE_WIDTH}" height="{NODE_HEIGHT}" rx="6" '
                f'fill="{fill}"{stroke}/><text x="{box.x + 10}" y="{box.y + 19}" fill="{ink}"'
                f"{weight}>{_attr(_label(lot.lot_code))}</text></a>"
            )

    legend_y = HEADER_HEIGHT + body_height + ROW_GAP + 8
    x = MARGIN
    for decision, label in DECISION_LABELS:
        fill, _ = DECISION_COLOURS[decision]
        parts.append(
            f'<rect x="{x}" y="{legend_y}" width="14" height="14" rx="3" fill="{fill}" stroke="#495057"/>'
            f'<text x="{x + 20}" y="{legend_y + 12}" fill="#495057">{_attr(label)}</text>'
        )
        x += 30 + 8 * len(label)
    parts.append(
        f'<rect x="{x}" y="{legend_y}" width="14" height="14" rx="3" fill="#ffffff"{SUSPECT_STROKE}/>'
        f'<text x="{x + 20}" y="{legend_y + 12}" fill="#495057">{_attr(SUSPECT_LABEL)}</text>'
    )
    parts.append("</svg>")
    return "".join(parts)
