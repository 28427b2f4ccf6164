"""Delivery bookkeeping for the worker (flush only; the worker owns the transactions and sends
between them, so no database lock is held while a mail server or a webhook answers).

A pass *claims* due rows: it leases them (``next_attempt_at`` moves ``LEASE`` ahead, ``attempts``
+1) so a second worker skips them, and a worker that dies mid-send leaves rows that are retried
when the lease ends. After sending, :func:`record_sent` or :func:`record_failure` (backoff, then
``failed`` with the reason after ``MAX_ATTEMPTS``). A row about a task that is no longer waiting
(done, cancelled) is suppressed. Preferences apply at claim time: "escalations
only" suppresses the rest; "digest" holds rows until the user's next digest hour, then one email
carries them all. A row is sent once: only ``pending`` rows are claimed, and a sent row stays sent
(a crash between the server's acceptance and the commit can repeat that one message).
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, select, update

from engine.db import is_postgres
from engine.notifications.messages import Item
from engine.notifications.models import ESCALATIONS, Notification, NotificationPreference, WebhookChannel
from engine.users.models import User
from engine.workflows.models import WorkflowTask

LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 8
ERROR_MAX = 1000


@dataclass
class Batch:
    """Rows that go out as one message: one row, or a user's digest."""

    channel: str
    ids: list[int]
    items: list[Item]
    locale: str
    email: str | None = None
    webhook: WebhookChannel | None = None
    attempts: int = 1
    digest: bool = False
    notes: list[str] = field(default_factory=list)


def backoff(attempts: int) -> timedelta:
    """Wait before the next try: 30 s, 1 min, 2 min … at most an hour."""
    return timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 3600))


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def last_digest_moment(now: datetime, hour: int, tz_name: str | None) -> datetime:
    """The latest ``hour``:00 in the user's time zone at or before ``now`` (aware, UTC)."""
    tz = _zone(tz_name)
    local = now.astimezone(tz)
    moment = datetime.combine(local.date(), time(hour), tzinfo=tz)
    if moment > local:
        moment = datetime.combine(local.date() - timedelta(days=1), time(hour), tzinfo=tz)
    return moment.astimezone(ZoneInfo("UTC"))


def next_digest_moment(now: datetime, hour: int, tz_name: str | None) -> datetime:
    """The next ``hour``:00 in the user's time zone after ``now``."""
    last = last_digest_moment(now, hour, tz_name).astimezone(_zone(tz_name))
    following = datetime.combine(last.date() + timedelta(days=1), time(hour), tzinfo=_zone(tz_name))
    return following.astimezone(ZoneInfo("UTC"))


def _due_rows(session, now: datetime, channels: tuple[str, ...], limit: int) -> list[Notification]:
    query = (select(Notification).where(Notification.status == "pending", Notification.next_attempt_at <= now,
                                        Notification.channel.in_(channels))
             .order_by(Notification.next_attempt_at, Notification.id).limit(limit))
    if is_postgres(session):  # several workers: each row is claimed by one of them
        query = query.with_for_update(skip_locked=True)
    return list(session.scalars(query))


def claim_due(session, now: datetime, public_url: str, *, channels: tuple[str, ...] = ("email", "webhook"),
              limit: int = 100) -> list[Batch]:
    """Lease the due rows of ``channels`` and group them into messages (see the module doc)."""
    rows = _due_rows(session, now, channels, limit)
    users = {u.id: u for u in session.scalars(select(User).where(User.id.in_({r.user_id for r in rows if r.user_id})))}
    prefs = {p.user_id: p for p in session.scalars(
        select(NotificationPreference).where(NotificationPreference.user_id.in_(set(users))))}
    open_tasks = set(session.scalars(select(WorkflowTask.id).where(
        WorkflowTask.id.in_({r.subject_id for r in rows if r.subject_type == "task"}), WorkflowTask.state == "ready")))
    batches: list[Batch] = []
    digests: dict[int, Batch] = {}
    for row in rows:
        item = Item(row.kind, row.title, public_url + row.link)
        if row.subject_type == "task" and row.subject_id not in open_tasks:
            _close(row, "suppressed", "the task is no longer waiting", now)
            continue
        if row.channel == "webhook":
            hook = session.get(WebhookChannel, row.webhook_id)
            if not hook.active:
                _close(row, "suppressed", "webhook switched off", now)
                continue
            batches.append(_lease(Batch("webhook", [row.id], [item], hook.locale, webhook=hook), row, now))
            continue
        user = users[row.user_id]
        if not user.active or not user.email:
            _close(row, "failed", "user is disabled" if not user.active else "user has no email address", now)
            continue
        pref = prefs.get(user.id)
        mode = pref.mode if pref else "immediate"
        if mode == "escalations" and row.kind not in ESCALATIONS:
            _close(row, "suppressed", "the user receives escalations only", now)
            continue
        if mode == "digest" and row.kind not in ESCALATIONS:
            moment = last_digest_moment(now, pref.digest_hour, user.timezone)
            if row.created_at > moment:  # waits for the next digest
                row.next_attempt_at = next_digest_moment(now, pref.digest_hour, user.timezone)
                continue
            batch = digests.get(user.id) or Batch("email", [], [], user.locale, email=user.email, digest=True)
            digests[user.id] = batch
            batch.ids.append(row.id)
            batch.items.append(item)
            _lease(batch, row, now)
            continue
        batches.append(_lease(Batch("email", [row.id], [item], user.locale, email=user.email), row, now))
    session.flush()
    return batches + list(digests.values())


def _lease(batch: Batch, row: Notification, now: datetime) -> Batch:
    row.attempts += 1
    row.next_attempt_at = now + LEASE
    batch.attempts = max(batch.attempts, row.attempts)
    return batch


def _close(row: Notification, status: str, reason: str | None, now: datetime) -> None:
    row.status, row.last_error = status, reason
    if status == "sent":
        row.sent_at = now


def record_sent(session, ids: list[int], message_id: str | None, now: datetime) -> None:
    """The message carrying ``ids`` was accepted by the server."""
    session.execute(update(Notification).where(Notification.id.in_(ids), Notification.status == "pending")
                    .values(status="sent", sent_at=now, message_id=(message_id or "")[:200] or None,
                            last_error=None))


def record_failure(session, ids: list[int], error: str, now: datetime) -> str:
    """Sending failed: retry after a backoff, or give up after ``MAX_ATTEMPTS`` (returns the status)."""
    status = "pending"
    for row in session.scalars(select(Notification).where(Notification.id.in_(ids),
                                                          Notification.status == "pending")):
        row.last_error = error[:ERROR_MAX]
        if row.attempts >= MAX_ATTEMPTS:
            row.status = status = "failed"
        else:
            row.next_attempt_at = now + backoff(row.attempts)
    session.flush()
    return status


def outbox_counts(session) -> dict[str, dict[str, int]]:
    """channel → status → number of rows."""
    counts: dict[str, dict[str, int]] = defaultdict(dict)
    for channel, status, n in session.execute(select(Notification.channel, Notification.status, func.count())
                                              .group_by(Notification.channel, Notification.status)):
        counts[channel][status] = n
    return dict(counts)
