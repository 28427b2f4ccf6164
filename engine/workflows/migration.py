"""Moving running instances to another deployed version of their process (signed, audited).

SpiffWorkflow's ``diff_workflow`` aligns the instance's tasks with the new spec; we refuse, as
spiff-arena does, when a task whose spec changed or was removed is already COMPLETED or STARTED
(its evidence would no longer match its definition), then ``migrate_workflow`` re-predicts the
open part of the tree. Open inbox rows are replaced by the new version's tasks.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from SpiffWorkflow.bpmn.util.diff import diff_workflow, migrate_workflow
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from audit import SYSTEM, chain
from audit.signatures import sign
from engine.db import utcnow
from engine.errors import Conflict, Forbidden, NotFound, ValidationFailed
from engine.workflows import runtime, serializer
from engine.workflows.instances import actor_of, get_instance
from engine.workflows.models import ProcessInstance, ProcessVersion

MIGRATOR_ROLES = frozenset({"qa_manager", "admin"})


@dataclass
class MigrationPlan:
    """Whether an instance can move to ``target`` and what would change."""

    instance_id: int
    from_version: int
    to_version: int
    refusals: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.refusals

    def summary(self) -> dict:
        return {"instance_id": self.instance_id, "from_version": self.from_version, "to_version": self.to_version,
                "changed": self.changed, "removed": self.removed, "added": self.added, "refusals": self.refusals}


def _name(task_spec) -> str:
    return getattr(task_spec, "bpmn_id", None) or task_spec.name


def _diff(workflow, spec, subprocess_specs):
    registry = serializer._SPEC_SERIALIZER.registry
    return diff_workflow(registry, workflow, spec, subprocess_specs)


def _plan(instance, current: ProcessVersion, target: ProcessVersion, spec, workflow, top, sub_diffs) -> MigrationPlan:
    plan = MigrationPlan(instance.id, current.version, target.version)
    diffs = [top] + [d for d in sub_diffs.values() if d is not None]
    plan.refusals += [f"called process of subprocess {sp} is missing from version {target.version}"
                      for sp, d in sub_diffs.items() if d is None]
    for diff in diffs:
        for kind, tasks in (("changed", diff.changed), ("removed", diff.removed)):
            for task in tasks:
                name = _name(task.task_spec)
                if name in ("Root", "Start", "End") or name.endswith(".EndJoin"):
                    continue  # SpiffWorkflow's internal tasks
                getattr(plan, kind).append(name)
                if task.has_state(TaskState.COMPLETED | TaskState.STARTED):
                    plan.refusals.append(f"task {name!r} is {TaskState.get_name(task.state)} and was "
                                         f"{kind} in version {target.version}")
    old_names = {_name(ts) for ts in workflow.spec.task_specs.values()}
    plan.added = sorted(_name(ts) for ts in spec.task_specs.values() if _name(ts) not in old_names)
    plan.changed, plan.removed = sorted(set(plan.changed)), sorted(set(plan.removed))
    return plan


def _target(session, instance: ProcessInstance, target_version: int | None) -> ProcessVersion:
    query = select(ProcessVersion).where(ProcessVersion.process_id == instance.process_id)
    if target_version is None:
        query = query.order_by(ProcessVersion.version.desc()).limit(1)
    else:
        query = query.where(ProcessVersion.version == target_version)
    target = session.scalars(query).first()
    if target is None:
        raise NotFound(f"{instance.process_id} has no version {target_version}")
    return target


def plan_migration(session, instance_id: int, target_version: int | None = None) -> MigrationPlan:
    """What migrating instance ``instance_id`` to ``target_version`` (default: latest) would do."""
    instance = get_instance(session, instance_id)
    current = session.get(ProcessVersion, instance.process_version_id)
    target = _target(session, instance, target_version)
    workflow = runtime.load(session, instance, SYSTEM)
    spec, subprocess_specs = serializer.SPECS.get(session, target)
    top, subs = _diff(workflow, spec, subprocess_specs)
    return _plan(instance, current, target, spec, workflow, top, subs)


def movable_instances(session, process_id: str, target_version: int | None = None) -> list[ProcessInstance]:
    """The running and waiting instances of ``process_id`` not yet on ``target_version`` (default latest)."""
    target = session.scalars(select(ProcessVersion).where(ProcessVersion.process_id == process_id).order_by(
        ProcessVersion.version.desc()).limit(1)) if target_version is None else None
    latest = target.first() if target is not None else None
    if target_version is None and latest is None:
        raise NotFound(f"{process_id} has no deployed version")
    version = latest.version if latest is not None else target_version
    return list(session.scalars(
        select(ProcessInstance).join(ProcessVersion, ProcessVersion.id == ProcessInstance.process_version_id)
        .where(ProcessInstance.process_id == process_id, ProcessInstance.status.in_(("running", "waiting")),
               ProcessVersion.version != version).order_by(ProcessInstance.id)))


def plan_bulk_migration(session, process_id: str, target_version: int | None = None) -> list[MigrationPlan]:
    """The dry run of moving every movable instance of ``process_id``: one plan each (refusals say why)."""
    return [plan_migration(session, inst.id, target_version)
            for inst in movable_instances(session, process_id, target_version)]


def _migrate_one(session, actor, instance: ProcessInstance, target: ProcessVersion, now) -> MigrationPlan:
    current = session.get(ProcessVersion, instance.process_version_id)
    workflow = runtime.load(session, instance, actor)
    spec, subprocess_specs = serializer.SPECS.get(session, target)
    top, subs = _diff(workflow, spec, subprocess_specs)
    plan = _plan(instance, current, target, spec, workflow, top, subs)
    if not plan.ok or instance.status in ("completed", "cancelled"):
        if instance.status in ("completed", "cancelled"):
            plan.refusals.append(f"instance is {instance.status}")
        return plan

    def step():
        migrate_workflow(top, workflow, spec)
        for sp_id, sub in list(workflow.subprocesses.items()):
            migrate_workflow(subs[sp_id], sub, subprocess_specs[sub.spec.name])
        workflow.subprocess_specs = subprocess_specs
        workflow.do_engine_steps()

    runtime.run_guarded(step, f"migrating instance {instance.id}")
    instance.process_version_id = target.id
    runtime.save(session, instance, workflow, now)
    chain.append(session, actor, "workflow.instance_migrated", "process_instance", instance.id,
                 reason=f"migrated to {target.process_id} v{target.version}",
                 before={"version": current.version, "process_version_id": current.id},
                 after={"version": target.version, "process_version_id": target.id}, payload=plan.summary())
    runtime.record_event(session, instance, actor, "migrated", now=now, detail=plan.summary())
    return plan


def migrate_instances(session, *, user, instance_ids: list[int], target_version: int | None = None,
                      reason: str, totp_code: str, policy, password: str | None = None,
                      signing_session_id: str | None = None) -> list[MigrationPlan]:
    """Migrate one or many running instances of one process to ``target_version`` (default latest).

    One signature (meaning "approved") covers the whole action and its before/after summary;
    each migrated instance gets its own audit entry. Instances that cannot migrate are left
    untouched and returned with their refusals. Raises Forbidden without a migrator role.
    """
    if not (MIGRATOR_ROLES & user.roles):
        raise Forbidden("migrating instances needs the qa_manager or admin role")
    if not reason or not reason.strip():
        raise ValidationFailed("a reason is required to migrate instances", field="reason")
    if not instance_ids:
        raise ValidationFailed("no instances given", field="instance_ids")
    instances = [get_instance(session, i) for i in instance_ids]
    if len({i.process_id for i in instances}) != 1:
        raise ValidationFailed("instances of one process at a time", field="instance_ids")
    target = _target(session, instances[0], target_version)
    actor = actor_of(user)
    now = utcnow()
    plans = [_migrate_one(session, actor, inst, target, now) for inst in instances]
    record = {"process_id": target.process_id, "to_version": target.version, "reason": reason,
              "instances": [p.summary() for p in plans]}
    signature = sign(session, user, password=password, totp_code=totp_code, meaning="approved",
                     record_type="workflow_migration", record_id=f"{target.process_id}:v{target.version}:{now.isoformat()}",
                     record=record, policy=policy, signing_session_id=signing_session_id, comment=reason)
    chain.append(session, actor, "workflow.migration_signed", "process_version",
                 f"{target.process_id}:v{target.version}", payload={"signature_id": signature.signature_id,
                                                                     **record})
    if not any(p.ok for p in plans):
        raise Conflict("no instance could be migrated: " + "; ".join(
            f"instance {p.instance_id}: {', '.join(p.refusals)}" for p in plans))
    session.flush()
    return plans
