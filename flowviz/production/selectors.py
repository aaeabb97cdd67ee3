"""Reads of the production configuration: the scenario export, Flow Editor designs."""

from __future__ import annotations

import copy
import uuid
from decimal import Decimal
from typing import Any

from django.db.models import Count, OuterRef, Subquery
from django.http import Http404

from flowviz.production.models import FlowDefinition, FlowStatus, FlowVersion, Scenario
from flowviz.production.services import (
    CONFIG_LAYOUT_KEY,
    CONFIG_META_KEY,
    FLOW_NOT_FOUND,
    gate_type_from_file,
    version_not_found,
)
from quality.models import GateType, QcGate


def _file_number(number: Decimal) -> int | float:
    """A gate number as the file writes it: 6.0 → 6, 6.5 → 6.5."""
    return int(number) if number == number.to_integral_value() else float(number)


def _gate_type_for_file(gate: QcGate, original: str | None) -> str:
    # Keep the file's own wording (e.g. "CCP/oPRP") while it still means what the row says.
    if original is not None and gate_type_from_file(original) == (gate.gate_type, gate.is_ccp):
        return original
    if gate.is_ccp:
        return "CCP"
    return "oPRP" if gate.gate_type == GateType.CHECKPOINT else str(gate.gate_type)


def scenario_export(scenario: Scenario) -> dict:
    """The scenario as a scenario file (the frontend's format), built from the current rows.

    Importing the result gives the same rows; what no table holds (meta, stream nodes,
    sample lot codes, operational config) comes back from where the import kept it.
    """
    stored = copy.deepcopy(scenario.config or {})
    meta = stored.pop(CONFIG_META_KEY, None) or {"id": str(scenario.pk)}
    layout = stored.pop(CONFIG_LAYOUT_KEY, None) or {}
    stream_nodes = layout.get("streamNodes", {})
    phase_lots = layout.get("phaseLots", {})

    streams = list(scenario.streams.order_by("sort_order", "stream_key"))
    gates = list(QcGate.objects.filter(scenario=scenario).order_by("gate_number"))
    phases = list(scenario.phases.select_related("stream", "qc_gate").order_by("phase_number"))

    meta["title"] = scenario.name
    meta["version"] = scenario.version
    colours = {stream.stream_key: stream.color for stream in streams if stream.color}
    if colours or "theme" in meta:
        meta.setdefault("theme", {})["streamColors"] = colours

    original_types = {}
    for entry in stored.get("qcGates", []):
        if isinstance(entry, dict) and isinstance(entry.get("type"), str):
            original_types[str(entry.get("id"))] = entry["type"]
    file_gates = []
    for gate in gates:
        number = _file_number(gate.gate_number)
        entry = {
            "id": number,
            "name": gate.name,
            "type": _gate_type_for_file(gate, original_types.get(str(number))),
        }
        if gate.checklist:
            entry["checklist"] = gate.checklist
        file_gates.append(entry)
    config = {**stored, "qcGates": file_gates}

    return {
        "meta": meta,
        "i18n": scenario.i18n or {},
        "streams": {
            stream.stream_key: {"name": stream.name, "nodes": stream_nodes.get(stream.stream_key, [])}
            for stream in streams
        },
        "phases": [
            {
                "id": phase.phase_number,
                "name": phase.name,
                "desc": phase.description,
                "qcGate": _file_number(phase.qc_gate.gate_number) if phase.qc_gate else None,
                "lots": phase_lots.get(str(phase.phase_number), []),
                "stream": phase.stream.stream_key if phase.stream else None,
            }
            for phase in phases
        ],
        "config": config,
    }


# --- Flow Editor designs (contract section 10): rows as the contract's shapes ------------------

NO_DRAFT = "No draft version found for this flow"


def flow_as_dict(flow: FlowDefinition) -> dict[str, Any]:
    return {
        "id": flow.pk,
        "name": flow.name,
        "description": flow.description,
        "created_by": flow.created_by_id,
        "created_at": flow.created_at,
        "updated_at": flow.updated_at,
    }


def flow_version_list_item(version: FlowVersion) -> dict[str, Any]:
    return {
        "id": version.pk,
        "flow_definition_id": version.flow_definition_id,
        "version_num": version.version_num,
        "status": version.status,
        "created_by": version.created_by_id,
        "published_at": version.published_at,
        "created_at": version.created_at,
    }


def flow_version_as_dict(version: FlowVersion) -> dict[str, Any]:
    return {
        **flow_version_list_item(version),
        "graph_schema": version.graph_schema,
        "published_by": version.published_by_id,
    }


def flow_list() -> list[dict[str, Any]]:
    """Every flow with its latest version's number and status and its version count, most
    recently updated first: one query (correlated subqueries on the (flow, number) index)."""
    latest = FlowVersion.objects.filter(flow_definition=OuterRef("pk")).order_by("-version_num")
    counted = (
        FlowVersion.objects.filter(flow_definition=OuterRef("pk"))
        .order_by()
        .values("flow_definition")
        .annotate(n=Count("pk"))
        .values("n")
    )
    rows = (
        FlowDefinition.objects.annotate(
            latest_version_num=Subquery(latest.values("version_num")[:1]),
            latest_status=Subquery(latest.values("status")[:1]),
            version_count=Subquery(counted),
        )
        .order_by("-updated_at", "-id")
        .values(
            "id",
            "name",
            "description",
            "created_at",
            "updated_at",
            "latest_version_num",
            "latest_status",
            "version_count",
        )
    )
    return [{**row, "version_count": row["version_count"] or 0} for row in rows]


def _flow_exists(flow_id: uuid.UUID) -> bool:
    return FlowDefinition.objects.filter(pk=flow_id).exists()


def flow_get(*, flow_id: uuid.UUID) -> dict[str, Any]:
    flow = FlowDefinition.objects.filter(pk=flow_id).first()
    if flow is None:
        raise Http404(FLOW_NOT_FOUND)
    return flow_as_dict(flow)


def flow_versions_list(*, flow_id: uuid.UUID) -> list[dict[str, Any]]:
    """The flow's versions, highest number first (404 for an unknown flow)."""
    versions = FlowVersion.objects.filter(flow_definition_id=flow_id).order_by("-version_num")
    items = [flow_version_list_item(version) for version in versions.defer("graph_schema")]
    if not items and not _flow_exists(flow_id):
        raise Http404(FLOW_NOT_FOUND)
    return items


def flow_version_get(*, flow_id: uuid.UUID, version_num: int) -> dict[str, Any]:
    version = FlowVersion.objects.filter(flow_definition_id=flow_id, version_num=version_num).first()
    if version is None:
        raise Http404(version_not_found(version_num) if _flow_exists(flow_id) else FLOW_NOT_FOUND)
    return flow_version_as_dict(version)


def flow_draft_get(*, flow_id: uuid.UUID) -> dict[str, Any]:
    draft = FlowVersion.objects.filter(flow_definition_id=flow_id, status=FlowStatus.DRAFT).first()
    if draft is None:
        raise Http404(NO_DRAFT if _flow_exists(flow_id) else FLOW_NOT_FOUND)
    return flow_version_as_dict(draft)
