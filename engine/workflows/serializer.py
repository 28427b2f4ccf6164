"""SpiffWorkflow state without the spec, and specs stored once per deployed version.

SpiffWorkflow's serialization embeds the whole process spec in every state; like spiff-arena we
store the spec once per process version and the instance state without it (half the bytes per
step). Loading rebuilds the workflow around the version's spec objects, which are parsed once
per process and shared read-only (an LRU cache keyed by the immutable version id).

SpiffWorkflow is pinned (``SpiffWorkflow==3.2.0``): its serializer migrations are not chained
across format versions, so a state written by another serializer version is refused with a
clear error rather than half-migrated.
"""
from __future__ import annotations

import json
from collections import OrderedDict
from importlib.metadata import version as _dist_version
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.bpmn.serializer.helpers.encoder import create_encoder
from SpiffWorkflow.bpmn.serializer.workflow import VERSION as SERIALIZER_VERSION
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.spiff.specs.defaults import BusinessRuleTask

from engine.errors import Conflict
from engine.workflows.decisions import DecisionTaskConverter

SPIFF_VERSION = _dist_version("SpiffWorkflow")


class _SpeclessWorkflowConverter(BpmnWorkflowConverter):
    """Top-level workflow converter that leaves the specs out (they live with the version)."""

    def to_dict(self, workflow):
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct):
        spec = dct.pop("spec")
        subprocess_specs = dct.pop("subprocess_specs")
        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


def _registry(specless: bool):
    config = dict(SPIFF_CONFIG)
    config[BusinessRuleTask] = DecisionTaskConverter  # keeps the decision id and default outputs
    if specless:
        config[BpmnWorkflow] = _SpeclessWorkflowConverter
    return BpmnWorkflowSerializer.configure(config)


_STATE_REGISTRY = _registry(specless=True)
_SPEC_SERIALIZER = BpmnWorkflowSerializer(_registry(specless=False))
_STATE_ENCODER = create_encoder(_STATE_REGISTRY, None)


def spec_to_json(spec, subprocess_specs: dict) -> str:
    """JSON of a process spec and the specs it calls, stored once per version."""
    reg = _SPEC_SERIALIZER.registry
    return json.dumps({
        "spec": reg.convert(spec),
        "subprocess_specs": {name: reg.convert(s) for name, s in subprocess_specs.items()},
        "serializer_version": SERIALIZER_VERSION,
        "spiff_version": SPIFF_VERSION,
    })


def spec_from_json(text: str):
    """``(spec, subprocess_specs)`` from :func:`spec_to_json` output."""
    dct = json.loads(text)
    if dct.get("serializer_version") != SERIALIZER_VERSION:
        raise Conflict(f"process spec was stored by serializer {dct.get('serializer_version')}, "
                       f"this installation runs {SERIALIZER_VERSION}; migrate stored specs first")
    reg = _SPEC_SERIALIZER.registry
    return reg.restore(dct["spec"]), {n: reg.restore(s) for n, s in dct["subprocess_specs"].items()}


class SpecCache:
    """Parsed specs by (database, process-version id): versions are immutable, so entries never go
    stale; the database is part of the key because one process may talk to several (tests, tools)."""

    def __init__(self, size: int = 64):
        self.size = size
        self._items: OrderedDict[tuple, tuple] = OrderedDict()

    @staticmethod
    def _key(session, version_id: int) -> tuple:
        bind = session.get_bind()
        return (str(getattr(bind, "engine", bind).url), version_id)

    def get(self, session, version):
        """``(spec, subprocess_specs)`` of ``version`` (a ProcessVersion row), parsed once."""
        key = self._key(session, version.id)
        item = self._items.get(key)
        if item is None:
            item = spec_from_json(version.spec_json)
            self._items[key] = item
            if len(self._items) > self.size:
                self._items.popitem(last=False)
        else:
            self._items.move_to_end(key)
        return item

    def peek(self, session, version_id: int):
        """The cached ``(spec, subprocess_specs)`` or None (no database read needed when cached)."""
        return self._items.get(self._key(session, version_id))

    def put(self, session, version_id: int, spec, subprocess_specs) -> None:
        self._items[self._key(session, version_id)] = (spec, subprocess_specs)


SPECS = SpecCache()


def dump_state(workflow) -> str:
    """The workflow's state as JSON, without its spec."""
    _STATE_REGISTRY._encoder_mode = True
    try:
        dct = _STATE_REGISTRY.convert(workflow)
    finally:
        _STATE_REGISTRY._encoder_mode = False
    dct["serializer_version"] = SERIALIZER_VERSION
    return json.dumps(dct, cls=_STATE_ENCODER, separators=(",", ":"))


def load_state(state_json: str, spec, subprocess_specs):
    """Rebuild a workflow from :func:`dump_state` output around the version's spec objects."""
    dct = json.loads(state_json)
    stored = dct.pop("serializer_version", None)
    if stored != SERIALIZER_VERSION:
        raise Conflict(f"instance state was written by serializer {stored}, this installation runs "
                       f"{SERIALIZER_VERSION} (SpiffWorkflow {SPIFF_VERSION}); migrate stored states first")
    dct["spec"] = spec
    dct["subprocess_specs"] = subprocess_specs
    return _STATE_REGISTRY.restore(dct)
