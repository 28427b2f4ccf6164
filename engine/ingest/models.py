"""Alarms, alarm rules, idempotency records and SPC baselines."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON, Boolean, CheckConstraint, Float, ForeignKey, Index, Integer, String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base, UTCDateTime

RULE_ACTIONS = ("ignore", "log", "deviation", "hold")
OUTCOMES = ("ignored", "logged", "deviation_opened", "attached", "lot_held")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class AlarmRule(Base):
    """What to do with an alarm: the first active rule (lowest priority number) that matches.

    ``None`` in ``code``/``line``/``equipment`` matches anything. Rules are edited in place
    with a version counter; every edit is an audit entry with before/after and a reason.
    """

    __tablename__ = "alarm_rules"
    __table_args__ = (
        CheckConstraint(_in("action", RULE_ACTIONS), name="action"),
        CheckConstraint("min_severity >= 1 AND max_severity <= 1000 AND min_severity <= max_severity",
                        name="severity_range"),
        CheckConstraint("attach_window_minutes >= 0", name="attach_window"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    priority: Mapped[int] = mapped_column(Integer, default=100)
    code: Mapped[str | None] = mapped_column(String(100))
    line: Mapped[str | None] = mapped_column(String(100))
    equipment: Mapped[str | None] = mapped_column(String(100))
    min_severity: Mapped[int] = mapped_column(Integer, default=1)
    max_severity: Mapped[int] = mapped_column(Integer, default=1000)
    action: Mapped[str] = mapped_column(String(20))
    attach_window_minutes: Mapped[int] = mapped_column(Integer, default=480)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_by: Mapped[str] = mapped_column(String(100))


class Alarm(Base):
    """One alarm event, stored once per ``(source, event_id)``."""

    __tablename__ = "alarms"
    __table_args__ = (
        UniqueConstraint("source", "event_id"),
        CheckConstraint(_in("outcome", OUTCOMES), name="outcome"),
        CheckConstraint("severity >= 1 AND severity <= 1000", name="severity"),
        Index("ix_alarms_source_code_received", "source", "code", "received_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(201))  # "<line>/<equipment>"
    event_id: Mapped[str] = mapped_column(String(255))
    line: Mapped[str] = mapped_column(String(100))
    equipment: Mapped[str] = mapped_column(String(100))
    code: Mapped[str] = mapped_column(String(100))
    severity: Mapped[int] = mapped_column(Integer)
    message: Mapped[str] = mapped_column(String(1000), default="")
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    lot_number: Mapped[str | None] = mapped_column(String(64), index=True)
    operation: Mapped[str | None] = mapped_column(String(64))
    parameter: Mapped[str | None] = mapped_column(String(100))
    value: Mapped[float | None] = mapped_column(Float)
    unit: Mapped[str | None] = mapped_column(String(32))
    payload_sha256: Mapped[str] = mapped_column(String(64))
    client_id: Mapped[str] = mapped_column(String(100))
    channel: Mapped[str] = mapped_column(String(10), default="http")
    rule_id: Mapped[int | None] = mapped_column(ForeignKey("alarm_rules.id"))
    rule_version: Mapped[int | None] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(20))
    deviation_id: Mapped[int | None] = mapped_column(Integer, index=True)


class IdempotencyRecord(Base):
    """A request seen with an ``Idempotency-Key`` (draft-ietf-httpapi-idempotency-key-header).

    Keys are scoped to the client; ``fingerprint`` is the SHA-256 of the canonical request
    body, so the same key with another payload is refused (422).
    """

    __tablename__ = "idempotency_records"
    __table_args__ = (UniqueConstraint("client_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[str] = mapped_column(String(100))
    key: Mapped[str] = mapped_column(String(255))
    endpoint: Mapped[str] = mapped_column(String(100))
    fingerprint: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    response_status: Mapped[int] = mapped_column(Integer)
    response_body: Mapped[dict] = mapped_column(JSON)


class SpcBaseline(Base):
    """Centre line and sigma of one parameter's series, established from a baseline period.

    The series is keyed by routing code, operation code and parameter name (``equipment`` '' =
    any); a new baseline supersedes the previous one, which stays for the record.
    """

    __tablename__ = "spc_baselines"
    __table_args__ = (
        CheckConstraint("sigma > 0", name="sigma_positive"),
        Index("ix_spc_baselines_series", "operation", "parameter", "equipment"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    routing: Mapped[str] = mapped_column(String(64), default="")
    operation: Mapped[str] = mapped_column(String(64))
    parameter: Mapped[str] = mapped_column(String(100))
    equipment: Mapped[str] = mapped_column(String(100), default="")
    mean: Mapped[float] = mapped_column(Float)
    sigma: Mapped[float] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(32))
    sample_size: Mapped[int] = mapped_column(Integer)
    rules: Mapped[str] = mapped_column(String(50), default="1 2 3 4")
    established_at: Mapped[datetime] = mapped_column(UTCDateTime)
    established_by: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(String(500))
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
