"""From a process signal (alarm, out-of-spec value, SPC violation) to a deviation.

One path for all three: attach to the deviation still open for the same source and code when
the previous signal is within the rule's window; otherwise open a deviation through the
deviation process, and put the lot on hold when the rule says so. On PostgreSQL the decision
is serialised per (source, code) with a transaction-scoped advisory lock, so two signals
arriving together cannot both decide to open a deviation; SQLite serialises all writers.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from audit import Actor
from engine.db import is_postgres
from engine.ingest import deviation_seam
from engine.ingest.models import Alarm


@dataclass(frozen=True)
class Signal:
    """What went wrong, where."""

    source: str
    code: str
    description: str
    lot_number: str | None = None
    operation: str | None = None
    parameter: str | None = None
    value: float | None = None
    unit: str | None = None
    severity: int | None = None


@dataclass(frozen=True)
class Outcome:
    outcome: str  # deviation_opened | attached | lot_held
    deviation_id: int | None


def _lock(session: Session, *parts: str) -> None:
    if is_postgres(session):
        digest = hashlib.sha256("\x00".join(("sealtrail.escalation",) + parts).encode()).digest()
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"),
                        {"k": int.from_bytes(digest[:8], "big", signed=True)})


def open_deviation_for(session: Session, source: str, code: str, *, window_minutes: int,
                       exclude_alarm_id: int | None = None) -> int | None:
    """The deviation still open for (source, code) whose last signal is within the window."""
    if window_minutes <= 0:
        return None
    since = datetime.now(UTC) - timedelta(minutes=window_minutes)
    query = (select(Alarm.deviation_id).where(
        Alarm.source == source, Alarm.code == code, Alarm.deviation_id.is_not(None),
        Alarm.received_at >= since).order_by(Alarm.received_at.desc(), Alarm.id.desc()).limit(5))
    if exclude_alarm_id is not None:
        query = query.where(Alarm.id != exclude_alarm_id)
    for deviation_id in session.scalars(query):
        if deviation_seam.is_open(session, deviation_id):
            return deviation_id
    return None


def escalate(session: Session, actor: Actor, signal: Signal, *, hold: bool, window_minutes: int,
             exclude_alarm_id: int | None = None) -> Outcome:
    """Attach to the open deviation for this source and code, or open one (and hold the lot)."""
    _lock(session, signal.source, signal.code)
    existing = open_deviation_for(session, signal.source, signal.code, window_minutes=window_minutes,
                                  exclude_alarm_id=exclude_alarm_id)
    if existing is not None:
        deviation_seam.attach(session, actor, existing, signal)
        return Outcome("attached", existing)
    # Deviation numbers are "max + 1" (a race fails the insert): signals from different sources
    # opening deviations at the same moment take turns here instead of failing.
    _lock(session, "open-deviation")
    deviation_id = deviation_seam.open(session, actor, signal)
    if hold and signal.lot_number:
        deviation_seam.hold_lot(session, actor, signal.lot_number, deviation_id, signal)
        return Outcome("lot_held", deviation_id)
    return Outcome("deviation_opened", deviation_id)

