"""Reads of the production configuration: the scenario export."""

from __future__ import annotations

import copy
from decimal import Decimal

from flowviz.production.models import Scenario
from flowviz.production.services import CONFIG_LAYOUT_KEY, CONFIG_META_KEY, gate_type_from_file
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
