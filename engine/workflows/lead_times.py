"""How long things take, from the signed record: median and 90th percentile of the time from a task
becoming ready to its signed completion (per process and task, and per role), and of whole
instances (start to completion). The inbox shows "usually done within", an instance page "likely
complete by"."""
from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.workflows.models import ProcessInstance, WorkflowTask

MIN_SAMPLES = 3  # fewer completions predict nothing
HISTORY = 2000  # the most recent completions of each kind are enough


@dataclass(frozen=True)
class LeadTime:
    n: int
    median_hours: float
    p90_hours: float


def summarise(hours: list[float]) -> LeadTime | None:
    """Median and P90 (linear interpolation) of ``hours``; None under MIN_SAMPLES."""
    if len(hours) < MIN_SAMPLES:
        return None
    s = sorted(hours)
    k = (len(s) - 1) * 0.9
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return LeadTime(len(s), statistics.median(s), s[lo] + (s[hi] - s[lo]) * (k - lo))


def _hours(a: datetime, b: datetime) -> float:
    return (b - a).total_seconds() / 3600


def task_lead_times(session: Session) -> dict[tuple[str, str], LeadTime]:
    """(process id, task id in the diagram) → lead time of its signed completions."""
    rows = session.execute(select(WorkflowTask.process_id, WorkflowTask.spec_name, WorkflowTask.created_at,
                                  WorkflowTask.completed_at)
                           .where(WorkflowTask.signature_id.is_not(None), WorkflowTask.completed_at.is_not(None))
                           .order_by(WorkflowTask.completed_at.desc()).limit(HISTORY * 10)).all()
    groups: dict[tuple[str, str], list[float]] = {}
    for process, spec, created, completed in rows:
        bucket = groups.setdefault((process, spec), [])
        if len(bucket) < HISTORY:
            bucket.append(_hours(created, completed))
    return {k: found for k, v in groups.items() if (found := summarise(v)) is not None}


def role_lead_times(session: Session) -> dict[str, LeadTime]:
    """Role (lane) → lead time of its signed task completions."""
    rows = session.execute(select(WorkflowTask.lane, WorkflowTask.created_at, WorkflowTask.completed_at)
                           .where(WorkflowTask.signature_id.is_not(None), WorkflowTask.completed_at.is_not(None))
                           .order_by(WorkflowTask.completed_at.desc()).limit(HISTORY * 10)).all()
    groups: dict[str, list[float]] = {}
    for lane, created, completed in rows:
        groups.setdefault(lane or "unassigned", []).append(_hours(created, completed))
    return {k: found for k, v in groups.items() if (found := summarise(v)) is not None}


def process_lead_time(session: Session, process_id: str) -> LeadTime | None:
    """Lead time of completed instances of ``process_id`` (start to completion)."""
    rows = session.execute(select(ProcessInstance.started_at, ProcessInstance.completed_at)
                           .where(ProcessInstance.process_id == process_id, ProcessInstance.completed_at.is_not(None))
                           .order_by(ProcessInstance.completed_at.desc()).limit(HISTORY)).all()
    return summarise([_hours(a, b) for a, b in rows])


def likely_completion(session: Session, instance: ProcessInstance,
                      now: datetime) -> tuple[datetime, datetime] | None:
    """(likely, at the latest usually) completion of a running instance: its start plus the median and
    P90 lead time of its process, never before ``now``; None without history or when it is done."""
    if instance.completed_at is not None:
        return None
    lead = process_lead_time(session, instance.process_id)
    if lead is None:
        return None
    likely = max(now, instance.started_at + timedelta(hours=lead.median_hours))
    return likely, max(likely, instance.started_at + timedelta(hours=lead.p90_hours))
