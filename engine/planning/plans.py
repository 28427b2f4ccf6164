"""Production plans as versioned records: computed (draft), released by a signature, superseded.

``create_plan`` reads the problem, solves it and stores the result as the next version with the
solver's figures and the SHA-256 of what it was computed from; a plan is never edited afterwards
(re-planning — after a deviation holds a lot, a calibration lapses — makes a new version).
``release_plan`` makes one version the plan in force and supersedes the one before; the caller
signs it (``plan_record`` is the signed content).
"""
from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from audit import Actor, chain
from engine.db import utcnow
from engine.errors import Conflict, NotFound, ValidationFailed
from engine.masterdata.models import Equipment
from engine.masterdata.revisions import user_id_of
from engine.planning.models import PlanBlocker, PlannedOperation, ProductionPlan
from engine.planning.problem import MAX_HORIZON_DAYS, Problem, build_problem
from engine.planning.solver import Solution, solve
from engine.production.interlocks import Blocker
from engine.production.models import Lot
from engine.users.models import User

MAX_TIME_LIMIT = 120.0


def compute(session: Session, *, start_day: date, days: int, timezone: str = "UTC", time_limit: float = 20.0,
            workers: int = 2) -> tuple[Problem, Solution]:
    """The planning problem and its schedule (nothing stored)."""
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_HORIZON_DAYS:
        raise ValidationFailed(f"days must be 1 to {MAX_HORIZON_DAYS}", field="days")
    if not 0 < time_limit <= MAX_TIME_LIMIT:
        raise ValidationFailed(f"time_limit must be above 0 and at most {MAX_TIME_LIMIT:g} s", field="time_limit")
    problem = build_problem(session, start_day=start_day, days=days, timezone=timezone)
    return problem, solve(problem, time_limit=time_limit, workers=workers)


def create_plan(session: Session, actor: Actor, *, start_day: date, days: int, timezone: str = "UTC",
                time_limit: float = 20.0, workers: int = 2, reason: str = "") -> ProductionPlan:
    """Compute and store the next plan version (draft), audited."""
    problem, solution = compute(session, start_day=start_day, days=days, timezone=timezone,
                                time_limit=time_limit, workers=workers)
    version = (session.scalar(select(func.max(ProductionPlan.version))) or 0) + 1
    plan = ProductionPlan(
        version=version, state="draft", horizon_start=problem.start, horizon_days=days, timezone=timezone,
        solver_status=solution.status, objective=solution.objective, best_bound=solution.bound, gap=solution.gap,
        wall_seconds=round(solution.wall_seconds, 3), total_lateness_minutes=sum(solution.lateness.values()),
        makespan_minutes=solution.makespan, inputs_sha256=problem.digest(), reason=reason, created_at=utcnow(),
        created_by_id=user_id_of(session, actor))
    session.add(plan)
    session.flush()
    _store(session, plan, problem, solution)
    chain.append(session, actor, "plan.create", "production_plan", str(version), reason=reason or None,
                 after=plan_summary(plan))
    return plan


def _store(session: Session, plan: ProductionPlan, problem: Problem, solution: Solution) -> None:
    lots = {j.lot: j for j in problem.jobs}
    ids = dict(session.execute(select(Lot.lot_number, Lot.id)
                               .where(Lot.lot_number.in_(list(lots) + list(problem.blocked)))).all())
    tasks = {(j.lot, t.sequence): t for j in problem.jobs for t in j.tasks}
    equipment = dict(session.execute(select(Equipment.code, Equipment.id)).all())
    users = dict(session.execute(select(User.username, User.id)).all())
    for p in solution.placements:
        t = tasks[(p.lot, p.sequence)]
        session.add(PlannedOperation(
            plan=plan, lot_id=ids[p.lot], routing_operation_id=t.operation_id, work_centre=t.work_centre,
            equipment_id=equipment.get(p.equipment), operator_id=users.get(p.operator),
            starts_at=problem.start + timedelta(minutes=p.start), ends_at=problem.start + timedelta(minutes=p.end),
            due_on=lots[p.lot].due_on, lateness_minutes=solution.lateness.get(p.lot, 0)))
    for lot, blockers in problem.blocked.items():
        for b in blockers:
            session.add(PlanBlocker(plan=plan, lot_id=ids[lot], code=b.code, field=b.field, record=b.record[:200],
                                    message=b.message))
    for lot in solution.unplaced:
        session.add(PlanBlocker(plan=plan, lot_id=ids[lot], code="no_room", field="horizon", record=lot,
                                message=no_room_message(problem, solution, lot)))
    session.flush()


def no_room_message(problem: Problem, solution: Solution, lot: str) -> str:
    """Why a lot with a schedule is still not in the plan: it completes after the horizon."""
    if lot not in solution.completes:
        return f"lot {lot}: the solver found no schedule ({solution.status})"
    when = (problem.start + timedelta(minutes=solution.completes[lot])).astimezone(problem.start.tzinfo)
    return (f"lot {lot}: no room within the horizon — calendars, equipment and operators taken by more urgent "
            f"lots; it would complete on {when:%Y-%m-%d %H:%M}")


def blockers_by_lot(plan: ProductionPlan) -> dict[str, list[Blocker]]:
    """Lot number → why it is not in ``plan``."""
    out: dict[str, list[Blocker]] = {}
    for b in plan.blockers:
        out.setdefault(b.lot.lot_number, []).append(Blocker(b.code, b.field, b.record, b.message))
    return out


def plan_summary(plan: ProductionPlan) -> dict:
    """The plan's content as plain data: what a signature covers and what the CLI/API print."""
    return {
        "version": plan.version, "state": plan.state, "horizon_start": plan.horizon_start.isoformat(),
        "horizon_days": plan.horizon_days, "timezone": plan.timezone, "solver_status": plan.solver_status,
        "objective": plan.objective, "best_bound": plan.best_bound, "gap": plan.gap,
        "wall_seconds": plan.wall_seconds, "total_lateness_minutes": plan.total_lateness_minutes,
        "makespan_minutes": plan.makespan_minutes, "inputs_sha256": plan.inputs_sha256,
        "operations": [{"lot": o.lot.lot_number, "sequence": o.operation.sequence, "operation": o.operation.code,
                        "work_centre": o.work_centre, "equipment": o.equipment.code if o.equipment else None,
                        "operator": o.operator.username if o.operator else None,
                        "starts_at": o.starts_at.isoformat(), "ends_at": o.ends_at.isoformat(),
                        "due_on": o.due_on.isoformat() if o.due_on else None,
                        "lateness_minutes": o.lateness_minutes}
                       for o in sorted(plan.operations, key=lambda o: (o.starts_at, o.lot_id, o.id))],
        "blocked": {lot: [b.as_dict() for b in found] for lot, found in sorted(blockers_by_lot(plan).items())},
    }


def get_plan(session: Session, version: int) -> ProductionPlan:
    """Plan ``version`` or NotFound."""
    plan = session.scalars(select(ProductionPlan).where(ProductionPlan.version == version)).first()
    if plan is None:
        raise NotFound(f"plan version {version} does not exist", field="version")
    return plan


def plan_in_force(session: Session) -> ProductionPlan | None:
    """The released plan, if any."""
    return session.scalars(select(ProductionPlan).where(ProductionPlan.state == "released")).first()


def release_plan(session: Session, actor: Actor, plan: ProductionPlan, *, reason: str,
                 now: datetime | None = None) -> ProductionPlan:
    """Release a draft plan (the caller signs ``plan_summary``); the plan in force before is superseded."""
    if plan.state != "draft":
        raise Conflict(f"{plan.describe()} is {plan.state}: only a draft plan can be released", field="state",
                       obj=plan.describe())
    if not (reason or "").strip():
        raise ValidationFailed("a reason is required", field="reason", obj=plan.describe())
    now = now or utcnow()
    # Lock the plan in force so two releases racing cannot both supersede it.
    previous = session.scalars(select(ProductionPlan).where(ProductionPlan.state == "released")
                               .with_for_update()).first()
    if previous is not None:
        previous.state, previous.superseded_at = "superseded", now
        chain.append(session, actor, "plan.supersede", "production_plan", str(previous.version), reason=reason,
                     before={"state": "released"}, after={"state": "superseded", "by_version": plan.version})
    plan.state, plan.released_at, plan.released_by_id = "released", now, user_id_of(session, actor)
    session.flush()
    chain.append(session, actor, "plan.release", "production_plan", str(plan.version), reason=reason,
                 before={"state": "draft"}, after={"state": "released", "inputs_sha256": plan.inputs_sha256})
    return plan
