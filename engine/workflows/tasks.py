"""User tasks: claim/unclaim/reassign, and ``complete_task`` — one signed, audited step.

``complete_task`` does everything in the caller's transaction, in named steps: load the ready
task with its instance (one query), authorize (lane role, claim, segregation of duties), validate
the payload against the task's form, check the signature components, run the workflow forward,
persist the instance and the task table, and write the signature and completion entries to the
audit chain (one chain lock, one two-row INSERT). Any failure raises before the caller commits,
so all of it rolls back together.

The hot rows are written with Core statements whose WHERE clause carries the concurrency check
(the task must still be ``ready``, the instance still at the version that was loaded): a raced
completion updates no row and loses with ``Conflict`` — it never reaches the database's evidence
guard, so no database error has to be recognised by its text.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

import rfc8785
from sqlalchemy import bindparam, inspect, select, update
from sqlalchemy.orm.attributes import set_committed_value

import forms
from audit import SYSTEM, Actor, chain
from audit.signatures import Grant, authenticate, store_signature
from engine.db import utcnow
from engine.delegations.acting import acting_for, on_behalf_name
from engine.errors import Conflict, Forbidden, NotFound, TaskNotReady, ValidationFailed
from engine.notifications import outbox
from engine.workflows import form_versions, runtime
from engine.workflows.duties import separation_rules
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


def _authorize(session, user, row: WorkflowTask, instance: ProcessInstance, props: dict, at: datetime):
    """Refuse what ``user`` may not complete; the delegation they act under when the lane is not
    their own role (segregation of duties then holds for the delegate and the delegator alike)."""
    if not getattr(user, "active", True):
        raise Forbidden("user is disabled")
    delegation = None
    if row.lane and row.lane not in user.roles:
        delegation = acting_for(session, user, role=row.lane, process_id=instance.process_id, at=at)
        if delegation is None:
            raise Forbidden(f"task {row.title!r} needs the role {row.lane!r}")
    if row.assignee_id is not None and row.assignee_id != user.id:
        raise Forbidden(f"task {row.title!r} is claimed by someone else")
    people = {user.id} | ({delegation.delegator_id} if delegation else set())
    names = f"{user.username}" + (f" (for {delegation.delegator.username})" if delegation else "")
    rules = separation_rules(props)
    if "initiator" in rules and instance.started_by_id in {str(p) for p in people}:
        raise Forbidden(f"segregation of duties: the initiator of this {instance.process_id} may not "
                        f"complete {row.title!r}: {names}")
    earlier = [r for r in rules if r != "initiator"]
    if earlier:
        done = session.scalars(select(WorkflowTask.spec_name).where(
            WorkflowTask.instance_id == instance.id, WorkflowTask.state == "completed",
            WorkflowTask.completed_by_id.in_(people), WorkflowTask.spec_name.in_(earlier))).first()
        if done:
            raise Forbidden(f"segregation of duties: whoever completed {done!r} may not complete {row.title!r}: "
                            f"{names}")
    return delegation


def _validate(session, row: WorkflowTask, data) -> None:
    if not isinstance(data, dict):
        raise ValidationFailed("task data must be an object", field="data")
    if row.form:
        try:
            errors = form_versions.validate(session, row.form, data)
        except (forms.FormError, NotFound) as exc:
            raise ValidationFailed(f"form {row.form!r} unusable: {exc}", field="form") from None
        if errors:
            raise ValidationFailed("; ".join(f"{e['field']}: {e['message']}" for e in errors), details=errors)


def signature_meaning(task, data: dict | None = None) -> str:
    """The meaning a signature completing the SpiffWorkflow ``task`` with ``data`` carries (§11.50):
    its ``signatureMeaningExpression`` over ``data`` (e.g. approved/rejected), else its
    ``signatureMeaning``, else "reviewed". Raises when the expression cannot be evaluated."""
    props = runtime.task_properties(task)
    expression = props.get("signatureMeaningExpression")
    if expression and data is not None:
        return str(SafeEnvironment().evaluate(expression, dict(data)))
    return props.get("signatureMeaning") or DEFAULT_MEANING


def meaning_preview(session, row: WorkflowTask, data: dict | None = None) -> str:
    """What signing ``row`` with the entries ``data`` would mean, for the signing dialog to show
    before anyone signs (the same :func:`signature_meaning` that ``complete_task`` records)."""
    if row.state != "ready":
        return row.meaning or DEFAULT_MEANING
    task = runtime.find_task(runtime.load(session, get_instance(session, row.instance_id), SYSTEM), row.id)
    try:
        return signature_meaning(task, data or None)
    except Exception:  # noqa: BLE001 - incomplete entries: the form's validation says what is missing
        return signature_meaning(task)


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


_TASK = WorkflowTask.__table__
_INSTANCE = ProcessInstance.__table__
# Only a still-ready row is completed: a concurrent completion that committed first leaves
# nothing to update (and the evidence guard never sees an attempt to change a completed row).
_READY_ROW = (select(WorkflowTask, ProcessInstance).join(ProcessInstance, ProcessInstance.id == WorkflowTask.instance_id)
              .where(WorkflowTask.id == bindparam("task_id")))
# The SET clause comes from the parameters given (statements are built once and cached).
_SAVE_INSTANCE = update(_INSTANCE).where(_INSTANCE.c.id == bindparam("w_id"),
                                         _INSTANCE.c.lock_version == bindparam("w_version"))
_COMPLETE_ROW = (update(_TASK).where(_TASK.c.id == bindparam("task_id"), _TASK.c.state == "ready")
                 .values(state="completed"))


@dataclass(frozen=True)
class _Payload:
    """The submitted data as signed: canonical text and its SHA-256."""

    data: dict
    text: str
    sha256: str


@dataclass(frozen=True)
class _Step:
    """What running the workflow forward produced."""

    before: dict
    status: str
    next_timer: datetime | None
    messages: set[str]
    messages_before: set[str]
    open_before: set[str]
    ready: list  # the READY user tasks after the step


def complete_task(session, *, user, task_id: str, data: dict, totp_code: str, policy,
                  password: str | None = None, signing_session_id: str | None = None,
                  comment: str | None = None, expected_instance_version: int | None = None) -> Completion:
    """Authorize, validate, e-sign, run forward, persist and audit one task completion.

    Raises NotFound, TaskNotReady/Conflict (already completed, instance changed: reload),
    Forbidden (role, claim, segregation of duties), ValidationFailed (form, field-named),
    ``audit.errors.SignatureError`` subclasses, WorkflowFailed (script/condition/operation).
    The caller owns the transaction: on any error nothing of this completion is kept.
    """
    row, instance = _load_ready(session, task_id, expected_instance_version)
    actor = actor_of(user)
    workflow = runtime.load(session, instance, actor)
    task = runtime.find_task(workflow, task_id)
    if not task.has_state(runtime.TaskState.READY):
        raise TaskNotReady(f"task {row.title!r} is no longer ready; reload")
    props = runtime.task_properties(task)
    delegation = _authorize(session, user, row, instance, props, policy.clock())
    payload = _payload(session, row, data)
    meaning = signature_meaning(task, data)
    grant = authenticate(session, user, password=password, totp_code=totp_code, meaning=meaning,
                         record_type="workflow_task", record_id=row.id, record=signed_record(row, payload.text),
                         policy=policy, signing_session_id=signing_session_id)
    step = _run_forward(workflow, task, row, payload)
    now = utcnow()
    new_tasks = _save_instance(session, instance, workflow, step, now)
    runtime.record_event(session, instance, actor, "task_completed", task_id=row.id, now=now,
                         detail={"task": row.spec_name, "meaning": meaning})
    # The chain lock is taken here and held to COMMIT: only what needs the entries comes after.
    grant = grant.applied_at(policy.clock())  # after the entries written since the check
    signature_entry, completion_entry = _audit(session, actor, grant, row, instance, payload, step, comment,
                                               delegation)
    signature = store_signature(session, grant, signature_entry)
    _complete_row(session, row, user, payload, grant, completion_entry.seq, now,
                  on_behalf_name(user, delegation) if delegation else user.printed_name)
    session.flush()
    return Completion(row, instance, signature, new_tasks)


def _load_ready(session, task_id: str, expected_version: int | None) -> tuple[WorkflowTask, ProcessInstance]:
    """The task row and its instance in one query; TaskNotReady/Conflict when they moved on."""
    found = session.execute(_READY_ROW, {"task_id": task_id}).first()
    if found is None:
        raise NotFound(f"task {task_id} not found", obj=task_id)
    row, instance = found
    if row.state != "ready":
        raise TaskNotReady(f"task {row.title!r} is already {row.state}; reload")
    if expected_version is not None and instance.lock_version != expected_version:
        raise Conflict(f"instance {instance.id} changed since it was loaded "
                       f"(version {expected_version} → {instance.lock_version}); reload")
    return row, instance


def _payload(session, row: WorkflowTask, data) -> _Payload:
    """Validate ``data`` against the task's form; its canonical (signed) text and hash."""
    _validate(session, row, data)
    canonical = _canonical(data)
    return _Payload(data=data, text=canonical.decode("utf-8"), sha256=hashlib.sha256(canonical).hexdigest())


def _run_forward(workflow, task, row: WorkflowTask, payload: _Payload) -> _Step:
    """Put the payload into the task, run it and the engine steps after it."""
    before = json.loads(json.dumps({k: task.data.get(k) for k in payload.data}, default=str))
    # the other open rows of the instance (the table mirrors the loaded workflow)
    open_before = {str(t.id) for t in workflow.get_tasks(state=runtime.TaskState.READY, manual=True)
                   if t is not task}
    messages_before = runtime.waits(workflow)[1]

    def step():
        if hasattr(task.task_spec, "add_data_from_form"):
            task.task_spec.add_data_from_form(task, json.loads(payload.text))
        else:
            task.data.update(json.loads(payload.text))
        task.run()
        workflow.do_engine_steps()

    runtime.run_guarded(step, f"completing {row.spec_name}")
    next_timer, messages = runtime.waits(workflow)
    ready = runtime.ready_user_tasks(workflow)
    return _Step(before=before, status=runtime.status_of(workflow, pending=(next_timer, messages), ready_tasks=ready),
                 next_timer=next_timer, messages=messages, messages_before=messages_before,
                 open_before=open_before, ready=ready)


def _save_instance(session, instance: ProcessInstance, workflow, step: _Step, now: datetime) -> list[WorkflowTask]:
    """Write the state with one versioned UPDATE (Conflict if someone else moved the instance),
    then bring the task table and the message waits in step without reading them back."""
    state = inspect(instance)  # loaded clean: changed only when a script set something (e.g. a business key)
    values = {attr.key: attr.value for attr in state.attrs
              if attr.key != "lock_version" and attr.history.has_changes()} if state.modified else {}
    values.update(runtime.state_values(workflow, step.status, step.next_timer, now))
    version = instance.lock_version
    result = session.connection().execute(_SAVE_INSTANCE, dict(values, lock_version=version + 1,
                                                                w_id=instance.id, w_version=version))
    if result.rowcount != 1:
        raise Conflict(f"instance {instance.id} was changed by someone else at the same time; reload")
    for key, value in dict(values, lock_version=version + 1).items():
        set_committed_value(instance, key, value)
    if step.messages != step.messages_before:
        runtime.replace_message_waits(session, instance, step.messages)
    return runtime.sync_tasks(session, instance, workflow, now, open_before=step.open_before,
                              business_key_changed="business_key" in values, ready_tasks=step.ready)


def _audit(session, actor: Actor, grant: Grant, row: WorkflowTask, instance: ProcessInstance,
           payload: _Payload, step: _Step, comment: str | None, delegation=None):
    """The signature entry and the completion entry: one chain lock, one INSERT."""
    reason = comment or f"task {row.title!r} completed and signed ({grant.meaning})"
    on_behalf = {"on_behalf_of": {"user_id": delegation.delegator_id, "name": delegation.delegator.printed_name,
                                  "delegation_id": delegation.id}} if delegation else {}
    signed_for = (f"signed for {delegation.delegator.printed_name} under delegation {delegation.id}"
                  + (f"; {comment}" if comment else "")) if delegation else comment
    completion = dict(actor=actor, action="workflow.task_completed", object_type="workflow_task",
                      object_id=row.id, reason=reason, before=step.before, after=json.loads(payload.text),
                      payload={"instance_id": instance.id, "process_id": instance.process_id,
                               "task": row.spec_name, "meaning": grant.meaning,
                               "signature_id": grant.signature_id, "payload_sha256": payload.sha256,
                               "instance_status": step.status, **on_behalf})
    return chain.append_many(session, [grant.audit_record(signed_for), completion])


def _complete_row(session, row: WorkflowTask, user, payload: _Payload, grant: Grant, audit_seq: int,
                  now: datetime, manifested_name: str) -> None:
    """Turn the ready row into the evidence of the completion (one UPDATE, written once)."""
    values = dict(completed_at=now, completed_by_id=user.id, completed_by_name=manifested_name,
                  payload_json=payload.text, payload_sha256=payload.sha256, meaning=grant.meaning,
                  signature_id=grant.signature_id, audit_seq=audit_seq)
    if session.connection().execute(_COMPLETE_ROW, dict(values, task_id=row.id)).rowcount != 1:
        raise Conflict(f"task {row.id} / instance {row.instance_id} was completed or changed by someone "
                       "else at the same time; reload")
    for key, value in dict(values, state="completed").items():
        set_committed_value(row, key, value)


def _open_row(session, task_id: str) -> WorkflowTask:
    row = get_task(session, task_id)
    if row.state != "ready":
        raise TaskNotReady(f"task {row.title!r} is already {row.state}")
    return row


def claim(session, *, user, task_id: str, at: datetime | None = None) -> WorkflowTask:
    """``user`` takes an open task of their role, or of a role delegated to them (audited)."""
    row = _open_row(session, task_id)
    if row.lane and row.lane not in user.roles and acting_for(
            session, user, role=row.lane, process_id=row.process_id, at=at or utcnow()) is None:
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
    outbox.tasks_ready(session, [row])  # the new assignee hears of it (once: the outbox dedupes)
    return row


def assign(session, actor: Actor, *, task_id: str, to_user, reason: str) -> WorkflowTask:
    """The process itself gives an open task to ``to_user`` (who must hold the lane role); audited.

    For tasks that belong to one person from the start (an operator's read-and-acknowledge task):
    assigned, the task leaves the other lane members' inboxes and only ``to_user`` may sign it.
    """
    row = _open_row(session, task_id)
    if row.lane and row.lane not in to_user.roles:
        raise ValidationFailed(f"{to_user.printed_name} does not hold the role {row.lane!r}", field="to_user")
    before = row.assignee_id
    row.assignee_id = to_user.id
    _audit_assignment(session, actor, row, before, to_user.id, "assigned", reason)
    return row


def _audit_assignment(session, actor, row, before, after, kind, reason) -> None:
    instance = session.get(ProcessInstance, row.instance_id)
    chain.append(session, actor, f"workflow.task_{kind}", "workflow_task", row.id, reason=reason,
                 before={"assignee_id": before} if kind != "claimed" else None,
                 after={"assignee_id": after})
    runtime.record_event(session, instance, actor, kind, task_id=row.id,
                         detail={"from": before, "to": after, "reason": reason})
    session.flush()
