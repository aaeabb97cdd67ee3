"""Flow Editor designs for tests: a valid graph of a small line, and flows made through the services."""

from __future__ import annotations

import copy
import uuid

from accounts.models import User
from flowviz.production import services
from flowviz.production.models import FlowDefinition


def _node(node_id: str, node_type: str, x: float, y: float, label: str, **extra: object) -> dict:
    return {
        "id": node_id,
        "type": "default",
        "position": {"x": x, "y": y},
        "data": {"label": {"hu": label, "en": label}, "nodeType": node_type, "config": {}},
        **extra,
    }


# Raw meat in, through deboning and a QC gate, out as bulk; the middle steps in a swimlane.
LINE_GRAPH = {
    "nodes": [
        _node("lane-a", "group", 180, 0, "Stream A", width=420, height=200),
        _node("in", "start", 0, 60, "Goods in"),
        _node("debone", "process", 30, 60, "Deboning", parentId="lane-a", extent="parent"),
        _node("gate-3", "qc_gate", 230, 60, "QC gate 3", parentId="lane-a", extent="parent"),
        _node("chill", "buffer", 680, 20, "Chiller"),
        _node("out", "end", 880, 60, "Bulk out"),
    ],
    "edges": [
        {"id": "e1", "source": "in", "target": "debone", "animated": False},
        {"id": "e2", "source": "debone", "target": "gate-3", "animated": True, "label": "kg"},
        {"id": "e3", "source": "gate-3", "target": "chill", "animated": False},
        {"id": "e4", "source": "chill", "target": "out", "animated": False},
    ],
    "viewport": {"x": 0, "y": 0, "zoom": 1},
}

FLOW_NAME = {"hu": "Kebab sor", "en": "Doner line"}


def line_graph() -> dict:
    return copy.deepcopy(LINE_GRAPH)


def flow_with_draft(
    *, actor: User | None = None, graph: dict | None = None, name: dict | None = None
) -> uuid.UUID:
    """A new flow whose version 1 (its draft) holds `graph` (the line by default)."""
    flow = services.flow_definition_create(name=name or FLOW_NAME, description="Line 1", actor=actor)
    services.flow_version_graph_update(flow_id=flow.pk, version_num=1, graph_schema=graph or line_graph())
    return flow.pk


def flow_published(*, actor: User | None = None) -> uuid.UUID:
    """A flow whose version 1 is PUBLISHED and version 2 is the new draft."""
    flow_id = flow_with_draft(actor=actor)
    services.flow_version_publish(flow_id=flow_id, version_num=1, actor=actor)
    return flow_id


def flow_row(flow_id: uuid.UUID) -> FlowDefinition:
    return FlowDefinition.objects.get(pk=flow_id)
