"""Read-only listings of instances and tasks (for the JSON API and reports)."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.workflows.models import MessageWait, ProcessInstance, WorkflowTask


def list_instances(session: Session, *, process_id: str | None = None, status: str | None = None,
                   business_key: str | None = None, limit: int = 50, offset: int = 0) -> list[ProcessInstance]:
    """Instances, newest first, filtered by process, status and business key."""
    query = select(ProcessInstance).order_by(ProcessInstance.id.desc()).limit(limit).offset(offset)
    if process_id:
        query = query.where(ProcessInstance.process_id == process_id)
    if status:
        query = query.where(ProcessInstance.status == status)
    if business_key:
        query = query.where(ProcessInstance.business_key == business_key)
    return list(session.scalars(query))


def list_tasks(session: Session, *, state: str | None = "ready", process_id: str | None = None,
               instance_id: int | None = None, lane: str | None = None, limit: int = 50,
               offset: int = 0) -> list[WorkflowTask]:
    """User tasks, oldest first, filtered by state, process, instance and lane (role)."""
    query = (select(WorkflowTask).order_by(WorkflowTask.created_at, WorkflowTask.id).limit(limit).offset(offset))
    if state:
        query = query.where(WorkflowTask.state == state)
    if process_id:
        query = query.where(WorkflowTask.process_id == process_id)
    if instance_id is not None:
        query = query.where(WorkflowTask.instance_id == instance_id)
    if lane:
        query = query.where(WorkflowTask.lane == lane)
    return list(session.scalars(query))


def waiting_for(session: Session, instance_id: int) -> list[str]:
    """The message names the instance waits for."""
    return list(session.scalars(select(MessageWait.message_name).where(MessageWait.instance_id == instance_id)
                                .order_by(MessageWait.message_name)))
