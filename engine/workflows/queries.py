"""Read-only listings of instances (for the JSON API and reports); tasks are listed by
``engine.workflows.visibility.visible_tasks``."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.workflows.models import MessageWait, ProcessInstance
from engine.workflows.visibility import visible_instances_query


def list_instances(session: Session, viewer, *, username: str | None = None, process_id: str | None = None,
                   status: str | None = None, business_key: str | None = None, limit: int = 50,
                   offset: int = 0) -> list[ProcessInstance]:
    """Instances ``viewer`` sees, newest first, filtered by process, status and business key."""
    query = (visible_instances_query(viewer, username=username)
             .order_by(ProcessInstance.id.desc()).limit(limit).offset(offset))
    if process_id:
        query = query.where(ProcessInstance.process_id == process_id)
    if status:
        query = query.where(ProcessInstance.status == status)
    if business_key:
        query = query.where(ProcessInstance.business_key == business_key)
    return list(session.scalars(query))


def waiting_for(session: Session, instance_id: int) -> list[str]:
    """The message names the instance waits for."""
    return list(session.scalars(select(MessageWait.message_name).where(MessageWait.instance_id == instance_id)
                                .order_by(MessageWait.message_name)))
