"""The notification outbox, per-user preferences and chat webhooks.

An outbox row is written in the same transaction as the event that causes it (a task became
ready, a signing lock…), so work that rolls back leaves nothing to send, and a mail server that is
down loses nothing: the row waits. ``dedupe_key`` is unique: one row per event, recipient and
channel, however often the event is seen. A row carries no regulated record data, only the
task's (or record's) title and a link.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base, UTCDateTime, utcnow

KINDS = ("task_ready", "task_due_soon", "task_overdue", "signing_locked", "deviation_opened", "test")
#: Kinds a user who chose "escalations only" still receives.
ESCALATIONS = frozenset({"task_overdue", "signing_locked", "test"})
CHANNELS = ("email", "webhook")
STATUSES = ("pending", "sent", "failed", "suppressed")
MODES = ("immediate", "digest", "escalations")
WEBHOOK_KINDS = ("wecom", "dingtalk", "teams", "slack")


def _in(values) -> str:
    return ", ".join(f"'{v}'" for v in values)


class Notification(Base):
    """One message to one recipient on one channel, waiting, sent, failed or suppressed."""

    __tablename__ = "notification_outbox"
    __table_args__ = (
        CheckConstraint(f"kind IN ({_in(KINDS)})", name="kind"),
        CheckConstraint(f"channel IN ({_in(CHANNELS)})", name="channel"),
        CheckConstraint(f"status IN ({_in(STATUSES)})", name="status"),
        CheckConstraint("(channel = 'email') = (user_id IS NOT NULL AND webhook_id IS NULL)", name="recipient"),
        Index("ix_notification_outbox_status_next", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    channel: Mapped[str] = mapped_column(String(10))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    webhook_id: Mapped[int | None] = mapped_column(ForeignKey("notification_webhooks.id"))
    subject_type: Mapped[str] = mapped_column(String(20))
    subject_id: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(300))
    link: Mapped[str] = mapped_column(String(300))  # a path of the app, e.g. /tasks/<id>
    status: Mapped[str] = mapped_column(String(10), default="pending")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    message_id: Mapped[str | None] = mapped_column(String(200))  # the email (or digest) that carried it

    def __repr__(self) -> str:
        return f"<Notification {self.id} {self.kind} {self.channel} {self.status}>"


class NotificationPreference(Base):
    """How a user wants to hear: at once, in a daily digest at ``digest_hour`` (their time
    zone), or only escalations. Without a row: immediate."""

    __tablename__ = "notification_preferences"
    __table_args__ = (
        CheckConstraint(f"mode IN ({_in(MODES)})", name="mode"),
        CheckConstraint("digest_hour >= 0 AND digest_hour <= 23", name="digest_hour"),
    )

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    mode: Mapped[str] = mapped_column(String(12), default="immediate")
    digest_hour: Mapped[int] = mapped_column(Integer, default=8)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WebhookChannel(Base):
    """A chat webhook (WeCom, DingTalk, Teams, Slack) told about the tasks of a role's lane, or
    about deviations opened on a work centre (exactly one of the two)."""

    __tablename__ = "notification_webhooks"
    __table_args__ = (CheckConstraint(f"kind IN ({_in(WEBHOOK_KINDS)})", name="kind"),
                      CheckConstraint("(role IS NULL) <> (work_centre IS NULL)", name="scope"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(10))
    url: Mapped[str] = mapped_column(String(1000))
    secret: Mapped[str | None] = mapped_column(String(200))  # DingTalk's signing secret, when set
    role: Mapped[str | None] = mapped_column(String(32), index=True)
    work_centre: Mapped[str | None] = mapped_column(String(64), index=True)
    locale: Mapped[str] = mapped_column(String(8), default="zh_CN")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
