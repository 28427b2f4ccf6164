"""CAPA: open from a source, analyse, plan actions with owners and due dates, implement, close."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from audit import chain
from engine.errors import Conflict, NotFound, ValidationFailed
from engine.processes.models import Capa, CapaAction, Deviation
from engine.processes.models.capa_model import ACTION_KINDS, CAPA_SOURCES
from engine.processes.models.common import next_number
from engine.users.models import User


def get_capa(session: Session, ident: int | str) -> Capa:
    """The CAPA by id or number; NotFound otherwise."""
    column = Capa.id if isinstance(ident, int) else Capa.number
    capa = session.scalar(select(Capa).where(column == ident))
    if capa is None:
        raise NotFound(f"CAPA {ident} does not exist", field="capa")
    return capa


def open_capa(session: Session, actor, *, source: dict, problem: str, effectiveness_days: int = 30,
              instance_id: int | None = None) -> Capa:
    """Open a CAPA record from its source (a deviation, complaint, audit finding, trend…)."""
    kind = (source or {}).get("type")
    if kind not in CAPA_SOURCES:
        raise ValidationFailed(f"source type must be one of {', '.join(CAPA_SOURCES)}", field="capa_source.type")
    if not 1 <= effectiveness_days <= 730:
        raise ValidationFailed("effectiveness check must come 1–730 days after implementation",
                               field="capa_effectiveness_days")
    reference = (source.get("reference") or "").strip()
    deviation = None
    if kind == "deviation":
        deviation = session.scalar(select(Deviation).where(Deviation.number == reference))
        if deviation is None:
            raise ValidationFailed(f"deviation {reference!r} does not exist", field="capa_source.reference")
    capa = Capa(number=next_number(session, Capa, "CAPA"), process_instance_id=instance_id, source_type=kind,
                source_reference=reference, deviation_id=deviation.id if deviation else None,
                problem_statement=problem.strip(), effectiveness_days=effectiveness_days, opened_by=actor.name)
    session.add(capa)
    session.flush()
    chain.append(session, actor, "capa.opened", "capa", capa.number,
                 after={"source": kind, "reference": reference, "problem": capa.problem_statement,
                        "effectiveness_days": effectiveness_days})
    return capa


def plan(capa: Capa) -> dict:
    """The plan as the workflow needs it: actions, due instant and the effectiveness waiting period."""
    due_at = datetime.combine(capa.due_on + timedelta(days=1), time(0, 0), tzinfo=timezone.utc) if capa.due_on else None
    return {"capa": capa.number, "root_cause": capa.root_cause, "five_whys": capa.five_whys,
            "actions": [{"number": a.position, "kind": a.kind, "description": a.description, "owner": a.owner_name,
                         "due_date": a.due_on.isoformat(), "completed": a.completed_at is not None}
                        for a in capa.current_actions()],
            "due_on": capa.due_on.isoformat() if capa.due_on else None,
            "due_at": due_at.isoformat() if due_at else None,
            "effectiveness_period": f"P{capa.effectiveness_days}D"}


def _owner(session: Session, username: str, field: str) -> User:
    user = session.scalar(select(User).where(User.username == (username or "").strip()))
    if user is None or not user.active:
        raise ValidationFailed(f"owner {username!r} is not an active user", field=field)
    return user


def _day(value: str, field: str) -> date:
    try:
        day = date.fromisoformat(value)
    except (TypeError, ValueError):
        raise ValidationFailed(f"{value!r} is not a date (YYYY-MM-DD)", field=field) from None
    if day < datetime.now(timezone.utc).date():
        raise ValidationFailed("the due date lies in the past", field=field)
    return day


def record_plan(session: Session, actor, capa: Capa, *, five_whys: list, fishbone: dict, root_cause: str,
                actions: list[dict]) -> dict:
    """Record root cause analysis and the action plan (a re-plan supersedes the previous actions)."""
    if capa.status == "closed":
        raise Conflict(f"{capa.number} is closed", field="capa")
    if not actions:
        raise ValidationFailed("plan at least one action", field="capa_actions")
    new = []
    for i, row in enumerate(actions):
        if row.get("kind") not in ACTION_KINDS:
            raise ValidationFailed("kind is corrective or preventive", field=f"capa_actions[{i}].kind")
        owner = _owner(session, row.get("owner"), f"capa_actions[{i}].owner")
        new.append(CapaAction(position=i + 1, kind=row["kind"], description=row.get("description", "").strip(),
                              owner_id=owner.id, due_on=_day(row.get("due_date"), f"capa_actions[{i}].due_date")))
    for old in capa.current_actions():
        old.superseded = True
    capa.actions.extend(new)
    capa.five_whys, capa.fishbone, capa.root_cause = five_whys, fishbone, root_cause
    capa.due_on, capa.status = max(a.due_on for a in new), "planned"
    session.flush()
    chain.append(session, actor, "capa.planned", "capa", capa.number,
                 after={"root_cause": root_cause, "actions": [
                     {"kind": a.kind, "description": a.description, "owner": a.owner_name,
                      "due": a.due_on.isoformat()} for a in new], "due_on": capa.due_on.isoformat()})
    return plan(capa)


def extend_due(session: Session, actor, capa: Capa, *, due_date: str, note: str) -> dict:
    """The QA manager's answer to an overdue CAPA: a new due date for the open actions."""
    day = _day(due_date, "capa_new_due_date")
    before = capa.due_on.isoformat() if capa.due_on else None
    for action in capa.current_actions():
        if action.completed_at is None and action.due_on < day:
            action.due_on = day
    capa.due_on, capa.escalations = day, capa.escalations + 1
    session.flush()
    chain.append(session, actor, "capa.due_extended", "capa", capa.number, reason=note,
                 before={"due_on": before}, after={"due_on": day.isoformat(), "escalation": capa.escalations})
    return plan(capa)


def record_implementation(session: Session, actor, capa: Capa, *, results: list[dict]) -> dict:
    """Every planned action reported completed with evidence; starts the effectiveness period."""
    current = {a.position: a for a in capa.current_actions()}
    reported = {}
    for i, row in enumerate(results):
        pos = row.get("action")
        if pos not in current:
            raise ValidationFailed(f"there is no action {pos}", field=f"capa_action_results[{i}].action")
        if not row.get("completed") or not (row.get("evidence") or "").strip():
            raise ValidationFailed("report the action completed with evidence",
                                   field=f"capa_action_results[{i}].evidence")
        reported[pos] = row["evidence"].strip()
    missing = sorted(set(current) - set(reported))
    if missing:
        raise ValidationFailed(f"actions {missing} are not reported", field="capa_action_results")
    now = datetime.now(timezone.utc)
    for pos, evidence in reported.items():
        current[pos].completed_at, current[pos].evidence = now, evidence
    capa.status, capa.implemented_at = "implemented", now
    session.flush()
    chain.append(session, actor, "capa.implemented", "capa", capa.number,
                 after={"actions": {str(k): v for k, v in reported.items()},
                        "effectiveness_check_after_days": capa.effectiveness_days})
    return {"implemented_at": now.isoformat(), "actions": plan(capa)["actions"],
            "effectiveness_check_on": (now + timedelta(days=capa.effectiveness_days)).date().isoformat()}


def reopen(session: Session, actor, capa: Capa, *, reason: str) -> dict:
    """Not effective (or not convincing): analyse again."""
    before = {"status": capa.status}
    capa.status, capa.reopened, capa.effective = "open", capa.reopened + 1, None
    session.flush()
    chain.append(session, actor, "capa.reopened", "capa", capa.number, reason=reason or "reopened",
                 before=before, after={"status": "open", "reopened": capa.reopened})
    return capa.summary()


def close(session: Session, actor, capa: Capa, *, effective: str, evidence: str) -> dict:
    """Close after an effectiveness check that found the actions effective."""
    if effective != "effective":
        raise Conflict("a CAPA whose actions were not effective is reopened, not closed", field="capa_effective")
    if capa.status != "implemented":
        raise Conflict(f"{capa.number} is {capa.status}: only an implemented CAPA is closed", field="capa")
    capa.status, capa.effective, capa.effectiveness_evidence = "closed", True, evidence
    capa.closed_at = datetime.now(timezone.utc)
    session.flush()
    chain.append(session, actor, "capa.closed", "capa", capa.number, before={"status": "implemented"},
                 after={"status": "closed", "effective": True}, reason=evidence)
    return capa.summary()
