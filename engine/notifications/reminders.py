"""Reminders and escalations found by time: tasks due within a day, tasks overdue.

The worker calls :func:`scan_due_tasks` each pass (in its own transaction); each task is told
once per kind (the outbox's dedupe key and the NOT EXISTS below).
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, exists, select

from engine.notifications.models import Notification
from engine.notifications.outbox import ESCALATE_TO, announce, task_subject
from engine.workflows.models import WorkflowTask

DUE_SOON = timedelta(hours=24)


def _not_notified(task_table, kind: str):
    return ~exists().where(and_(Notification.kind == kind, Notification.subject_type == "task",
                                Notification.subject_id == task_table.id))


def scan_due_tasks(session, now: datetime, *, limit: int = 200) -> int:
    """Open tasks due within a day (tell the people of the task) or overdue (escalate to the
    lane role's manager), each once."""
    added = 0
    soon = session.scalars(select(WorkflowTask).where(
        WorkflowTask.state == "ready", WorkflowTask.due_at.is_not(None), WorkflowTask.due_at > now,
        WorkflowTask.due_at <= now + DUE_SOON, _not_notified(WorkflowTask, "task_due_soon")).limit(limit)).all()
    for task in soon:
        added += announce(session, "task_due_soon", task_subject(task), role=task.lane,
                          assignee_id=task.assignee_id, now=now)
    late = session.scalars(select(WorkflowTask).where(
        WorkflowTask.state == "ready", WorkflowTask.due_at.is_not(None), WorkflowTask.due_at <= now,
        _not_notified(WorkflowTask, "task_overdue")).limit(limit)).all()
    for task in late:
        added += announce(session, "task_overdue", task_subject(task), role=ESCALATE_TO.get(task.lane or ""),
                          now=now)
    return added
