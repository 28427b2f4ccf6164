"""User tasks: claim/unclaim/reassign, and ``complete_task`` — one signed, audited step.

``complete_task`` does everything in the caller's transaction, in this order: authorize (lane
role, claim, segregation of duties), validate the payload against the task's form, e-sign it,
run the workflow forward, persist the state and the task table, append the audit entry. Any
failure raises before the caller commits, so all of it rolls back together.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import rfc8785
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm.exc import StaleDataError

import forms
from audit import chain
from audit.signatures import sign
from engine.db import utcnow
from engine.errors import Conflict, Forbidden, NotFound, TaskNotReady, ValidationFailed
from engine.workflows import runtime
from engine.workflows.instances import actor_of, get_instance
from engine.workflows.models import ProcessInstance, WorkflowTask
from engine.workflows.script_env import SafeEnvironment

MANAGER_ROLES = frozenset({"qa_manager", "production_manager", "admin"})
DEFAULT_MEANING = "reviewed"


@dataclass
class Completion:
    """What a completion produced: the task row, the instance, the signature, new open tasks."""

    task: WorkflowTask
    instance: ProcessInstance
    signature: object
    new_tasks: list[WorkflowTask]


def get_task(session, task_id: str) -> WorkflowTask:
    """The task row ``task_id``; NotFound when there is none."""
    row = session.get(WorkflowTask, task_id)
    if row is None:
        raise NotFound(f"task {task_id} not found", obj=task_id)
    return row


def _properties(task) -> dict:
    return (getattr(task.task_spec, "extensions", None) or {}).get("properties", {}) or {}


def _authorize(session, user, row: WorkflowTask, instance: ProcessInstance, props: dict) -> None:
    if not getattr(user, "active", True):
        raise Forbidden("user is disabled")
    if row.lane and row.lane not in user.roles:
        raise Forbidden(f"task {row.title!r} needs the role {row.lane!r}")
    if row.assignee_id is not None and row.assignee_id != user.id:
        raise Forbidden(f"task {row.title!r} is claimed by someone else")
    rules = [r.strip() for r in (props.get("separationOfDuties") or "").split(",") if r.strip()]
    if "initiator" in rules and instance.started_by_id == str(user.id):
        raise Forbidden(f"segregation of duties: the initiator of this {instance.process_id} may not "
                        f"complete {row.title!r}")
    earlier = [r for r in rules if r != "initiator"]
    if earlier:
        done = session.scalars(select(WorkflowTask.spec_name).where(
            WorkflowTask.instance_id == instance.id, WorkflowTask.state == "completed",
            WorkflowTask.completed_by_id == user.id, WorkflowTask.spec_name.in_(earlier))).first()
        if done:
            raise Forbidden(f"segregation of duties: whoever completed {done!r} may not complete {row.title!r}")


def _validate(row: WorkflowTask, data) -> None:
    if not isinstance(data, dict):
        raise ValidationFailed("task data must be an object", field="data")
    if row.form:
        try:
            errors = forms.validate(row.form, data)
        except forms.FormError as exc:
            raise ValidationFailed(f"form {row.form!r} unusable: {exc}", field="form") from None
        if errors:
            raise ValidationFailed("; ".join(f"{e['field']}: {e['message']}" for e in errors), details=errors)


def _meaning(props: dict, data: dict) -> str:
    expression = props.get("signatureMeaningExpression")
    if expression:
        return str(SafeEnvironment().evaluate(expression, dict(data)))
    return props.get("signatureMeaning") or DEFAULT_MEANING


def _canonical(data: dict) -> bytes:
    try:
        return rfc8785.dumps(data)
    except (TypeError, ValueError, rfc8785.CanonicalizationError) as exc:
        raise ValidationFailed(f"task data cannot be canonicalized: {exc}", field="data") from None


def signed_record(row: WorkflowTask, payload_json: str | None = None) -> dict:
    """The content a task completion signs (rebuildable from the completed row for verification:
    ``audit.signatures.signature_matches(signature, signed_record(row))``)."""
    payload_json = payload_json if payload_json is not None else row.payload_json
    return {"process_id": row.process_id, "process_version_id": row.process_version_id,
            "instance_id": row.instance_id, "task_id": row.id, "task": row.spec_name, "title": row.title,
            "payload_sha256": hashlib.sha256(payload_json.encode("utf-8")).hexdigest(),
            "payload": json.loads(payload_json)}


def _snapshot(values: dict, keys) -> dict:
    return json.loads(json.dumps({k: values.get(k) for k in keys}, default=str))


def complete_task(session, *, user, task_id: str, data: dict, totp_code: str, policy,
                  password: str | None = None, signing_session_id: str | None = None,
                  comment: str | None = None, expected_instance_version: int | None = None) -> Completion:
    """Authorize, validate, e-sign, run forward, persist and audit one task completion.

    Raises NotFound, TaskNotReady/Conflict (already completed, instance changed: reload),
    Forbidden (role, claim, segregation of duties), ValidationFailed (form, field-named),
    ``audit.errors.SignatureError`` subclasses, WorkflowFailed (script/condition/operation).
    The caller owns the transaction: on any error nothing of this completion is kept.
    """
    row = get_task(session, task_id)
    if row.state != "ready":
        raise TaskNotReady(f"task {row.title!r} is already {row.state}; reload")
    instance = get_instance(session, row.instance_id)
    if expected_instance_version is not None and instance.lock_version != expected_instance_version:
        raise Conflict(f"instance {instance.id} changed since it was loaded "
                       f"(version {expected_instance_version} → {instance.lock_version}); reload")
    actor = actor_of(user)
    workflow = runtime.load(session, instance, actor)
    task = runtime.find_task(workflow, task_id)
    if not task.has_state(runtime.TaskState.READY):
        raise TaskNotReady(f"task {row.title!r} is no longer ready; reload")
    props = _properties(task)
    _authorize(session, user, row, instance, props)
    _validate(row, data)
    payload = _canonical(data)
    payload_sha256 = hashlib.sha256(payload).hexdigest()
    meaning = _meaning(props, data)
    record = signed_record(row, payload.decode("utf-8"))
    signature = sign(session, user, password=password, totp_code=totp_code, meaning=meaning,
                     record_type="workflow_task", record_id=row.id, record=record, policy=policy,
                     signing_session_id=signing_session_id, comment=comment)
    before = _snapshot(task.data, data)
    now = utcnow()

    def step():
        if hasattr(task.task_spec, "add_data_from_form"):
            task.task_spec.add_data_from_form(task, json.loads(payload))
        else:
            task.data.update(json.loads(payload))
        task.run()
        workflow.do_engine_steps()

    previous_messages = runtime.waits(workflow)[1]
    runtime.run_guarded(step, f"completing {row.spec_name}")
    instance_id = instance.id  # the rollback after a failed flush expires every loaded object
    reason = comment or f"task {row.title!r} completed and signed ({meaning})"
    entry = chain.append(session, actor, "workflow.task_completed", "workflow_task", row.id, reason=reason,
                         before=before, after=json.loads(payload),
                         payload={"instance_id": instance_id, "process_id": instance.process_id,
                                  "task": row.spec_name, "meaning": meaning, "signature_id": signature.signature_id,
                                  "payload_sha256": payload_sha256, "instance_status": runtime.status_of(workflow)})
    # The row is written once, with its audit sequence, in the same flush as the instance.
    row.state = "completed"
    row.completed_at = now
    row.completed_by_id = user.id
    row.completed_by_name = user.printed_name
    row.payload_json = payload.decode("utf-8")
    row.payload_sha256 = payload_sha256
    row.meaning = meaning
    row.signature_id = signature.signature_id
    row.audit_seq = entry.seq
    try:
        new_tasks = runtime.save(session, instance, workflow, now, previous_messages=previous_messages)
    except (StaleDataError, DBAPIError) as exc:
        if isinstance(exc, DBAPIError) and "signed evidence" not in str(exc):
            raise
        raise Conflict(f"task {task_id} / instance {instance_id} was completed or changed by someone else "
                       "at the same time; reload") from None
    runtime.record_event(session, instance, actor, "task_completed", task_id=row.id, now=now,
                         detail={"task": row.spec_name, "meaning": meaning})
    session.flush()
    return Completion(row, instance, signature, new_tasks)


def _open_row(session, task_id: str) -> WorkflowTask:
    row = get_task(session, task_id)
    if row.state != "ready":
        raise TaskNotReady(f"task {row.title!r} is already {row.state}")
    return row


def claim(session, *, user, task_id: str) -> WorkflowTask:
    """``user`` takes an open task of their role (audited)."""
    row = _open_row(session, task_id)
    if row.lane and row.lane not in user.roles:
        raise Forbidden(f"task {row.title!r} needs the role {row.lane!r}")
    if row.assignee_id is not None and row.assignee_id != user.id:
        raise Conflict(f"task {row.title!r} is already claimed")
    row.assignee_id = user.id
    _audit_assignment(session, actor_of(user), row, None, user.id, "claimed", None)
    return row


def unclaim(session, *, user, task_id: str, reason: str | None = None) -> WorkflowTask:
    """The assignee (or a manager) puts a claimed task back to the lane (audited)."""
    row = _open_row(session, task_id)
    if row.assignee_id is None:
        return row
    if row.assignee_id != user.id and not (MANAGER_ROLES & user.roles):
        raise Forbidden("only the assignee or a manager may release a claimed task")
    before = row.assignee_id
    row.assignee_id = None
    _audit_assignment(session, actor_of(user), row, before, None, "unclaimed", reason or "released to the lane")
    return row


def reassign(session, *, manager, task_id: str, to_user, reason: str) -> WorkflowTask:
    """A manager assigns an open task to ``to_user``, who must hold the lane role (audited)."""
    if not (MANAGER_ROLES & manager.roles):
        raise Forbidden("reassigning tasks needs a manager role")
    if not reason or not reason.strip():
        raise ValidationFailed("a reason is required to reassign a task", field="reason")
    row = _open_row(session, task_id)
    if row.lane and row.lane not in to_user.roles:
        raise ValidationFailed(f"{to_user.printed_name} does not hold the role {row.lane!r}", field="to_user")
    before = row.assignee_id
    row.assignee_id = to_user.id
    _audit_assignment(session, actor_of(manager), row, before, to_user.id, "reassigned", reason)
    return row


def _audit_assignment(session, actor, row, before, after, kind, reason) -> None:
    instance = session.get(ProcessInstance, row.instance_id)
    chain.append(session, actor, f"workflow.task_{kind}", "workflow_task", row.id, reason=reason,
                 before={"assignee_id": before} if kind != "claimed" else None,
                 after={"assignee_id": after})
    runtime.record_event(session, instance, actor, kind, task_id=row.id,
                         detail={"from": before, "to": after, "reason": reason})
    session.flush()
