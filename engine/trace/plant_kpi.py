"""The plant's KPIs (#17): plan achievement, release lead time, WIP and takt per work centre, training
pass rate and overdue training, audit-review findings and their closure, calibration on time, tooling
life consumed. Each is a ``kpi.Figure`` (value + the records behind it, for drill-down);
``plant_figures`` gathers them for ``kpi_report``.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.masterdata.models import Equipment, RoutingOperation, RoutingRevision, Tooling
from engine.planning.models import PlannedOperation, ProductionPlan
from engine.production.models import Lot, OperationExecution
from engine.trace import kpi
from engine.trace.dhr import processes_models
from engine.users.models import TrainingRecord, User
from engine.users.training import TRAINED_PURPOSES, document_revision_in_effect, is_trained

TRAINING_GRACE_DAYS = 30  # a new SOP revision gives its operators this long to be trained


def _in(value, start, end) -> bool:
    return value is not None and start <= value < end


def plan_achievement(planned: list[dict], as_of: dt.datetime) -> kpi.Figure:
    """Lots completed by their planned completion / lots whose planned completion has passed."""
    due = [p for p in planned if p["planned_end"] <= as_of]
    met = [p["id"] for p in due if p.get("completed_at") and p["completed_at"] <= p["planned_end"]]
    return kpi.ratio(met, [p["id"] for p in due])


def release_lead_time(lots: list[dict]) -> kpi.Figure:
    """Median days from completion to release."""
    return kpi.median_lead_time(lots, "completed_at", "released_at")


def wip_by_work_centre(lots: list[dict]) -> dict[str, kpi.Figure]:
    """Lots in process counted by the work centre of their next operation."""
    return kpi.count_by(lots, "work_centre")


def takt_by_work_centre(finished: list[dict], start: dt.datetime, end: dt.datetime) -> dict[str, kpi.Figure]:
    """Minutes of the period per operation finished at the work centre (period / completions)."""
    groups: dict[str, list] = defaultdict(list)
    for row in finished:
        groups[row["work_centre"] or "—"].append(row["id"])
    minutes = (end - start).total_seconds() / 60
    return {wc: kpi.Figure(minutes / len(ids), len(ids), None, "min", ids) for wc, ids in sorted(groups.items())}


def training_pass_rate(records: list[dict]) -> kpi.Figure:
    """Passed training records / all training records (assessments) in the period."""
    return kpi.ratio([r["id"] for r in records if r["result"] == "pass"], [r["id"] for r in records])


def findings_closure(findings: list[dict]) -> dict[str, kpi.Figure]:
    """Unexplained audit-trail entries found by reviews, and median days from the review to the
    closure of the deviation it raised."""
    closed = [f for f in findings if f.get("closed_at")]
    return {"findings": kpi.Figure(len(findings), len(findings), None, "", [f["id"] for f in findings]),
            "closure_days": kpi.median_lead_time(closed, "recorded_at", "closed_at")}


def calibration_on_time(events: list[dict], overdue: list[str]) -> kpi.Figure:
    """Calibrations done by their due date / (calibrations done + equipment overdue now)."""
    on_time = [e["id"] for e in events if e["due_on"] is None or e["performed_on"] <= e["due_on"]]
    return kpi.ratio(on_time, [e["id"] for e in events] + overdue)


def tooling_life(tools: list[dict]) -> dict[str, kpi.Figure]:
    """Share of its life in cycles each tool has used."""
    return {t["id"]: kpi.Figure(100.0 * t["used"] / t["life"], t["used"], t["life"], "%", [t["id"]])
            for t in tools if t["life"]}


# --------------------------------------------------------------------------------- gathering
def plant_figures(session: Session, start: dt.datetime, end: dt.datetime, as_of: dt.datetime) -> dict:
    """Every plant figure for ``[start, end)`` as JSON-able data."""
    findings = _findings(session, start, end)
    return {
        "plan_achievement": plan_achievement(_planned(session, start, end), as_of).as_dict(),
        "release_lead_time_days": release_lead_time(_released(session, start, end)).as_dict(),
        "wip_by_work_centre": {k: f.as_dict() for k, f in wip_by_work_centre(_wip(session)).items()},
        "takt_minutes_by_work_centre": {k: f.as_dict()
                                        for k, f in takt_by_work_centre(_finished(session, start, end), start,
                                                                        end).items()},
        "training_pass_rate": training_pass_rate(_training(session, start, end)).as_dict(),
        "overdue_training": _overdue_training(session, as_of).as_dict(),
        "audit_review_findings": None if findings is None else {k: f.as_dict()
                                                                for k, f in findings_closure(findings).items()},
        "calibration_on_time": calibration_on_time(*_calibrations(session, start, end, as_of)).as_dict(),
        "tooling_life_consumed": {k: f.as_dict() for k, f in tooling_life(_tools(session)).items()},
    }


def _planned(session: Session, start, end) -> list[dict]:
    """Lots in released (or since superseded) plans with their planned completion in the period;
    a lot planned again in a later version counts with its latest plan."""
    rows = session.execute(select(Lot.lot_number, Lot.completed_at, PlannedOperation.ends_at, ProductionPlan.version)
                           .join(PlannedOperation, PlannedOperation.lot_id == Lot.id)
                           .join(ProductionPlan, ProductionPlan.id == PlannedOperation.plan_id)
                           .where(ProductionPlan.state.in_(("released", "superseded")))).all()
    latest: dict[str, tuple] = {}
    for number, completed, ends, version in rows:
        held = latest.get(number)
        if held is None or version > held[2] or (version == held[2] and ends > held[1]):
            latest[number] = (completed, ends, version)
    return [{"id": n, "completed_at": c, "planned_end": e} for n, (c, e, _v) in sorted(latest.items())
            if _in(e, start, end)]


def _released(session: Session, start, end) -> list[dict]:
    rows = session.execute(select(Lot.lot_number, Lot.completed_at, Lot.dispositioned_at)
                           .where(Lot.source == "made", Lot.status == "released"))
    return [{"id": n, "completed_at": c, "released_at": d} for n, c, d in rows if _in(d, start, end)]


def _wip(session: Session) -> list[dict]:
    out = []
    for lot in session.scalars(select(Lot).where(Lot.status == "in_process").order_by(Lot.lot_number)):
        done = {ex.routing_operation_id for ex in lot.executions if ex.ended_at is not None}
        ops = lot.routing_revision.operations if lot.routing_revision else []
        nxt = next((op for op in ops if op.id not in done), None)
        out.append({"id": lot.lot_number, "work_centre": nxt.work_centre if nxt else "—"})
    return out


def _finished(session: Session, start, end) -> list[dict]:
    rows = session.execute(select(Lot.lot_number, RoutingOperation.sequence, RoutingOperation.code,
                                  RoutingOperation.work_centre)
                           .join(OperationExecution, OperationExecution.lot_id == Lot.id)
                           .join(RoutingOperation, RoutingOperation.id == OperationExecution.routing_operation_id)
                           .where(OperationExecution.ended_at >= start, OperationExecution.ended_at < end)
                           .order_by(OperationExecution.ended_at)).all()
    return [{"id": f"{number} {seq} {code}", "work_centre": wc} for number, seq, code, wc in rows]


def _training(session: Session, start, end) -> list[dict]:
    rows = session.scalars(select(TrainingRecord).where(TrainingRecord.trained_on >= start.date(),
                                                        TrainingRecord.trained_on < end.date()))
    return [{"id": f"{r.user.username}:{r.document_revision.master.code} rev {r.document_revision.label}",
             "result": r.result} for r in rows]


def _overdue_training(session: Session, as_of: dt.datetime) -> kpi.Figure:
    """(operator, SOP revision) pairs: operations in released routings follow the revision, it has been
    in effect over the grace period, and the operator has no passed training on it."""
    docs = {link.document for op in session.scalars(
        select(RoutingOperation).join(RoutingRevision).where(RoutingRevision.state == "released"))
        for link in op.document_links if link.purpose in TRAINED_PURPOSES}
    operators = [u for u in session.scalars(select(User).where(User.active.is_(True))) if "operator" in u.roles]
    missing, pairs = [], 0
    for doc in sorted(docs, key=lambda d: d.code):
        rev = document_revision_in_effect(session, doc.id, as_of)
        if rev is None:
            continue
        since = rev.effective_from or rev.released_at
        if since is None or (as_of - since).days <= TRAINING_GRACE_DAYS:
            continue
        for user in operators:
            pairs += 1
            if not is_trained(session, user, rev, as_of.date()):
                missing.append(f"{user.username}:{doc.code} rev {rev.label}")
    return kpi.Figure(len(missing), len(missing), pairs, "", missing)


def _findings(session: Session, start, end) -> list[dict] | None:
    pm = processes_models()
    if pm is None:
        return None
    out = []
    for review in session.scalars(select(pm.AuditReview).where(pm.AuditReview.status == "recorded")):
        if not _in(review.recorded_at, start, end):
            continue
        closed = None
        for dev_id in review.deviation_ids or []:
            dev = session.get(pm.Deviation, dev_id)
            closed = dev.closed_at if dev is not None else None
        for f in review.findings or []:
            if not f.get("explained"):
                out.append({"id": f"review {review.id} #{f.get('seq')}", "recorded_at": review.recorded_at,
                            "closed_at": closed})
    return out


def _calibrations(session: Session, start, end, as_of) -> tuple[list[dict], list[str]]:
    events = []
    for eq in session.scalars(select(Equipment).where(Equipment.calibration_required.is_(True))):
        cals = [log for log in eq.logs if log.kind == "calibration" and log.result == "pass"]
        for previous, log in zip([None, *cals], cals):
            if not _in(log.performed_at, start, end):
                continue
            due = None
            if previous is not None and eq.calibration_interval_days:
                due = previous.performed_at.date() + dt.timedelta(days=eq.calibration_interval_days)
            events.append({"id": f"{eq.code} {log.performed_at.date()}", "performed_on": log.performed_at.date(),
                           "due_on": due})
    overdue = [eq.code for eq in session.scalars(select(Equipment).where(Equipment.status != "obsolete"))
               if eq.calibration_overdue(as_of.date()) and _in(
                   dt.datetime.combine(eq.calibration_due_on, dt.time(), dt.timezone.utc), start, end)]
    return events, overdue


def _tools(session: Session) -> list[dict]:
    return [{"id": t.code, "used": t.cycles_used, "life": t.life_cycles}
            for t in session.scalars(select(Tooling).where(Tooling.status != "obsolete").order_by(Tooling.code))]
