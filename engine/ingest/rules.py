"""Alarm rules: which action an alarm triggers. Editable by QA; every change is audited."""
from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError, model_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from audit import Actor
from engine.errors import Conflict, NotFound, ValidationFailed
from engine.ingest.models import RULE_ACTIONS, AlarmRule
from engine.jsonsafe import JsonInt
from engine.ingest.audit_entries import record

DEFAULT_ACTION = "log"  # an alarm no rule matches is stored and audited, nothing more
RULE_FIELDS = ("name", "priority", "code", "line", "equipment", "min_severity", "max_severity",
               "action", "attach_window_minutes", "active")


class AlarmRuleIn(BaseModel):
    """A rule as QA writes it."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    action: str = Field(pattern="^(" + "|".join(RULE_ACTIONS) + ")$",
                        description="ignore | log | deviation | hold (deviation and lot on hold)")
    priority: JsonInt = Field(100, ge=0, le=100000, description="Lower numbers are tried first.")
    code: str | None = Field(None, min_length=1, max_length=100, description="Alarm code; empty = any.")
    line: str | None = Field(None, min_length=1, max_length=100)
    equipment: str | None = Field(None, min_length=1, max_length=100)
    min_severity: JsonInt = Field(1, ge=1, le=1000)
    max_severity: JsonInt = Field(1000, ge=1, le=1000)
    attach_window_minutes: JsonInt = Field(480, ge=0, le=525600, description=(
        "An alarm with the same source and code within this window attaches to the deviation "
        "still open for it instead of opening another."))
    active: StrictBool = True

    @model_validator(mode="after")
    def _range(self):
        if self.min_severity > self.max_severity:
            raise ValueError("min_severity must not exceed max_severity")
        return self


def _validated(data: dict) -> AlarmRuleIn:
    try:
        return AlarmRuleIn.model_validate(data)
    except ValidationError as exc:
        details = [{"field": ".".join(str(p) for p in e["loc"]) or "rule", "message": e["msg"]}
                   for e in exc.errors(include_url=False, include_input=False)]
        raise ValidationFailed("invalid alarm rule: " + "; ".join(
            f"{d['field']}: {d['message']}" for d in details), details=details) from exc


def _snapshot(rule: AlarmRule) -> dict:
    return {name: getattr(rule, name) for name in RULE_FIELDS} | {"version": rule.version}


def list_rules(session: Session) -> list[AlarmRule]:
    """Every rule in evaluation order."""
    return list(session.scalars(select(AlarmRule).order_by(AlarmRule.priority, AlarmRule.id)))


def get_rule(session: Session, rule_id: int) -> AlarmRule:
    """The rule ``rule_id``; raises NotFound."""
    rule = session.get(AlarmRule, rule_id)
    if rule is None:
        raise NotFound(f"no alarm rule {rule_id}", field="rule_id")
    return rule


def create_rule(session: Session, actor: Actor, data: dict, *, reason: str) -> AlarmRule:
    """Add a rule (audited)."""
    _need_reason(reason)
    spec = _validated(data)
    if session.scalars(select(AlarmRule.id).where(AlarmRule.name == spec.name)).first() is not None:
        raise ValidationFailed(f"an alarm rule named {spec.name!r} exists", field="name")
    rule = AlarmRule(**spec.model_dump(), version=1, updated_at=datetime.now(UTC), updated_by=actor.id)
    session.add(rule)
    session.flush()
    record(session, actor, "alarm_rule.created", "alarm_rule", rule.id, after=_snapshot(rule),
           reason=reason)
    return rule


def update_rule(session: Session, actor: Actor, rule_id: int, changes: dict, *, reason: str,
                expected_version: int | None = None) -> AlarmRule:
    """Change a rule (audited with before and after); ``expected_version`` guards lost updates."""
    _need_reason(reason)
    rule = session.scalars(select(AlarmRule).where(AlarmRule.id == rule_id).with_for_update()).one_or_none()
    if rule is None:
        raise NotFound(f"no alarm rule {rule_id}", field="rule_id")
    if expected_version is not None and expected_version != rule.version:
        raise Conflict(f"alarm rule {rule_id} is at version {rule.version}, not {expected_version}")
    before = _snapshot(rule)
    spec = _validated({k: v for k, v in before.items() if k != "version"} | changes)
    if spec.name != rule.name and session.scalars(
            select(AlarmRule.id).where(AlarmRule.name == spec.name)).first() is not None:
        raise ValidationFailed(f"an alarm rule named {spec.name!r} exists", field="name")
    for name, value in spec.model_dump().items():
        setattr(rule, name, value)
    rule.version += 1
    rule.updated_at = datetime.now(UTC)
    rule.updated_by = actor.id
    session.flush()
    record(session, actor, "alarm_rule.updated", "alarm_rule", rule.id, before=before,
           after=_snapshot(rule), reason=reason)
    return rule


def match(rules: list[AlarmRule], *, code: str, line: str, equipment: str, severity: int) -> AlarmRule | None:
    """The first active rule (by priority) that matches the alarm."""
    for rule in rules:
        if (rule.active and rule.min_severity <= severity <= rule.max_severity
                and rule.code in (None, code) and rule.line in (None, line)
                and rule.equipment in (None, equipment)):
            return rule
    return None


def _need_reason(reason: str) -> None:
    if not (reason or "").strip():
        raise ValidationFailed("give a reason for the change", field="reason")
