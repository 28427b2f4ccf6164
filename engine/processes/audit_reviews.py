"""Periodic audit-trail review (EU GMP Annex 11 §9): assemble the risky events, review, record.

A review covers a period and records the chain head (seq and hash) at assembly, so an auditor
can later prove which entries the reviewer saw: every entry up to that seq is fixed by the hash.
"""
from __future__ import annotations

import re
from calendar import monthrange
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from audit import chain
from audit.models import AuditEntry
from engine.errors import Conflict, NotFound, ValidationFailed
from engine.processes.deviations import open_deviation
from engine.processes.models import AuditReview
from engine.processes.workflow import start
from engine.users.models import User, UserRole

MAX_EVENTS = 2000
WORK_HOURS = (time(7, 0), time(19, 0))
PLANT_TIMEZONE = "Asia/Shanghai"

# (category, pattern on the action name) — first match wins; names follow "<area>.<verb>".
CATEGORIES = (
    ("lockout_or_failed_login", re.compile(r"lock(ed)?_?out|login_failed|failed_login|signature_failed|"
                                           r"auth\.fail|signature\.refused|totp\.(fail|replay)")),
    ("correction", re.compile(r"correct|supersed")),
    ("override", re.compile(r"override")),
    ("deployment_or_rule_change", re.compile(r"deploy|rule|\.definition|process_version")),
    ("administration", re.compile(r"^(user|users|role|roles|admin|settings|config|token|api_token)\.")),
)


def iso(dt: datetime) -> str:
    """The audit trail's timestamp format: UTC, microseconds, 'Z'."""
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_instant(value: str, field: str) -> datetime:
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (AttributeError, ValueError):
        raise ValidationFailed(f"{value!r} is not an ISO 8601 instant", field=field) from None
    if dt.tzinfo is None:
        raise ValidationFailed(f"{value!r} has no time zone", field=field)
    return dt.astimezone(timezone.utc)


def categorise(entry: AuditEntry, admin_ids: set[str], tz: ZoneInfo) -> str | None:
    """Why ``entry`` is risky (a category name), or None when it is routine."""
    action = entry.action.lower()
    for category, pattern in CATEGORIES:
        if pattern.search(action):
            return category
    if entry.actor_kind == "user" and entry.actor_id in admin_ids:
        return "administration"
    if entry.actor_kind == "user" and entry.before is not None:
        local = datetime.fromisoformat(entry.recorded_at.replace("Z", "+00:00")).astimezone(tz)
        if local.weekday() >= 5 or not (WORK_HOURS[0] <= local.time() < WORK_HOURS[1]):
            return "off_hours_edit"
    return None


def _admin_ids(session: Session) -> set[str]:
    rows = session.scalars(select(User.id).join(UserRole).where(UserRole.role == "admin"))
    return {str(i) for i in rows} | {f"user:{i}" for i in rows}


def risky_events(session: Session, start: datetime, end: datetime, *, tz: str = PLANT_TIMEZONE) -> tuple[list, int]:
    """Risky entries recorded in [start, end): ``([{seq, recorded_at, actor, action, object, category}], total)``."""
    zone, admins = ZoneInfo(tz), _admin_ids(session)
    rows = session.scalars(select(AuditEntry).where(AuditEntry.recorded_at >= iso(start),
                                                    AuditEntry.recorded_at < iso(end)).order_by(AuditEntry.seq))
    events, total = [], 0
    for entry in rows:
        category = categorise(entry, admins, zone)
        if category is None:
            continue
        total += 1
        if len(events) < MAX_EVENTS:
            events.append({"seq": entry.seq, "recorded_at": entry.recorded_at, "category": category,
                           "actor": entry.actor_name, "actor_kind": entry.actor_kind, "action": entry.action,
                           "object": f"{entry.object_type}:{entry.object_id}", "reason": entry.reason})
    return events, total


def schedule(session: Session, actor, *, period_start: datetime, period_end: datetime, period: str = "P1M",
             on_demand: bool = False) -> AuditReview:
    """Start an audit-review instance that waits (timer start) until ``period_end``."""
    if period_end <= period_start:
        raise ValidationFailed("the period ends before it starts", field="period_end")
    review = AuditReview(period_start=period_start, period_end=period_end, period=period, on_demand=on_demand)
    session.add(review)
    session.flush()
    label = f"AR-{period_start:%Y-%m-%d}-{period_end:%Y-%m-%d}"
    instance = start(session, actor, "audit_review",
                     {"audit_review_id": review.id, "period_start": period_start.isoformat(),
                      "period_end": period_end.isoformat()}, business_key=label)
    review.process_instance_id = instance.id
    session.flush()
    chain.append(session, actor, "audit_review.scheduled", "audit_review", review.id,
                 after={"period_start": iso(period_start), "period_end": iso(period_end), "on_demand": on_demand})
    return review


def ensure_periodic(session: Session, actor, *, period: str = "P1M", now: datetime | None = None) -> AuditReview:
    """The pending periodic review, scheduling one for the current period when there is none."""
    pending = session.scalar(select(AuditReview).where(AuditReview.on_demand.is_(False),
                                                       AuditReview.status.in_(("scheduled", "assembled")))
                             .order_by(AuditReview.period_end))
    if pending is not None:
        return pending
    now = now or datetime.now(timezone.utc)
    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0) if period.endswith("M") else \
        now.replace(hour=0, minute=0, second=0, microsecond=0)
    return schedule(session, actor, period_start=start, period_end=add_period(start, period), period=period)


def assemble(session: Session, actor, *, instance_id: int | None, period_start: str, period_end: str) -> AuditReview:
    """Collect the risky events of the period and pin the chain head (seq, hash) they are covered by."""
    start, end = parse_instant(period_start, "period_start"), parse_instant(period_end, "period_end")
    review = session.scalar(select(AuditReview).where(AuditReview.process_instance_id == instance_id)) \
        if instance_id else None
    if review is None:
        review = AuditReview(period_start=start, period_end=end, process_instance_id=instance_id, on_demand=True)
        session.add(review)
    events, total = risky_events(session, start, end)
    head = chain.head(session)
    review.events, review.status = events, "assembled"
    review.head_seq, review.head_hash = (head or (0, None))
    review.assembled_at = datetime.now(timezone.utc)
    session.flush()
    chain.append(session, actor, "audit_review.assembled", "audit_review", review.id,
                 after={"events": total, "listed": len(events), "head_seq": review.head_seq,
                        "head_hash": review.head_hash})
    return review


def summary(review: AuditReview) -> dict:
    counts: dict[str, int] = {}
    for e in review.events or []:
        counts[e["category"]] = counts.get(e["category"], 0) + 1
    return {"id": review.id, "period_start": iso(review.period_start), "period_end": iso(review.period_end),
            "head_seq": review.head_seq, "head_hash": review.head_hash, "events": review.events or [],
            "counts": counts, "status": review.status}


def record(session: Session, actor, review: AuditReview, *, findings: list[dict], summary_text: str) -> dict:
    """Record the approved review; unexplained events raise one deviation; the next period is scheduled."""
    if review.status != "assembled":
        raise Conflict(f"audit review {review.id} is {review.status}", field="review")
    listed = {e["seq"] for e in review.events or []}
    given = {}
    for i, f in enumerate(findings):
        if f.get("seq") not in listed:
            raise ValidationFailed(f"entry #{f.get('seq')} is not in this review", field=f"event_findings[{i}].seq")
        given[f["seq"]] = f
    missing = sorted(listed - set(given))
    if missing:
        raise ValidationFailed(f"entries without a finding: {missing}", field="event_findings")
    unexplained = sorted(s for s, f in given.items() if not f.get("explained"))
    deviation_ids = []
    if unexplained:
        dev = open_deviation(session, actor, source="audit_review",
                             description=f"audit-trail review {iso(review.period_start)[:10]}–"
                                         f"{iso(review.period_end)[:10]}: unexplained entries "
                                         + ", ".join(f"#{s}" for s in unexplained),
                             details={"audit_review": review.id, "entries": unexplained})
        deviation_ids.append(dev.id)
    review.findings, review.summary, review.deviation_ids = findings, summary_text, deviation_ids
    review.status, review.recorded_by, review.recorded_at = "recorded", actor.name, datetime.now(timezone.utc)
    session.flush()
    chain.append(session, actor, "audit_review.recorded", "audit_review", review.id, reason=summary_text,
                 after={"covered_head_seq": review.head_seq, "covered_head_hash": review.head_hash,
                        "unexplained": unexplained, "deviations": deviation_ids})
    next_id = None
    if not review.on_demand:
        nxt = schedule(session, actor, period_start=review.period_end,
                       period_end=add_period(review.period_end, review.period), period=review.period)
        next_id = nxt.id
    return {"review": review.id, "deviations": deviation_ids, "next_review": next_id}


def add_period(start: datetime, period: str) -> datetime:
    """``start`` plus an ISO 8601 period of months or days (P1M, P3M, P7D)."""
    m = re.fullmatch(r"P(?:(\d+)M)?(?:(\d+)D)?", period or "")
    if not m or not any(m.groups()):
        raise ValidationFailed(f"period {period!r} is not PnM or PnD", field="period")
    months, days = int(m.group(1) or 0), int(m.group(2) or 0)
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1

    day = min(start.day, monthrange(year, month)[1])
    return start.replace(year=year, month=month, day=day) + timedelta(days=days)
