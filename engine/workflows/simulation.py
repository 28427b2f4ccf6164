"""Simulate a diagram in memory before it is deployed: no database writes, no signatures.

The diagram is validated and parsed like a deployment, then run on a BpmnWorkflow that is never
persisted. User tasks are completed with the data the caller chose for them (by task id; a list
gives one payload per visit) or, failing that, data built from their form (examples, defaults,
the first choice of each enum). Service tasks do not call their operation: their parameters are
evaluated and type-checked, and the result variable receives the result the caller chose for
that task id (``{}`` otherwise). Timers are reported with their due time on a simulated clock and
then fired; a wait for a message ends the run. Scripts and conditions run in the same restricted
script environment as production, so a refused script fails the simulation at its element.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState

import forms
from engine.errors import SealtrailError
from engine.workflows import operations, runtime
from engine.workflows.script_env import SafeScriptEngine
from engine.workflows.script_policy import ScriptPolicyError

MAX_VISITS = 25  # a user task completed more often than this with chosen data is a loop
_INTERNAL = {"Root", "Start", "End"}


@dataclass
class Step:
    """One element the run passed through, with the data after it."""

    element_id: str
    name: str
    kind: str  # the BPMN element type, e.g. userTask, exclusiveGateway
    lane: str | None = None
    data: dict = field(default_factory=dict)
    note: str | None = None  # simulated operation, timer due time, form problems

    def as_dict(self) -> dict:
        return {"element_id": self.element_id, "name": self.name, "kind": self.kind, "lane": self.lane,
                "data": self.data, "note": self.note}


@dataclass
class Simulation:
    """The outcome: the path, where it stopped, the final data, and the failure if any."""

    process_id: str
    path: list[Step] = field(default_factory=list)
    timers: list[dict] = field(default_factory=list)  # {"element_id", "expression", "due"}
    status: str = "running"  # completed | waiting | failed
    data: dict = field(default_factory=dict)
    error: str | None = None
    error_element: str | None = None
    waiting_for: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status == "completed"

    def as_dict(self) -> dict:
        return {"process_id": self.process_id, "status": self.status, "path": [s.element_id for s in self.path],
                "steps": [s.as_dict() for s in self.path], "timers": self.timers, "data": self.data,
                "error": self.error, "error_element": self.error_element, "waiting_for": self.waiting_for}


def example_data(schema: dict) -> dict:
    """Data a form would plausibly submit: examples, defaults, the first enum value, else empty."""
    out = {}
    for key, sub in (schema.get("properties") or {}).items():
        if not isinstance(sub, dict) or sub.get("readOnly"):
            continue
        if sub.get("examples"):
            out[key] = sub["examples"][0]
        elif "default" in sub:
            out[key] = sub["default"]
        elif sub.get("enum"):
            out[key] = sub["enum"][0]
        elif "const" in sub:
            out[key] = sub["const"]
        else:
            kinds = sub.get("type") if isinstance(sub.get("type"), list) else [sub.get("type")]
            blank = {"string": "", "integer": 0, "number": 0, "boolean": False, "array": [],
                     "object": {}, "null": None}
            out[key] = next((blank[k] for k in kinds if k in blank), None)
    return out


class _SimulatedEnvironmentEngine(SafeScriptEngine):
    """The production script engine, but service operations are recorded instead of called."""

    def __init__(self, results: Callable[[str], object], calls: list[dict]):
        super().__init__(operations.OperationContext(session=None, actor=None))
        self.results = results
        self.calls = calls

    def call_service(self, task, **kwargs):
        name = kwargs.get("operation_name")
        params = {k: p["value"] for k, p in (kwargs.get("operation_params") or {}).items()}
        op = operations.get_operation(name)
        problems = operations.check_params(op, set(params))
        for pname, value in params.items():
            hint = op.hints.get(pname)
            if pname in op.params and hint is not None and not operations._type_ok(value, hint):
                problems.append(f"parameter {pname!r} expected {getattr(hint, '__name__', hint)}, "
                                f"got {type(value).__name__}")
        if problems:
            raise operations.OperationError("; ".join(problems), field=name)
        result = self.results(task.task_spec.bpmn_id)
        self.calls.append({"element_id": task.task_spec.bpmn_id, "operation": name, "params": params})
        return json.dumps(result if result is not None else {}, default=str)


def _plain(data: dict) -> dict:
    return json.loads(json.dumps({k: v for k, v in data.items() if not k.startswith("_")}, default=str))


class _Run:
    def __init__(self, spec, subprocess_specs, *, start_data, task_data, form_schema, now):
        self.task_data = {k: (list(v) if isinstance(v, list) else [v]) for k, v in (task_data or {}).items()}
        self.form_schema = form_schema
        self.clock = now
        self.calls: list[dict] = []
        self.visits: dict[str, int] = {}
        self.result = Simulation(spec.name)
        engine = _SimulatedEnvironmentEngine(self.chosen_result, self.calls)
        self.workflow = BpmnWorkflow(spec, subprocess_specs, script_engine=engine)
        for task in self.workflow.get_tasks(state=TaskState.READY):
            task.data.update(start_data or {})

    def chosen_result(self, element_id: str):
        queue = self.task_data.get(element_id)
        if not queue:
            return None
        return queue.pop(0) if len(queue) > 1 else queue[0]

    def record(self, task, note: str | None = None) -> None:
        spec = task.task_spec
        bpmn_id = getattr(spec, "bpmn_id", None)
        if not bpmn_id or bpmn_id in _INTERNAL or spec.name.endswith(".EndJoin"):
            return
        definition = getattr(spec, "event_definition", None)
        if isinstance(definition, TimerEventDefinition):
            # SpiffWorkflow fires a timer already due on the wall clock by itself: report it too
            self.report_timer(task, definition)
        call = next((c for c in self.calls if c["element_id"] == bpmn_id), None)
        if call is not None:
            self.calls.remove(call)
            note = f"operation {call['operation']} simulated (not run) with {json.dumps(call['params'], default=str)}"
        self.result.path.append(Step(bpmn_id, spec.bpmn_name or "", type(spec).__name__, getattr(spec, "lane", None),
                                     _plain(task.data), note))

    def engine_steps(self) -> None:
        self.workflow.do_engine_steps(did_complete_task=self.record)

    def user_data(self, task) -> tuple[dict, str | None]:
        bpmn_id = task.task_spec.bpmn_id
        props = runtime.task_properties(task)
        form = (props.get("formJsonSchemaFilename") or "").removesuffix(".json")
        schema = self.form_schema(form) if form else None
        data = example_data(schema) if schema else {}
        chosen = self.chosen_result(bpmn_id)
        if chosen is not None:
            data.update(chosen)
        note = None
        if schema:
            errors = forms.validate_schema(schema, data)
            if errors:
                note = "form would refuse: " + "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        return data, note

    def complete_user_tasks(self) -> bool:
        ready = self.workflow.get_tasks(state=TaskState.READY, manual=True)
        for task in ready:
            bpmn_id = task.task_spec.bpmn_id
            self.visits[bpmn_id] = self.visits.get(bpmn_id, 0) + 1
            if self.visits[bpmn_id] > MAX_VISITS:
                raise _Stop(bpmn_id, f"{bpmn_id} came back {MAX_VISITS} times: the chosen data loops")
            data, note = self.user_data(task)
            if hasattr(task.task_spec, "add_data_from_form"):
                task.task_spec.add_data_from_form(task, data)
            else:
                task.data.update(data)
            task.run()
            self.record(task, note)
            self.engine_steps()
        return bool(ready)

    def report_timer(self, task, definition) -> None:
        """Report a timer with its due time on the simulated clock, once per visit."""
        if getattr(task, "_st_timer_reported", False):
            return
        task._st_timer_reported = True
        expression = definition.expression
        value = self.workflow.script_engine.evaluate(task, expression)
        due = _due(type(definition).__name__, value, self.clock)
        self.result.timers.append({"element_id": task.task_spec.bpmn_id, "expression": expression,
                                   "value": value, "due": due.isoformat() if due else None})
        if due is not None:
            self.clock = max(self.clock, due)

    def fire_timers(self) -> bool:
        fired = False
        for task in self.workflow.get_tasks(state=TaskState.WAITING):
            definition = getattr(task.task_spec, "event_definition", None)
            if not isinstance(definition, TimerEventDefinition):
                continue
            self.report_timer(task, definition)
            task._set_internal_data(event_fired=True)
            fired = True
        if fired:
            self.workflow.refresh_timers()
            self.engine_steps()
        return fired

    def run(self) -> Simulation:
        self.engine_steps()
        while not self.workflow.is_completed():
            if self.complete_user_tasks():
                continue
            if self.fire_timers():
                continue
            waiting = [e.name for e in self.workflow.waiting_events() if e.event_type == "MessageEventDefinition"]
            self.result.status = "waiting"
            self.result.waiting_for = sorted(set(waiting))
            stuck = self.workflow.get_tasks(state=TaskState.WAITING | TaskState.STARTED)
            self.result.error_element = stuck[0].task_spec.bpmn_id if stuck else None
            self.result.error = (f"waits for message(s) {', '.join(self.result.waiting_for)}" if waiting
                                 else "the run cannot go on (nothing is ready)")
            break
        else:
            self.result.status = "completed"
        self.result.data = _plain(self.workflow.data if self.workflow.is_completed()
                                  else (self.workflow.last_task.data if self.workflow.last_task else {}))
        return self.result


class _Stop(Exception):
    def __init__(self, element_id, reason):
        super().__init__(reason)
        self.element_id = element_id


def _due(kind: str, value, now: datetime) -> datetime | None:
    try:
        if kind == "TimeDateEventDefinition":
            return TimerEventDefinition.get_datetime(value)
        if kind == "CycleTimerEventDefinition":
            _cycles, start, duration = TimerEventDefinition.parse_iso_recurring_interval(value)
            return max(start, now) + duration
        parsed = TimerEventDefinition.parse_iso_duration(value)
        return now + TimerEventDefinition.get_timedelta_from_start(parsed, now)
    except Exception:  # noqa: BLE001 - SpiffWorkflow raises bare exceptions; lint reports bad timers
        return None


def _failed_element(exc: BaseException) -> str | None:
    task = getattr(exc, "task", None)
    spec = getattr(exc, "task_spec", None) or getattr(task, "task_spec", None)
    return getattr(spec, "bpmn_id", None) or getattr(exc, "element_id", None)


def simulate(spec, subprocess_specs: dict, *, start_data: dict | None = None,
             task_data: dict | None = None, form_schema: Callable[[str], dict | None] | None = None,
             now: datetime) -> Simulation:
    """Run ``spec`` in memory from ``start_data``; ``task_data`` maps task ids to the data each
    user task submits (or a service task returns); a list gives one entry per visit."""
    run = _Run(spec, subprocess_specs, start_data=start_data, task_data=task_data,
               form_schema=form_schema or _file_form, now=now)
    try:
        return run.run()
    except _Stop as exc:
        run.result.status, run.result.error, run.result.error_element = "failed", str(exc), exc.element_id
    except (SpiffWorkflowException, SealtrailError, ScriptPolicyError) as exc:
        run.result.status = "failed"
        run.result.error_element = _failed_element(exc) or (run.workflow.last_task.task_spec.bpmn_id
                                                            if run.workflow.last_task else None)
        cause = exc.__cause__ or exc.__context__
        detail = f"{exc}" + (f" ({type(cause).__name__}: {cause})" if cause and str(cause) not in str(exc) else "")
        run.result.error = detail
    last = run.workflow.last_task
    run.result.data = _plain(last.data if last is not None else run.workflow.data)
    return run.result


def _file_form(name: str) -> dict | None:
    try:
        return forms.load(name)
    except forms.FormError:
        return None


__all__ = ["Simulation", "Step", "example_data", "simulate"]
