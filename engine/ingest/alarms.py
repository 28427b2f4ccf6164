"""Alarm ingestion: store each event once, apply the alarm rules, escalate, audit.

Exactly once: ``INSERT … ON CONFLICT (source, event_id) DO NOTHING`` in the transaction that
also escalates, so a re-sent event (OPC UA ConditionRefresh, MQTT QoS 1 redelivery, an HTTP
retry) finds the stored row and is answered as a duplicate; on PostgreSQL a concurrent insert
of the same event waits on the unique index and then sees the committed row.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import bindparam, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from audit import Actor
from engine.db import is_postgres
from engine.errors import BadRequest, NotFound, PayloadMismatch
from engine.ingest import escalation, rules
from engine.ingest.audit_entries import record
from engine.ingest.fingerprint import fingerprint
from engine.ingest.models import Alarm
from engine.ingest.schemas import AlarmIn

ACTION_OUTCOME = {"ignore": "ignored", "log": "logged"}


@dataclass(frozen=True)
class IngestResult:
    """What happened to one alarm: ``created`` is False for a duplicate of a stored event."""

    alarm: Alarm
    created: bool

    def as_dict(self) -> dict:
        a = self.alarm
        return {
            "alarm_id": a.id, "status": "created" if self.created else "duplicate",
            "source": a.source, "event_id": a.event_id, "code": a.code, "severity": a.severity,
            "outcome": a.outcome, "deviation_id": a.deviation_id, "rule_id": a.rule_id,
            "lot": a.lot_number, "received_at": a.received_at.isoformat(),
        }


def ingest_alarm(session: Session, actor: Actor, alarm: AlarmIn, *, event_id: str | None = None,
                 client_id: str | None = None, channel: str = "http",
                 default_action: str = rules.DEFAULT_ACTION, default_window_minutes: int = 0) -> IngestResult:
    """Store ``alarm`` once per (source, event id) and act on it as the alarm rules say
    (``default_action`` and ``default_window_minutes`` when none matches)."""
    event_id = alarm.event_id or event_id
    if not event_id:
        raise BadRequest("an alarm needs an Idempotency-Key header or an event_id", field="Idempotency-Key")
    payload = alarm.model_copy(update={"event_id": event_id}).canonical()
    digest = fingerprint(payload)
    source = f"{alarm.source.line}/{alarm.source.equipment}"
    rule = rules.match(rules.list_rules(session), code=alarm.code, line=alarm.source.line,
                       equipment=alarm.source.equipment, severity=alarm.severity)
    action = rule.action if rule else default_action
    values = dict(
        source=source, event_id=event_id, line=alarm.source.line, equipment=alarm.source.equipment,
        code=alarm.code, severity=alarm.severity, message=alarm.message, occurred_at=alarm.occurred_at,
        received_at=datetime.now(UTC), lot_number=alarm.lot, operation=alarm.operation,
        parameter=alarm.parameter, value=alarm.value, unit=alarm.unit, payload_sha256=digest,
        client_id=client_id or actor.id, channel=channel, rule_id=rule.id if rule else None,
        rule_version=rule.version if rule else None,
        outcome=ACTION_OUTCOME.get(action, "deviation_opened"),
    )
    stored = _insert_once(session, values)
    if stored is None:
        existing = session.scalars(select(Alarm).where(Alarm.source == source, Alarm.event_id == event_id)).one()
        if existing.payload_sha256 != digest:
            raise PayloadMismatch(f"event {event_id!r} from {source} was already received with a different "
                                  "payload", field="event_id")
        return IngestResult(existing, created=False)
    if action in ("deviation", "hold"):
        outcome = escalation.escalate(session, actor, escalation.Signal(
            source=source, code=alarm.code, lot_number=alarm.lot, operation=alarm.operation,
            parameter=alarm.parameter, value=alarm.value, unit=alarm.unit, severity=alarm.severity,
            description=_describe(alarm, source)), hold=action == "hold",
            window_minutes=rule.attach_window_minutes if rule else default_window_minutes,
            exclude_alarm_id=stored.id)
        stored.outcome, stored.deviation_id = outcome.outcome, outcome.deviation_id
        session.flush()
    record(session, actor, "alarm.received", "alarm", stored.id,
           after=payload | {"outcome": stored.outcome, "deviation_id": stored.deviation_id,
                            "rule_id": stored.rule_id, "rule_version": stored.rule_version,
                            "channel": channel})
    return IngestResult(stored, created=True)


def _insert_once(session: Session, values: dict) -> Alarm | None:
    """INSERT … ON CONFLICT (source, event_id) DO NOTHING RETURNING the row; None when it existed."""
    key = (is_postgres(session), tuple(sorted(values)))
    stmt = _INSERT_ONCE.get(key)
    if stmt is None:  # one statement per dialect and set of columns, with a bind parameter each
        stmt = _INSERT_ONCE[key] = _insert_once_statement(postgresql.insert if key[0] else sqlite.insert, key[1])
    return session.scalars(stmt, values).one_or_none()


def _insert_once_statement(dialect_insert, columns: tuple[str, ...]):
    # Built once with bind parameters (compiled once and cached by SQLAlchemy), not once per
    # alarm with the values inlined.
    table = Alarm.__table__
    return (dialect_insert(Alarm).values({name: bindparam(name, type_=table.c[name].type) for name in columns})
            .on_conflict_do_nothing(index_elements=["source", "event_id"]).returning(Alarm))


_INSERT_ONCE: dict = {}


def _describe(alarm: AlarmIn, source: str) -> str:
    text = f"Alarm {alarm.code} (severity {alarm.severity}) from {source} at {alarm.occurred_at.isoformat()}"
    if alarm.parameter is not None:
        text += f"; {alarm.parameter} = {alarm.value} {alarm.unit or ''}".rstrip()
    if alarm.message:
        text += f": {alarm.message}"
    return text


def get_alarm(session: Session, alarm_id: int) -> Alarm:
    """The alarm ``alarm_id``; raises NotFound."""
    alarm = session.get(Alarm, alarm_id)
    if alarm is None:
        raise NotFound(f"no alarm {alarm_id}", field="alarm_id")
    return alarm
