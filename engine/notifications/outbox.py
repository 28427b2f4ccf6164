"""Write notifications in the caller's transaction (flush only): the one place events become
outbox rows.

Recipients are resolved when the event happens: the task's assignee, or else every active holder
of its lane's role (the same people ``engine.workflows.visibility`` shows the task to), plus the
active webhooks of that role. An overdue task escalates to the lane role's manager
(:data:`ESCALATE_TO`). Rows are inserted with ``ON CONFLICT DO NOTHING`` on ``dedupe_key`` so an
event seen twice (a rescan, two workers) never makes a second row and never fails the event's
transaction.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Integer, String, bindparam, cast, literal, null, select, union_all
from sqlalchemy.dialects import postgresql, sqlite

from engine.db import is_postgres, utcnow
from engine.notifications.models import Notification, WebhookChannel
from engine.users.models import User, UserRole

#: Whom an overdue task of a lane escalates to (the role's manager).
ESCALATE_TO = {
    "operator": "production_manager",
    "process_engineer": "production_manager",
    "production_manager": "production_manager",
    "qa_engineer": "qa_manager",
    "qa_manager": "qa_manager",
    "regulatory": "qa_manager",
    "auditor": "qa_manager",
    "admin": "admin",
}
TITLE_MAX = 300


@dataclass(frozen=True)
class Subject:
    """What a notification is about: only a title and a link leave the database."""

    type: str
    id: str
    title: str
    link: str


def task_subject(task) -> Subject:
    """The subject of a workflow task row (its title and its page)."""
    return Subject("task", str(task.id), (task.title or "")[:TITLE_MAX], f"/tasks/{task.id}")


def _members(role):
    """The active users holding ``role`` (a value or a bound parameter)."""
    return (select(User.id).join(UserRole, UserRole.user_id == User.id)
            .where(UserRole.role == role, User.active.is_(True)))


def _webhooks(role):
    """The active webhooks of ``role`` (a value or a bound parameter)."""
    return select(WebhookChannel.id).where(WebhookChannel.role == role, WebhookChannel.active.is_(True))


def enqueue(session, kind: str, subject: Subject, *, users: Iterable[int] = (), webhooks: Iterable[int] = (),
            now: datetime | None = None) -> int:
    """Add one row per user (email) and per webhook; existing ones are kept. Returns rows added."""
    now = now or utcnow()
    base = dict(kind=kind, subject_type=subject.type, subject_id=subject.id, title=subject.title,
                link=subject.link, status="pending", created_at=now, next_attempt_at=now, attempts=0)
    rows = [dict(base, channel="email", user_id=uid, webhook_id=None,
                 dedupe_key=f"{kind}:{subject.type}:{subject.id}:email:{uid}") for uid in dict.fromkeys(users)]
    rows += [dict(base, channel="webhook", user_id=None, webhook_id=wid,
                  dedupe_key=f"{kind}:{subject.type}:{subject.id}:webhook:{wid}") for wid in dict.fromkeys(webhooks)]
    if not rows:
        return 0
    dialect_insert = postgresql.insert if is_postgres(session) else sqlite.insert
    inserted = session.scalars(dialect_insert(Notification).values(rows)
                               .on_conflict_do_nothing(index_elements=["dedupe_key"])
                               .returning(Notification.id)).all()
    return len(inserted)


def _announcement(insert_, to_assignee: bool):
    """INSERT … SELECT of one outbox row per recipient of a task event: the assignee (any user
    row, as given) or else the active members of the role, then the role's active webhooks; the
    same rows, keys and order :func:`enqueue` writes for them, in one statement."""
    prefix, now = bindparam("prefix", type_=String), bindparam("now", type_=Notification.created_at.type)
    role = bindparam("role", type_=String)
    people = (select(User.id).where(User.id == bindparam("assignee", type_=Integer)) if to_assignee
              else _members(role)).subquery()
    hooks = _webhooks(role).subquery()

    def rows(channel: str, key, user_id, webhook_id):
        return [(prefix + f"{channel}:" + cast(key, String)).label("dedupe_key"), bindparam("kind", type_=String),
                literal(channel, String).label("channel"), user_id, webhook_id,
                bindparam("subject_type", type_=String), bindparam("subject_id", type_=String),
                bindparam("title", type_=String), bindparam("link", type_=String),
                literal("pending", String).label("status"), now.label("created_at"), now.label("next_attempt_at"),
                literal(0, Integer).label("attempts")]

    # (the ORDER BY also keeps SQLite from reading ON CONFLICT as a join's ON)
    recipients = union_all(
        select(*rows("email", people.c.id, people.c.id.label("user_id"), cast(null(), Integer).label("webhook_id"))),
        select(*rows("webhook", hooks.c.id, cast(null(), Integer).label("user_id"), hooks.c.id.label("webhook_id"))),
    ).order_by("channel", "user_id", "webhook_id")
    columns = ["dedupe_key", "kind", "channel", "user_id", "webhook_id", "subject_type", "subject_id", "title",
               "link", "status", "created_at", "next_attempt_at", "attempts"]
    table = Notification.__table__  # Core: the rows are not wanted back as objects
    return (insert_(table).from_select(columns, recipients)
            .on_conflict_do_nothing(index_elements=["dedupe_key"]).returning(table.c.id))


_ANNOUNCEMENTS = {(dialect, to_assignee): _announcement(insert_, to_assignee)
                  for dialect, insert_ in (("postgresql", postgresql.insert), ("sqlite", sqlite.insert))
                  for to_assignee in (True, False)}


def announce(session, kind: str, subject: Subject, *, role: str | None, assignee_id: int | None = None,
             now: datetime | None = None) -> int:
    """Tell the assignee (or else the active members of ``role``) and ``role``'s active webhooks
    about ``subject``, resolving the recipients inside the INSERT (one statement); returns rows added."""
    if not role and assignee_id is None:
        return 0
    statement = _ANNOUNCEMENTS[(session.get_bind().dialect.name, assignee_id is not None)]
    return len(session.execute(statement, {
        "prefix": f"{kind}:{subject.type}:{subject.id}:", "kind": kind, "role": role, "assignee": assignee_id,
        "subject_type": subject.type, "subject_id": subject.id, "title": subject.title, "link": subject.link,
        "now": now or utcnow()}).all())


def tasks_ready(session, tasks: Iterable, now: datetime | None = None) -> int:
    """The tasks became ready: tell their assignee or lane's role members, and its webhooks."""
    return sum(announce(session, "task_ready", task_subject(task), role=task.lane, assignee_id=task.assignee_id,
                        now=now) for task in tasks)


def signing_locked(session, user_id: int, now: datetime | None = None) -> int:
    """The user's signing was locked after failed attempts: tell them (their account page)."""
    if session.get(User, user_id) is None:  # a signing account without a user row (never in the app)
        return 0
    subject = Subject("user", str(user_id), "", "/account")
    return enqueue(session, "signing_locked", subject, users=[user_id], now=now)


def work_centre_webhooks(session, work_centre: str) -> list[int]:
    """Ids of the active webhooks of ``work_centre``."""
    return list(session.scalars(select(WebhookChannel.id).where(WebhookChannel.work_centre == work_centre,
                                                                 WebhookChannel.active.is_(True))
                                .order_by(WebhookChannel.id)))


def deviation_opened(session, number: str, work_centre: str | None, instance_id: int,
                     now: datetime | None = None) -> int:
    """A deviation was opened on ``work_centre``: tell its webhooks (the number and the process
    page; the description stays in Sealtrail)."""
    if not work_centre:
        return 0
    subject = Subject("deviation", number, f"{number} · {work_centre}"[:TITLE_MAX], f"/processes/{instance_id}")
    return enqueue(session, "deviation_opened", subject, webhooks=work_centre_webhooks(session, work_centre), now=now)
