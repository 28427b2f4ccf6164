"""Starting instances, reading them, and their history."""
from __future__ import annotations

import json

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import bindparam, select

from audit import SYSTEM, Actor, chain
from engine.db import utcnow
from engine.errors import Forbidden, NotFound, ValidationFailed
from engine.users import actor_for
from engine.workflows import runtime, serializer
from engine.workflows.deploy import get_latest_version
from engine.workflows.models import InstanceEvent, ProcessInstance, ProcessVersion, WorkflowTask


def actor_of(user) -> Actor:
    """The audit actor for a signed-in user (``engine.users.actor_for``)."""
    return actor_for(user)


def get_instance(session, instance_id: int) -> ProcessInstance:
    """The instance ``instance_id``; NotFound when there is none."""
    instance = session.get(ProcessInstance, instance_id)
    if instance is None:
        raise NotFound(f"process instance {instance_id} not found", obj=str(instance_id))
    return instance


def _start_lane(spec) -> str | None:
    for task_spec in spec.task_specs.values():
        if type(task_spec).__name__ == "StartEvent":
            return task_spec.lane
    return None


def start_lane(session, process_id: str) -> str | None:
    """The role whose lane holds the start event of ``process_id``'s latest version (None: anyone)."""
    spec, _subprocesses = serializer.SPECS.get(session, get_latest_version(session, process_id))
    return _start_lane(spec)


_VERSIONS = ProcessVersion.__table__
# Versions are immutable and flushed by deploy: a Core read of two columns, not the whole row
# (its diagram and stored spec are large and, once parsed, cached by version id).
_LATEST_VERSION = (select(_VERSIONS.c.id, _VERSIONS.c.version).where(_VERSIONS.c.process_id == bindparam("process_id"))
                   .order_by(_VERSIONS.c.version.desc()).limit(1))


def start_instance(session, actor: Actor, process_id: str, *, data: dict | None = None,
                   business_key: str | None = None, user=None,
                   version: ProcessVersion | None = None) -> ProcessInstance:
    """Start ``process_id`` (its latest version unless ``version``) with ``data``; run it until it
    waits; persist and audit. With ``user``, the user must hold the start event's lane role."""
    if data is not None and not isinstance(data, dict):
        raise ValidationFailed("start data must be an object", field="data")
    try:
        json.dumps(data or {})
    except (TypeError, ValueError) as exc:
        raise ValidationFailed(f"start data is not JSON: {exc}", field="data") from None
    if version is None:  # the newest version's id and number; its spec and diagram only when not cached
        found = session.connection().execute(_LATEST_VERSION, {"process_id": process_id}).first()
        if found is None:
            raise NotFound(f"process {process_id!r} is not deployed", obj=process_id)
        version_id, number = found
    else:
        version_id, number, process_id = version.id, version.version, version.process_id
    spec, subprocess_specs = runtime.specs_of(session, version_id)
    lane = _start_lane(spec)
    if user is not None and lane and lane not in user.roles:
        raise Forbidden(f"starting {process_id!r} needs the role {lane!r}")
    now = utcnow()
    instance = ProcessInstance(
        process_version_id=version_id, process_id=process_id, business_key=business_key,
        status="running", state_json="{}", spiff_version=serializer.SPIFF_VERSION,
        serializer_version=serializer.SERIALIZER_VERSION, started_at=now, started_by_id=actor.id,
        started_by_name=actor.name, updated_at=now)
    session.add(instance)
    session.flush()
    workflow = BpmnWorkflow(spec, subprocess_specs, script_engine=runtime.script_engine(session, actor, instance))
    for task in workflow.get_tasks(state=TaskState.READY):
        task.data.update(data or {})
    runtime.run_guarded(workflow.do_engine_steps, f"starting {process_id}")
    # A new instance: no message waits and no task rows yet (nothing to delete or read back).
    runtime.save(session, instance, workflow, now, previous_messages=set(), open_before=set())
    chain.append(session, actor, "workflow.instance_started", "process_instance", instance.id,
                 after={"process_id": process_id, "version": number,
                        "business_key": instance.business_key, "data": data or {}, "status": instance.status})
    runtime.record_event(session, instance, actor, "started", now=now,
                         detail={"version": number, "business_key": business_key})
    session.flush()
    return instance


def instance_history(session, instance_id: int) -> list[dict]:
    """Every event of an instance, oldest first; completed tasks carry who, when, data, signature."""
    get_instance(session, instance_id)
    events = session.scalars(select(InstanceEvent).where(InstanceEvent.instance_id == instance_id)
                             .order_by(InstanceEvent.at, InstanceEvent.id))
    tasks = {t.id: t for t in session.scalars(select(WorkflowTask).where(WorkflowTask.instance_id == instance_id))}
    out = []
    for ev in events:
        item = {"at": ev.at, "kind": ev.kind, "actor_id": ev.actor_id, "actor_name": ev.actor_name,
                "task_id": ev.task_id, "detail": json.loads(ev.detail_json) if ev.detail_json else {}}
        task = tasks.get(ev.task_id) if ev.task_id else None
        if task is not None and ev.kind == "task_completed":
            item.update(task=task.spec_name, title=task.title, lane=task.lane,
                        data=json.loads(task.payload_json) if task.payload_json else None,
                        payload_sha256=task.payload_sha256, meaning=task.meaning,
                        signature_id=task.signature_id, audit_seq=task.audit_seq)
        out.append(item)
    return out


def open_tasks(session, instance_id: int) -> list[WorkflowTask]:
    """The instance's READY user tasks (inbox rows)."""
    return list(session.scalars(select(WorkflowTask).where(WorkflowTask.instance_id == instance_id,
                                                           WorkflowTask.state == "ready")
                                .order_by(WorkflowTask.created_at, WorkflowTask.id)))


def workflow_data(session, instance: ProcessInstance) -> dict:
    """The instance's current workflow data (read-only view; for forms' context fields)."""
    workflow = runtime.load(session, instance, SYSTEM)
    last = workflow.last_task
    return dict(workflow.data) if workflow.is_completed() or last is None else dict(last.data)
