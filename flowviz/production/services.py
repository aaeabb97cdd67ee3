"""Writes of the production configuration: scenario import and activation."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.db.models import ProtectedError, Q

from flowviz.production.models import Phase, Scenario, Stream
from quality.models import GateType, QcGate

# Keys of `scenarios.config` that the import adds to the file's `config`; export removes them.
CONFIG_META_KEY = "meta"
# Parts of the file the frontend draws but no table holds (stream nodes, sample lot codes).
CONFIG_LAYOUT_KEY = "layout"

_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


class ScenarioFileError(ValueError):
    """A scenario file that cannot be imported; the message names every problem found."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


@dataclass
class _Problems:
    items: list[str]

    def add(self, path: str, message: str) -> None:
        self.items.append(f"{path}: {message}")


def _check_bilingual(problems: _Problems, path: str, value: object, *, required: bool = True) -> None:
    if value is None and not required:
        return
    if not isinstance(value, dict):
        problems.add(path, 'expected {"hu": ..., "en": ...}')
        return
    if not all(isinstance(text, str) for text in value.values()):
        problems.add(path, "every language's text must be a string")
    elif required and not any(value.values()):
        problems.add(path, "needs a text in at least one language")


def gate_number(value: object) -> Decimal | None:
    """A gate number from the file (1, 6.5) as the column stores it, or None if invalid."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    if not number.is_finite() or number != number.quantize(Decimal("0.1")) or abs(number) >= 1000:
        return None
    return number.quantize(Decimal("0.1"))


def gate_type_from_file(value: str) -> tuple[str, bool] | None:
    """(gate_type, is_ccp) for a file's gate type: CCP → blocking CCP, oPRP → checkpoint."""
    if "CCP" in value:
        return GateType.BLOCKING, True
    if "PRP" in value:
        return GateType.CHECKPOINT, False
    if value.upper() in GateType.values:
        return value.upper(), False
    return None


def scenario_file_validate(data: object) -> None:
    """Raise ScenarioFileError naming each problem (path: message) of a scenario file."""
    problems = _Problems([])
    if not isinstance(data, dict):
        raise ScenarioFileError(["the file must hold a JSON object with meta, streams, phases, config"])
    for key, kind in (("meta", dict), ("streams", dict), ("phases", list), ("config", dict)):
        if not isinstance(data.get(key), kind):
            problems.add(key, f"missing or not a JSON {'object' if kind is dict else 'array'}")
    if "i18n" in data and not isinstance(data["i18n"], dict):
        problems.add("i18n", "not a JSON object")
    if problems.items:
        raise ScenarioFileError(problems.items)

    meta = data["meta"]
    for key in ("id", "version"):
        if not isinstance(meta.get(key), str) or not meta.get(key, "").strip():
            problems.add(f"meta.{key}", "missing or not a non-empty string")
    _check_bilingual(problems, "meta.title", meta.get("title"))
    colours = (meta.get("theme") or {}).get("streamColors") if isinstance(meta.get("theme"), dict) else None
    if colours is not None and not isinstance(colours, dict):
        problems.add("meta.theme.streamColors", "not a JSON object")
        colours = None
    for key, colour in (colours or {}).items():
        if not isinstance(colour, str) or not _COLOUR.match(colour):
            problems.add(f"meta.theme.streamColors.{key}", f"{colour!r} is not a colour like #4a9eff")

    streams = data["streams"]
    for key, stream in streams.items():
        if not key.strip():
            problems.add("streams", "a stream key is empty")
        if not isinstance(stream, dict):
            problems.add(f"streams.{key}", "not a JSON object")
            continue
        _check_bilingual(problems, f"streams.{key}.name", stream.get("name"))
        if "nodes" in stream and not isinstance(stream["nodes"], list):
            problems.add(f"streams.{key}.nodes", "not a JSON array")

    gates = data["config"].get("qcGates", [])
    gate_numbers: set[Decimal] = set()
    if not isinstance(gates, list):
        problems.add("config.qcGates", "not a JSON array")
        gates = []
    for index, gate in enumerate(gates):
        path = f"config.qcGates[{index}]"
        if not isinstance(gate, dict):
            problems.add(path, "not a JSON object")
            continue
        number = gate_number(gate.get("id"))
        if number is None:
            problems.add(f"{path}.id", f"{gate.get('id')!r} is not a gate number like 6 or 6.5")
        elif number in gate_numbers:
            problems.add(f"{path}.id", f"gate {number.normalize():f} appears twice")
        else:
            gate_numbers.add(number)
        _check_bilingual(problems, f"{path}.name", gate.get("name"))
        gate_type = gate.get("type")
        if not isinstance(gate_type, str) or gate_type_from_file(gate_type) is None:
            problems.add(
                f"{path}.type", f"{gate_type!r} is not a gate type (CCP, oPRP, CHECKPOINT, BLOCKING, INFO)"
            )
        checklist = gate.get("checklist", [])
        if not isinstance(checklist, list) or not all(isinstance(item, str) for item in checklist):
            problems.add(f"{path}.checklist", "not a list of strings")

    phase_numbers: set[int] = set()
    for index, phase in enumerate(data["phases"]):
        path = f"phases[{index}]"
        if not isinstance(phase, dict):
            problems.add(path, "not a JSON object")
            continue
        number = phase.get("id")
        if isinstance(number, bool) or not isinstance(number, int):
            problems.add(f"{path}.id", f"{number!r} is not a whole phase number")
        elif number in phase_numbers:
            problems.add(f"{path}.id", f"phase {number} appears twice")
        else:
            phase_numbers.add(number)
        _check_bilingual(problems, f"{path}.name", phase.get("name"))
        _check_bilingual(problems, f"{path}.desc", phase.get("desc"), required=False)
        gate_ref = phase.get("qcGate")
        if gate_ref is not None:
            number = gate_number(gate_ref)
            if number is None or number not in gate_numbers:
                problems.add(f"{path}.qcGate", f"gate {gate_ref} is not in config.qcGates")
        stream_ref = phase.get("stream")
        if stream_ref is not None and stream_ref not in streams:
            problems.add(f"{path}.stream", f"stream {stream_ref!r} is not in streams")
        if "lots" in phase and not isinstance(phase["lots"], list):
            problems.add(f"{path}.lots", "not a JSON array")
    if problems.items:
        raise ScenarioFileError(problems.items)


def _remove_missing(queryset, *, what: str) -> None:
    try:
        queryset.delete()
    except ProtectedError as error:
        names = sorted({str(obj) for obj in error.protected_objects})[:5]
        raise ScenarioFileError(
            [
                f"{what} is no longer in the file but is still used (by {', '.join(names)}); "
                "it cannot be removed"
            ]
        ) from error


def scenario_import(*, data: dict) -> Scenario:
    """Create or update (by meta.id + meta.version) a scenario from a scenario file.

    The whole file or nothing: a problem raises ScenarioFileError and nothing is written.
    Streams, gates and phases are matched by key/number and updated in place (ids stay),
    those no longer in the file are removed.
    """
    # A file with a problem is refused before a database connection is opened.
    scenario_file_validate(data)
    return _scenario_write(data)


@transaction.atomic
def _scenario_write(data: dict) -> Scenario:
    meta = data["meta"]
    streams_data: dict = data["streams"]
    config = {key: value for key, value in data["config"].items()}
    config[CONFIG_META_KEY] = meta
    config[CONFIG_LAYOUT_KEY] = {
        "streamNodes": {key: stream.get("nodes", []) for key, stream in streams_data.items()},
        "phaseLots": {str(phase["id"]): phase.get("lots", []) for phase in data["phases"]},
    }

    scenario = (
        Scenario.objects.select_for_update()
        .filter(**{f"config__{CONFIG_META_KEY}__id": meta["id"]}, version=meta["version"])
        .order_by("pk")
        .first()
    ) or Scenario(version=meta["version"])
    scenario.name = meta["title"]
    scenario.config = config
    scenario.i18n = data.get("i18n", {})
    scenario.full_clean()
    scenario.save()

    colours = (meta.get("theme") or {}).get("streamColors") or {}
    existing_streams = {stream.stream_key: stream for stream in scenario.streams.all()}
    streams: dict[str, Stream] = {}
    for order, (key, stream_data) in enumerate(streams_data.items()):
        stream = existing_streams.get(key) or Stream(scenario=scenario, stream_key=key)
        stream.name = stream_data["name"]
        stream.color = colours.get(key)
        stream.sort_order = order
        stream.full_clean()
        stream.save()
        streams[key] = stream

    existing_gates = {gate.gate_number: gate for gate in QcGate.objects.filter(scenario=scenario)}
    gates: dict[Decimal, QcGate] = {}
    for gate_data in data["config"].get("qcGates", []):
        number = gate_number(gate_data["id"])
        gate = existing_gates.get(number) or QcGate(scenario=scenario, gate_number=number)
        gate.name = gate_data["name"]
        gate.gate_type, gate.is_ccp = gate_type_from_file(gate_data["type"])
        gate.checklist = gate_data.get("checklist", [])
        gate.full_clean()
        gate.save()
        gates[number] = gate

    existing_phases = {phase.phase_number: phase for phase in scenario.phases.all()}
    phase_numbers = []
    for phase_data in data["phases"]:
        phase = existing_phases.get(phase_data["id"]) or Phase(
            scenario=scenario, phase_number=phase_data["id"]
        )
        phase.name = phase_data["name"]
        phase.description = phase_data.get("desc") or {}
        phase.stream = streams[phase_data["stream"]] if phase_data.get("stream") is not None else None
        phase.qc_gate = (
            gates[gate_number(phase_data["qcGate"])] if phase_data.get("qcGate") is not None else None
        )
        phase.full_clean()
        phase.save()
        phase_numbers.append(phase.phase_number)

    _remove_missing(scenario.phases.exclude(phase_number__in=phase_numbers), what="A phase")
    _remove_missing(QcGate.objects.filter(scenario=scenario).exclude(gate_number__in=gates), what="A QC gate")
    _remove_missing(scenario.streams.exclude(stream_key__in=streams), what="A stream")
    return scenario


@transaction.atomic
def scenario_activate(*, scenario_id: uuid.UUID) -> Scenario:
    """Make this the one active scenario; the previously active one is deactivated."""
    # Lock the active scenario and this one, in pk order, so two activations serialize.
    locked = list(
        Scenario.objects.select_for_update().filter(Q(is_active=True) | Q(pk=scenario_id)).order_by("pk")
    )
    scenario = next((row for row in locked if str(row.pk) == str(scenario_id)), None)
    if scenario is None:
        raise Scenario.DoesNotExist(f"No scenario {scenario_id}")
    Scenario.objects.filter(is_active=True).exclude(pk=scenario.pk).update(is_active=False)
    if not scenario.is_active:
        scenario.is_active = True
        scenario.save(update_fields=["is_active"])
    return scenario
