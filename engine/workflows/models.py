"""Workflow tables: deployed process versions, instances, the inbox task table, history, waits.

A process version is immutable once stored (content hash, deployer, time, comment, the BPMN and
the serialized spec, once per version). An instance is pinned to one version and stores its
SpiffWorkflow state *without* the spec. ``WorkflowTask`` is the denormalized inbox row and, once
completed, the evidence of who completed it with which payload (and its SHA-256) and signature.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import (BigInteger, Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint, event,
                        inspect)
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base, UTCDateTime, utcnow

INSTANCE_STATUSES = ("running", "waiting", "completed", "error", "cancelled")
TASK_STATES = ("ready", "completed", "cancelled")


class ProcessVersion(Base):
    """One deployed, immutable version of an executable BPMN process."""

    __tablename__ = "wf_process_version"
    __table_args__ = (UniqueConstraint("process_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    process_id: Mapped[str] = mapped_column(String(200), index=True)
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(300))
    file_name: Mapped[str] = mapped_column(String(300))
    bpmn_xml: Mapped[str] = mapped_column(Text)
    content_sha256: Mapped[str] = mapped_column(String(64))
    spec_json: Mapped[str] = mapped_column(Text)
    spiff_version: Mapped[str] = mapped_column(String(20))
    serializer_version: Mapped[str] = mapped_column(String(10))
    deployed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deployed_by_id: Mapped[str] = mapped_column(String(200))
    deployed_by_name: Mapped[str] = mapped_column(String(200))
    comment: Mapped[str | None] = mapped_column(Text)

    def __repr__(self) -> str:
        return f"<ProcessVersion {self.process_id} v{self.version}>"


@event.listens_for(ProcessVersion, "before_update")
def _versions_are_immutable(_mapper, _connection, target):
    raise ValueError(f"process version {target.process_id} v{target.version} is immutable; deploy a new one")


class DeployRoute(Base):
    """How deploys of one process are approved (#14): by the deployer's signature (the default,
    no row) or routed through change control (the editor opens a change request carrying the
    proposed diagram; implementing the change deploys it). Set by a QA manager, audited."""

    __tablename__ = "wf_deploy_route"

    process_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    via_change_control: Mapped[bool] = mapped_column(Boolean, default=False)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    changed_by_id: Mapped[str] = mapped_column(String(200))
    changed_by_name: Mapped[str] = mapped_column(String(200))


class ProcessInstance(Base):
    """A running (or finished) workflow, pinned to the version it started on."""

    __tablename__ = "wf_instance"
    __table_args__ = (CheckConstraint("status IN ('running', 'waiting', 'completed', 'error', 'cancelled')",
                                      name="status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    process_version_id: Mapped[int] = mapped_column(ForeignKey("wf_process_version.id"), index=True)
    process_id: Mapped[str] = mapped_column(String(200), index=True)
    business_key: Mapped[str | None] = mapped_column(String(120), index=True)
    status: Mapped[str] = mapped_column(String(16), default="running")
    state_json: Mapped[str] = mapped_column(Text)
    spiff_version: Mapped[str] = mapped_column(String(20))
    serializer_version: Mapped[str] = mapped_column(String(10))
    lock_version: Mapped[int] = mapped_column(Integer, default=1)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_by_id: Mapped[str] = mapped_column(String(200))
    started_by_name: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_timer_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    last_error: Mapped[str | None] = mapped_column(Text)

    # Optimistic concurrency: every UPDATE is "... WHERE id = ? AND lock_version = ?".
    __mapper_args__ = {"version_id_col": lock_version}

    def __repr__(self) -> str:
        return f"<ProcessInstance {self.id} {self.process_id} {self.status}>"


class WorkflowTask(Base):
    """Inbox row for a user task; after completion, the evidence of the completion."""

    __tablename__ = "wf_task"
    __table_args__ = (
        CheckConstraint("state IN ('ready', 'completed', 'cancelled')", name="state"),
        Index("ix_wf_task_state_lane", "state", "lane"),
        Index("ix_wf_task_assignee_state", "assignee_id", "state"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # SpiffWorkflow task UUID
    instance_id: Mapped[int] = mapped_column(ForeignKey("wf_instance.id"), index=True)
    process_id: Mapped[str] = mapped_column(String(200))
    process_version_id: Mapped[int] = mapped_column(ForeignKey("wf_process_version.id"))
    spec_name: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(300))
    lane: Mapped[str | None] = mapped_column(String(32))
    form: Mapped[str | None] = mapped_column(String(200))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    state: Mapped[str] = mapped_column(String(16), default="ready")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    business_key: Mapped[str | None] = mapped_column(String(120), index=True)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    completed_by_name: Mapped[str | None] = mapped_column(String(200))
    payload_json: Mapped[str | None] = mapped_column(Text)
    payload_sha256: Mapped[str | None] = mapped_column(String(64))
    meaning: Mapped[str | None] = mapped_column(String(40))
    signature_id: Mapped[str | None] = mapped_column(String(36))
    audit_seq: Mapped[int | None] = mapped_column(BigInteger)

    def __repr__(self) -> str:
        return f"<WorkflowTask {self.spec_name} {self.state} instance={self.instance_id}>"


@event.listens_for(WorkflowTask, "before_update")
def _completed_tasks_are_evidence(_mapper, _connection, target):
    attrs = inspect(target).attrs
    old_state = attrs.state.history.deleted[0] if attrs.state.history.deleted else target.state
    if old_state != "completed":
        return
    changed = {a.key for a in attrs if a.history.has_changes()}
    first_seq = changed == {"audit_seq"} and not any(v is not None for v in attrs.audit_seq.history.deleted)
    if not first_seq:  # filling in the audit sequence once, in the completing transaction
        raise ValueError(f"completed task {target.id} is signed evidence and cannot be changed")


@event.listens_for(WorkflowTask, "before_delete")
def _completed_tasks_are_not_deleted(_mapper, _connection, target):
    if target.state == "completed":
        raise ValueError(f"completed task {target.id} is signed evidence and cannot be deleted")


class InstanceEvent(Base):
    """History of an instance: started, task completed, timer fired, message, claim, migration…"""

    __tablename__ = "wf_instance_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("wf_instance.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    kind: Mapped[str] = mapped_column(String(40))
    actor_id: Mapped[str] = mapped_column(String(200))
    actor_name: Mapped[str] = mapped_column(String(200))
    task_id: Mapped[str | None] = mapped_column(String(36))
    detail_json: Mapped[str | None] = mapped_column(Text)


class MessageWait(Base):
    """An instance waits for message ``message_name`` (so senders find it with an index scan)."""

    __tablename__ = "wf_message_wait"

    instance_id: Mapped[int] = mapped_column(ForeignKey("wf_instance.id"), primary_key=True)
    message_name: Mapped[str] = mapped_column(String(200), primary_key=True, index=True)


class DecisionVersion(Base):
    """One deployed, immutable version of a DMN decision table (its file, hash and deployer)."""

    __tablename__ = "wf_decision_version"
    __table_args__ = (UniqueConstraint("decision_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    decision_id: Mapped[str] = mapped_column(String(200), index=True)
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(300))
    file_name: Mapped[str] = mapped_column(String(300))
    dmn_xml: Mapped[str] = mapped_column(Text)
    content_sha256: Mapped[str] = mapped_column(String(64))
    hit_policy: Mapped[str] = mapped_column(String(20))
    rule_count: Mapped[int] = mapped_column(Integer)
    deployed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deployed_by_id: Mapped[str] = mapped_column(String(200))
    deployed_by_name: Mapped[str] = mapped_column(String(200))
    comment: Mapped[str | None] = mapped_column(Text)

    def __repr__(self) -> str:
        return f"<DecisionVersion {self.decision_id} v{self.version}>"


@event.listens_for(DecisionVersion, "before_update")
def _decisions_are_immutable(_mapper, _connection, target):
    raise ValueError(f"decision version {target.decision_id} v{target.version} is immutable; deploy a new one")


class ProcessDecision(Base):
    """A process version pins the decision-table versions its business-rule tasks run."""

    __tablename__ = "wf_process_decision"

    process_version_id: Mapped[int] = mapped_column(ForeignKey("wf_process_version.id"), primary_key=True)
    decision_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    decision_version_id: Mapped[int] = mapped_column(ForeignKey("wf_decision_version.id"), index=True)


class FormVersion(Base):
    """One immutable version of a task form (JSON Schema) saved in the form builder (#14).

    A diagram pins a stored form as ``formJsonSchemaFilename="name@version"``: deploying rewrites
    an unpinned name that has stored versions to its latest one, so each process version keeps
    the exact form its tasks were deployed with."""

    __tablename__ = "wf_form_version"
    __table_args__ = (UniqueConstraint("name", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120), index=True)
    version: Mapped[int] = mapped_column(Integer)
    schema_json: Mapped[str] = mapped_column(Text)
    content_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[str] = mapped_column(String(200))
    created_by_name: Mapped[str] = mapped_column(String(200))
    comment: Mapped[str] = mapped_column(Text)

    @property
    def pin(self) -> str:
        return f"{self.name}@{self.version}"
