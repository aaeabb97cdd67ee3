"""Writes of the production configuration: scenario import and activation, Flow Editor designs."""

from __future__ import annotations

import copy
import re
import uuid
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Max, ProtectedError, Q
from django.http import Http404
from django.utils import timezone

from accounts.models import User
from flowviz.core.errors import Conflict, FieldInvalid, Refused
from flowviz.core.json_limits import json_limits_problem, json_path
from flowviz.production.graphs import GRAPH_MAX_BYTES, empty_graph, graph_node_types, graph_validate
from flowviz.production.models import (
    FlowDefinition,
    FlowStatus,
    FlowVersion,
    Phase,
    Scenario,
    Stream,
)
from quality.models import GateType, QcGate

FLOW_NOT_FOUND = "Flow definition not found"


def version_not_found(version_num: int) -> str:
    return f"Version {version_num} not found for this flow"


# Keys of `scenarios.config` that the import adds to the file's `config`; export removes them.
CONFIG_META_KEY = "meta"
# Parts of the file the frontend draws but no table holds (stream nodes, sample lot codes).
CONFIG_LAYOUT_KEY = "layout"

_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


# A whole scenario file (its parts are stored in JSON fields of at most 64 KiB each).
SCENARIO_FILE_MAX_BYTES = GRAPH_MAX_BYTES


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
    # The text limits on the whole file (depth, numbers, NUL); each stored JSON field's size
    # is checked by its model field when written.
    too_much = json_limits_problem(data, max_bytes=SCENARIO_FILE_MAX_BYTES)
    if too_much is not None:
        raise ScenarioFileError([f"{json_path(too_much.loc) or 'the file'}: {too_much.message}"])

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
    try:
        return _scenario_write(data)
    except ValidationError as error:  # a model field's rule, e.g. a JSON field over 64 KiB
        raise ScenarioFileError(
            [f"{field}: {message}" for field, messages in error.message_dict.items() for message in messages]
        ) from None


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


# --- Flow Editor designs (contract section 10) -----------------------------------------------
#
# Lock order: every write to a flow or to one of its versions first locks the flow definition's
# row (SELECT ... FOR UPDATE), then the version rows it changes. Writes to one flow therefore
# run one at a time: of two simultaneous publishes of a draft, or two forks, the second sees
# what the first did and gets a 409. The database backs each rule (one draft per flow, unique
# version numbers, frozen published/archived versions: migrations flowviz/0004 and 0005), so a
# writer that skipped these functions is refused too.


def _clean(instance: models.Model) -> None:
    """full_clean, with its first problem raised as FieldInvalid naming the field."""
    try:
        instance.full_clean(validate_unique=False, validate_constraints=False)
    except ValidationError as error:
        field, messages = next(iter(error.message_dict.items()))
        raise FieldInvalid((field,), messages[0]) from None


def _flow_locked(flow_id: uuid.UUID) -> FlowDefinition:
    flow = FlowDefinition.objects.select_for_update().filter(pk=flow_id).first()
    if flow is None:
        raise Http404(FLOW_NOT_FOUND)
    return flow


def _version_locked(flow: FlowDefinition, version_num: int) -> FlowVersion:
    version = (
        FlowVersion.objects.select_for_update().filter(flow_definition=flow, version_num=version_num).first()
    )
    if version is None:
        raise Http404(version_not_found(version_num))
    return version


def _touch(flow: FlowDefinition) -> None:
    flow.updated_at = timezone.now()
    flow.save(update_fields=["updated_at"])


def _draft_add(flow: FlowDefinition, *, graph: dict, actor: User | None) -> FlowVersion:
    """A new DRAFT numbered after the flow's highest version (the flow's row is locked)."""
    highest = flow.versions.aggregate(highest=Max("version_num"))["highest"] or 0
    return FlowVersion.objects.create(
        flow_definition=flow,
        version_num=highest + 1,
        status=FlowStatus.DRAFT,
        graph_schema=copy.deepcopy(graph),
        created_by=actor,
    )


@transaction.atomic
def flow_definition_create(*, name: dict, description: str | None, actor: User | None) -> FlowDefinition:
    """A new flow and its version 1, a DRAFT with an empty graph (one transaction)."""
    now = timezone.now()
    flow = FlowDefinition(
        name=name, description=description, created_by=actor, created_at=now, updated_at=now
    )
    _clean(flow)
    flow.save()
    _draft_add(flow, graph=empty_graph(), actor=actor)
    return flow


@transaction.atomic
def flow_definition_update(*, flow_id: uuid.UUID, name: dict, description: str | None) -> FlowDefinition:
    flow = _flow_locked(flow_id)
    flow.name, flow.description = name, description
    _clean(flow)
    flow.updated_at = timezone.now()
    flow.save(update_fields=["name", "description", "updated_at"])
    return flow


@transaction.atomic
def flow_definition_delete(*, flow_id: uuid.UUID) -> None:
    """Delete a flow with its versions; refused (409) once any version was ever published."""
    flow = _flow_locked(flow_id)
    if flow.versions.filter(published_at__isnull=False).exists():
        raise Conflict(
            "This flow has published versions and cannot be deleted (published designs are "
            "records); archive them instead"
        )
    flow.delete()


@transaction.atomic
def flow_version_graph_update(*, flow_id: uuid.UUID, version_num: int, graph_schema: object) -> FlowVersion:
    """Replace a DRAFT's graph (409 for a PUBLISHED or ARCHIVED one); touches the flow."""
    flow = _flow_locked(flow_id)
    version = _version_locked(flow, version_num)
    if version.is_frozen:
        raise Conflict(f"Version {version_num} is {version.status}; only a DRAFT version can be changed")
    version.graph_schema = graph_validate(graph_schema)
    version.save(update_fields=["graph_schema"])
    _touch(flow)
    return version


@transaction.atomic
def flow_version_publish(
    *, flow_id: uuid.UUID, version_num: int, actor: User | None
) -> tuple[FlowVersion, FlowVersion]:
    """The DRAFT becomes PUBLISHED and a new DRAFT n+1 starts as a copy of it."""
    flow = _flow_locked(flow_id)
    version = _version_locked(flow, version_num)
    if version.is_frozen:
        raise Conflict(f"Version {version_num} is {version.status}; only a DRAFT version can be published")
    node_types = graph_node_types(version.graph_schema)
    for required in ("start", "end"):
        if required not in node_types:
            raise Refused(f"Cannot publish: Flow must have at least one {required.upper()} node")
    version.status = FlowStatus.PUBLISHED
    version.published_at = timezone.now()
    version.published_by = actor
    version.save(update_fields=["status", "published_at", "published_by"])
    draft = _draft_add(flow, graph=version.graph_schema, actor=actor)
    _touch(flow)
    return version, draft


@transaction.atomic
def flow_version_fork(*, flow_id: uuid.UUID, version_num: int, actor: User | None) -> FlowVersion:
    """A new DRAFT copying version n's graph; 409 while the flow has a draft."""
    flow = _flow_locked(flow_id)
    source = _version_locked(flow, version_num)
    draft = flow.versions.filter(status=FlowStatus.DRAFT).first()
    if draft is not None:
        raise Conflict(
            f"This flow already has a draft (version {draft.version_num}); publish or archive it first"
        )
    forked = _draft_add(flow, graph=source.graph_schema, actor=actor)
    _touch(flow)
    return forked


@transaction.atomic
def flow_version_archive(*, flow_id: uuid.UUID, version_num: int) -> FlowVersion:
    """A DRAFT or PUBLISHED version becomes ARCHIVED (frozen; a published one stays a record)."""
    flow = _flow_locked(flow_id)
    version = _version_locked(flow, version_num)
    if version.status == FlowStatus.ARCHIVED:
        raise Conflict(f"Version {version_num} is already ARCHIVED")
    version.status = FlowStatus.ARCHIVED
    version.save(update_fields=["status"])
    _touch(flow)
    return version


@transaction.atomic
def flow_version_delete(*, flow_id: uuid.UUID, version_num: int) -> None:
    """Delete a version that was never published (the admin's delete); 409 otherwise."""
    flow = _flow_locked(flow_id)
    version = _version_locked(flow, version_num)
    if version.ever_published:
        raise Conflict(f"Version {version_num} was published and cannot be deleted; archive it instead")
    version.delete()
    _touch(flow)
