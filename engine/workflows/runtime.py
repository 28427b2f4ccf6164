"""Load, run and save one BpmnWorkflow; keep the inbox task table and the wait indexes in step.

Running a workflow (SpiffWorkflow + our script engine) is kept apart from persisting it: load
rebuilds the workflow from the instance's spec-less state and its version's spec; save writes
the state, the status, the next timer due time, the message waits and the task table.
"""
from __future__ import annotations

import json
from datetime import datetime
from uuid import UUID

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm.util import identity_key
from sqlalchemy.orm.attributes import set_committed_value
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState

from engine.db import insert_rows, utcnow
from engine.errors import SealtrailError, TaskNotReady, WorkflowFailed
from engine.notifications import outbox
from engine.workflows import serializer
from engine.workflows.models import InstanceEvent, MessageWait, ProcessInstance, ProcessVersion, WorkflowTask
from engine.workflows.operations import OperationContext
from engine.workflows.script_env import SafeScriptEngine
from engine.workflows.script_policy import ScriptPolicyError

_TIMER_TYPES = ("DurationTimerEventDefinition", "TimeDateEventDefinition", "CycleTimerEventDefinition")


def script_engine(session, actor, instance) -> SafeScriptEngine:
    """A script engine bound to this run (operations write in ``session`` as ``actor``)."""
    return SafeScriptEngine(OperationContext(session=session, actor=actor, instance=instance))


def specs_of(session, version_id: int):
    """``(spec, subprocess_specs)`` of a process version (cached; versions are immutable)."""
    cached = serializer.SPECS.peek(session, version_id)
    if cached is not None:
        return cached
    version = session.get(ProcessVersion, version_id)
    return serializer.SPECS.get(session, version)


def load(session, instance: ProcessInstance, actor):
    """The instance's workflow, ready to run as ``actor``."""
    spec, subprocess_specs = specs_of(session, instance.process_version_id)
    workflow = serializer.load_state(instance.state_json, spec, subprocess_specs)
    workflow.script_engine = script_engine(session, actor, instance)
    return workflow


def _cause(exc: BaseException) -> BaseException:
    seen = exc
    while True:
        nxt = seen.__cause__ or seen.__context__
        if nxt is None or nxt is seen:
            return seen
        if isinstance(nxt, (SealtrailError, ScriptPolicyError)):
            return nxt
        seen = nxt


def run_guarded(step, what: str):
    """Run ``step()``; domain errors pass through, workflow errors become WorkflowFailed."""
    try:
        return step()
    except SealtrailError:
        raise
    except SpiffWorkflowException as exc:
        cause = _cause(exc)
        if isinstance(cause, SealtrailError):
            raise cause from exc
        where = getattr(getattr(exc, "task_spec", None), "bpmn_id", None) or ""
        line = getattr(exc, "line_number", None)
        detail = f" at {where}" if where else ""
        detail += f" (script line {line})" if line else ""
        raise WorkflowFailed(f"{what} failed{detail}: {exc}", obj=where or None) from exc
    except ScriptPolicyError as exc:
        raise WorkflowFailed(f"{what} refused by the script policy: {exc}") from exc


def _parse_due(value) -> datetime | None:
    if isinstance(value, str):
        try:
            return TimerEventDefinition.get_datetime(value)
        except ValueError:
            return None
    return None


def waits(workflow) -> tuple[datetime | None, set[str]]:
    """The earliest timer due time and the names of the messages the workflow waits for."""
    due: list[datetime] = []
    messages: set[str] = set()
    for pending in workflow.waiting_events():
        if pending.event_type in _TIMER_TYPES:
            when = _parse_due(pending.value)
            if when is not None:
                due.append(when)
        elif pending.event_type == "MessageEventDefinition":
            messages.add(pending.name)
    return (min(due) if due else None), messages


def task_properties(task) -> dict:
    """The ``spiffworkflow:property`` values of a SpiffWorkflow task's spec (dueIn, signatureMeaning…)."""
    return (getattr(task.task_spec, "extensions", None) or {}).get("properties", {}) or {}


def _due_at(task, now: datetime) -> datetime | None:
    due_in = task_properties(task).get("dueIn")
    if not due_in:
        return None
    try:
        return now + TimerEventDefinition.get_timedelta_from_start(
            TimerEventDefinition.parse_iso_duration(due_in), now)
    except Exception:  # noqa: BLE001 - a bad dueIn is reported by lint at deploy time
        return None


def sync_tasks(session, instance: ProcessInstance, workflow, now: datetime, *,
               open_before: set[str] | None = None, business_key_changed: bool = True,
               ready_tasks: list | None = None) -> list[WorkflowTask]:
    """Insert rows for newly READY user tasks; cancel open rows whose task is no longer READY.

    ``open_before``: the ids of the READY user tasks of the workflow as it was loaded in this
    transaction. The task table mirrors them (every save writes both in one transaction), so
    when given the open rows are not read back: only the difference is written. ``ready_tasks``:
    :func:`ready_user_tasks` of the workflow as it is now, when already computed."""
    ready = {str(t.id): t for t in (ready_user_tasks(workflow) if ready_tasks is None else ready_tasks)}
    if open_before is None:
        open_rows = {r.id: r for r in session.scalars(
            select(WorkflowTask).where(WorkflowTask.instance_id == instance.id, WorkflowTask.state == "ready"))}
        for task_id, row in open_rows.items():
            if task_id in ready:  # still open; its spec may have changed (migration)
                _describe(row, ready[task_id], instance)
            else:
                row.state = "cancelled"
                row.completed_at = now
        open_ids = set(open_rows)
    else:
        open_ids = set(open_before)
        gone = sorted(open_ids - set(ready))
        table = WorkflowTask.__table__
        if gone:
            session.execute(update(table).where(table.c.id.in_(gone), table.c.state == "ready")
                            .values(state="cancelled", completed_at=now))
            for task_id in gone:  # rows of these already loaded in this session follow
                loaded = session.identity_map.get(identity_key(WorkflowTask, task_id))
                if loaded is not None:
                    set_committed_value(loaded, "state", "cancelled")
                    set_committed_value(loaded, "completed_at", now)
        still = sorted(open_ids & set(ready))
        if still and business_key_changed:
            session.execute(update(table).where(table.c.id.in_(still))
                            .values(business_key=instance.business_key))
    created = [dict(id=task_id, instance_id=instance.id, process_id=instance.process_id,
                    spec_name=task.task_spec.bpmn_id or task.task_spec.name, state="ready", created_at=now,
                    due_at=_due_at(task, now), assignee_id=None, completed_at=None, completed_by_id=None,
                    completed_by_name=None, payload_json=None, payload_sha256=None, meaning=None,
                    signature_id=None, audit_seq=None, **_description(task, instance))
               for task_id, task in ready.items() if task_id not in open_ids]
    rows = insert_rows(session, WorkflowTask, created)
    outbox.tasks_ready(session, rows, now)  # in this transaction: nothing is sent for work that rolls back
    return rows


def _describe(row: WorkflowTask, task, instance: ProcessInstance) -> None:
    """Bring the row's copy of what the spec and the instance say about the task up to date."""
    for key, value in _description(task, instance).items():
        setattr(row, key, value)


def _description(task, instance: ProcessInstance) -> dict:
    props = task_properties(task)
    return dict(business_key=instance.business_key, process_version_id=instance.process_version_id,
                title=task.task_spec.bpmn_name or task.task_spec.bpmn_id or task.task_spec.name,
                lane=task.task_spec.lane,
                form=(props.get("formJsonSchemaFilename") or "").removesuffix(".json") or None)


def ready_user_tasks(workflow) -> list:
    """The workflow's READY user (manual) tasks: one walk of its task tree."""
    return workflow.get_tasks(state=TaskState.READY, manual=True)


def status_of(workflow, *, pending: tuple[datetime | None, set[str]] | None = None,
              ready_tasks: list | None = None) -> str:
    """The instance status the workflow is in: completed, waiting (for people, timers or
    messages) or running. ``pending``: :func:`waits` of the workflow when already computed;
    ``ready_tasks``: :func:`ready_user_tasks` of it when already computed."""
    if workflow.is_completed():
        return "completed"
    next_timer, messages = pending if pending is not None else waits(workflow)
    if (ready_user_tasks(workflow) if ready_tasks is None else ready_tasks) or next_timer or messages:
        return "waiting"
    return "running"


def state_values(workflow, status: str, next_timer: datetime | None, now: datetime) -> dict:
    """The instance columns that persisting ``workflow`` in ``status`` writes."""
    values = dict(state_json=serializer.dump_state(workflow), spiff_version=serializer.SPIFF_VERSION,
                  serializer_version=serializer.SERIALIZER_VERSION, updated_at=now, status=status,
                  next_timer_at=None if status == "completed" else next_timer)
    if status == "completed":
        values["completed_at"] = now
    return values


def replace_message_waits(session, instance: ProcessInstance, messages: set[str]) -> None:
    """The instance waits for exactly ``messages`` from now on."""
    session.execute(delete(MessageWait).where(MessageWait.instance_id == instance.id))
    for name in sorted(messages):
        session.add(MessageWait(instance_id=instance.id, message_name=name))


def save(session, instance: ProcessInstance, workflow, now: datetime | None = None, *,
         previous_messages: set[str] | None = None, open_before: set[str] | None = None) -> list[WorkflowTask]:
    """Persist the workflow into ``instance`` (status, state, timers, message waits, task table).

    ``previous_messages``: the messages the workflow waited for when it was loaded; when given and
    unchanged, the message-wait rows are left alone (one statement less per step). ``open_before``:
    as for :func:`sync_tasks` (an instance inserted in this transaction has none: ``set()``)."""
    now = now or utcnow()
    next_timer, messages = waits(workflow)
    for key, value in state_values(workflow, status_of(workflow, pending=(next_timer, messages)),
                                   next_timer, now).items():
        setattr(instance, key, value)
    session.flush()
    if previous_messages is None or previous_messages != messages:
        replace_message_waits(session, instance, messages)
    created = sync_tasks(session, instance, workflow, now, open_before=open_before)
    session.flush()
    return created


def record_event(session, instance: ProcessInstance, actor, kind: str, *, task_id: str | None = None,
                 detail: dict | None = None, now: datetime | None = None) -> None:
    """Append one line to the instance's history (the audit chain has the tamper-evident copy).

    Written once and never read back in the same transaction: one Core INSERT on the session's
    connection, with no RETURNING and no ORM object (the history is read by :func:`instance_history`)."""
    session.connection().execute(_INSERT_EVENT, dict(
        instance_id=instance.id, at=now or utcnow(), kind=kind, actor_id=actor.id, actor_name=actor.name,
        task_id=task_id, detail_json=json.dumps(detail, default=str, sort_keys=True) if detail else None))


_INSERT_EVENT = insert(InstanceEvent.__table__)


def find_task(workflow, task_id: str):
    """The SpiffWorkflow task with ``task_id`` (searching subprocesses); TaskNotReady if gone."""
    try:
        task = workflow.get_task_from_id(UUID(task_id))
    except (SpiffWorkflowException, ValueError, KeyError):
        task = None
    if task is None:
        raise TaskNotReady(f"task {task_id} no longer exists in this instance; reload")
    return task


def fire_due_timers(workflow, now: datetime) -> list[str]:
    """Mark timers due at ``now`` as fired (our clock decides; SpiffWorkflow has no scheduler)."""
    fired = []
    for task in workflow.get_tasks(state=TaskState.WAITING):
        definition = getattr(task.task_spec, "event_definition", None)
        if not isinstance(definition, TimerEventDefinition):
            continue
        value = task._get_internal_data("event_value")
        if isinstance(value, dict):  # cycle timers: SpiffWorkflow counts cycles on its own clock
            continue
        when = _parse_due(value)
        if when is not None and when <= now:
            task._set_internal_data(event_fired=True)
            fired.append(task.task_spec.bpmn_id or task.task_spec.name)
    return fired
