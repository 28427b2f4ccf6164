"""Timers (the pass over due instances is ``sealtrail worker``, web/cli/worker.py) and messages
that resume waiting instances."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from SpiffWorkflow.bpmn import BpmnEvent
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition
from sqlalchemy.orm.exc import StaleDataError

from audit import chain
from engine.db import is_postgres, utcnow
from engine.errors import Conflict, NotFound, ValidationFailed
from engine.workflows import runtime
from engine.workflows.instances import get_instance
from engine.workflows.models import MessageWait, ProcessInstance


def due_instances(session, now: datetime, limit: int = 50) -> list[ProcessInstance]:
    """Instances with a timer due at ``now``, locked for this worker.

    PostgreSQL: ``FOR UPDATE SKIP LOCKED`` so several workers on several machines each take
    different instances. SQLite: the transaction already holds the database write lock
    (``BEGIN IMMEDIATE``), so a single worker at a time runs.
    """
    query = (select(ProcessInstance)
             .where(ProcessInstance.next_timer_at.is_not(None), ProcessInstance.next_timer_at <= now,
                    ProcessInstance.status.in_(("waiting", "running")))
             .order_by(ProcessInstance.next_timer_at).limit(limit))
    if is_postgres(session):
        query = query.with_for_update(skip_locked=True)
    return list(session.scalars(query))


def fire_timers(session, actor, instance: ProcessInstance, now: datetime | None = None) -> list[str]:
    """Fire the instance's timers due at ``now``, run it forward, persist and audit."""
    now = now or utcnow()
    workflow = runtime.load(session, instance, actor)
    fired = runtime.fire_due_timers(workflow, now)
    if not fired:
        # Nothing due after all (e.g. the stored due time was stale): refresh the index.
        runtime.save(session, instance, workflow, now)
        return []
    before_status = instance.status

    def step():
        workflow.refresh_timers()
        workflow.do_engine_steps()

    runtime.run_guarded(step, f"firing timers {', '.join(fired)}")
    runtime.save(session, instance, workflow, now)
    chain.append(session, actor, "workflow.timer_fired", "process_instance", instance.id,
                 payload={"timers": fired, "process_id": instance.process_id, "at": now.isoformat(),
                          "status_before": before_status, "status_after": instance.status})
    runtime.record_event(session, instance, actor, "timer_fired", now=now, detail={"timers": fired})
    session.flush()
    return fired


def fire_due_instance(session, actor, instance_id: int, now: datetime) -> int | None:
    """Fire the due timers of instance ``instance_id`` (locked; skipped when another worker holds
    it on PostgreSQL); the number of timers fired, or None when it is not due any more.

    One instance per transaction: the caller (``sealtrail worker``) commits each on its own so
    that a failing instance does not undo the others.
    """
    query = select(ProcessInstance).where(ProcessInstance.id == instance_id, ProcessInstance.next_timer_at <= now)
    if is_postgres(session):
        query = query.with_for_update(skip_locked=True)
    instance = session.scalars(query).first()
    if instance is None:
        return None  # another worker took it, or it moved on
    return len(fire_timers(session, actor, instance, now))


def record_timer_failure(session, actor, instance_id: int, error: Exception) -> None:
    """Put an instance whose timers failed into ``error`` with the reason (audited; flushes)."""
    instance = session.get(ProcessInstance, instance_id)
    if instance is None:
        return
    instance.status = "error"
    instance.last_error = f"{type(error).__name__}: {error}"[:4000]
    chain.append(session, actor, "workflow.timer_failed", "process_instance", instance_id,
                 reason="timer run failed", before={"status": "waiting"},
                 after={"status": "error", "error": instance.last_error})
    session.flush()


def send_message(session, actor, name: str, payload: dict | None = None, *, instance_id: int | None = None,
                 business_key: str | None = None) -> list[ProcessInstance]:
    """Deliver message ``name`` with ``payload`` to the instance (by id or business key) waiting
    for it; run it forward, persist, audit. NotFound when nothing waits for it."""
    if (instance_id is None) == (business_key is None):
        raise ValidationFailed("give exactly one of instance_id or business_key", field="instance_id")
    if payload is not None and not isinstance(payload, dict):
        raise ValidationFailed("message payload must be an object", field="payload")
    query = (select(ProcessInstance).join(MessageWait, MessageWait.instance_id == ProcessInstance.id)
             .where(MessageWait.message_name == name))
    if instance_id is not None:
        query = query.where(ProcessInstance.id == instance_id)
    else:
        query = query.where(ProcessInstance.business_key == business_key)
    targets = list(session.scalars(query.order_by(ProcessInstance.id)))
    if not targets:
        who = f"instance {instance_id}" if instance_id is not None else f"business key {business_key!r}"
        if instance_id is not None:
            get_instance(session, instance_id)
        raise NotFound(f"{who} is not waiting for message {name!r}")
    now = utcnow()
    for instance in targets:
        instance_id = instance.id
        workflow = runtime.load(session, instance, actor)

        def step(wf=workflow):
            wf.send_event(BpmnEvent(MessageEventDefinition(name), payload=payload or {}))
            wf.do_engine_steps()

        runtime.run_guarded(step, f"delivering message {name!r}")
        try:
            runtime.save(session, instance, workflow, now)
        except StaleDataError:
            raise Conflict(f"instance {instance_id} changed while the message was delivered; retry") from None
        chain.append(session, actor, "workflow.message_received", "process_instance", instance.id,
                     payload={"message": name, "data": payload or {}, "status_after": instance.status})
        runtime.record_event(session, instance, actor, "message_received", now=now,
                             detail={"message": name})
    session.flush()
    return targets
