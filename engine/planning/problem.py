"""What the planner must respect, read from the master data and the records: the planning problem.

``build_problem`` turns the planned lots into jobs of timed operations, each with the equipment
and operators that may do it and when, and names every reason a lot cannot be planned at all.
It decides nothing itself: equipment and operators are judged by the shop-floor interlocks
(``engine.production.interlocks``: training on the SOP revision in effect, calibration and
maintenance dates, tooling life), one day at a time over the horizon, so the plan never promises
what the floor would refuse. Times are whole minutes from the horizon's start.
"""
from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.masterdata.models import Bom, Equipment, Item, Routing, RoutingOperation
from engine.masterdata.revisions import effective_revision
from engine.planning.calendars import open_windows, shifts_of, zone
from engine.planning.materials import MaterialLedger
from engine.production.interlocks import Blocker, equipment_blockers, operator_blockers, tooling_blockers
from engine.processes.models import Deviation, LotHold
from engine.production.models import Lot
from engine.users.models import User

MAX_HORIZON_DAYS = 92
# The model's clock runs on past the horizon (calendars and equipment days included) so that every
# lot gets a schedule; a lot that would complete after the horizon is reported, not silently dropped.
OVERRUN_FACTOR = 3


@dataclass
class Task:
    """One operation of a lot: how long, where, on which equipment, by whom and within which minutes."""

    lot: str
    sequence: int
    code: str
    work_centre: str
    duration: int
    equipment: list[str] = field(default_factory=list)  # candidates; empty: the operation needs none
    operators: dict[str, tuple[int, int]] = field(default_factory=dict)  # user → (earliest start, latest end)
    operation_id: int | None = None


@dataclass
class Job:
    """A planned lot: its operations in routing order, its priority (1 most urgent) and due minute."""

    lot: str
    priority: int
    due: int | None
    tasks: list[Task]
    lot_id: int | None = None
    due_on: date | None = None


@dataclass
class Problem:
    """Jobs, and when each work centre and piece of equipment is closed (minute intervals up to ``limit``,
    the end of the model's clock; ``horizon`` is the end of the plan)."""

    horizon: int
    jobs: list[Job]
    wc_capacity: dict[str, int]
    wc_reduced: dict[str, list[tuple[int, int, int]]]  # (start, end, stations closed) per work centre
    equipment_closed: dict[str, list[tuple[int, int]]]
    blocked: dict[str, list[Blocker]] = field(default_factory=dict)
    start: datetime | None = None
    timezone: str = "UTC"
    limit: int = 0

    def __post_init__(self):
        self.limit = max(self.limit, self.horizon)

    def digest(self) -> str:
        """SHA-256 of the problem's content (what the plan was computed from)."""
        body = {"horizon": self.horizon, "limit": self.limit, "jobs": [asdict(j) for j in self.jobs], "wc_capacity": self.wc_capacity,
                "wc_reduced": self.wc_reduced, "equipment_closed": self.equipment_closed,
                "blocked": {k: [b.as_dict() for b in v] for k, v in sorted(self.blocked.items())},
                "start": self.start.isoformat() if self.start else None, "timezone": self.timezone}
        return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def planned_lots(session: Session) -> list[Lot]:
    """Lots waiting to be made, most urgent first (priority, due date, number)."""
    lots = session.scalars(select(Lot).where(Lot.status == "planned", Lot.source == "made"))
    return sorted(lots, key=lambda lot: (lot.priority, lot.due_on or date.max, lot.lot_number))


def build_problem(session: Session, *, start_day: date, days: int, timezone: str = "UTC") -> Problem:
    """The planning problem for the planned lots over ``days`` days from ``start_day`` 00:00 in ``timezone``."""
    tz = zone(timezone)
    start = datetime.combine(start_day, time(0), tzinfo=tz)
    end = datetime.combine(start_day + timedelta(days=days), time(0), tzinfo=tz)
    limit = datetime.combine(start_day + timedelta(days=days * OVERRUN_FACTOR), time(0), tzinfo=tz)
    ctx = _Context(session, start, limit, [start_day + timedelta(days=k) for k in range(days * OVERRUN_FACTOR)],
                   plan_days=days)
    problem = Problem(horizon=ctx.minute(end), jobs=[], wc_capacity={}, wc_reduced={}, equipment_closed={},
                      start=start, timezone=timezone, limit=ctx.minute(limit))
    ledger = MaterialLedger(session, start_day)
    for lot in planned_lots(session):
        job, blockers = ctx.job(lot, ledger)
        if blockers:
            problem.blocked[lot.lot_number] = blockers
        else:
            problem.jobs.append(job)
    for lot, blocker in held_lots(session):
        problem.blocked[lot.lot_number] = [blocker]
    for wc in {t.work_centre for j in problem.jobs for t in j.tasks}:
        problem.wc_capacity[wc], problem.wc_reduced[wc] = ctx.calendar(wc)
    for code in {e for j in problem.jobs for t in j.tasks for e in t.equipment}:
        problem.equipment_closed[code] = ctx.equipment_closed[code]
    return problem


def held_lots(session: Session) -> list[tuple[Lot, Blocker]]:
    """Lots held while planned (a deviation's hold): out of the plan until the hold is lifted, and said so."""
    rows = session.execute(select(Lot, LotHold, Deviation.number).join(LotHold, LotHold.lot_id == Lot.id)
                           .outerjoin(Deviation, Deviation.id == LotHold.deviation_id)
                           .where(Lot.status == "on_hold", Lot.source == "made", LotHold.released_at.is_(None),
                                  LotHold.status_before == "planned").order_by(Lot.lot_number, LotHold.id)).all()
    out, seen = [], set()
    for lot, hold, number in rows:
        if lot.id in seen:
            continue
        seen.add(lot.id)
        record = number or f"hold {hold.id}"
        out.append((lot, Blocker("on_hold", "status", record,
                                 f"lot {lot.lot_number} is on hold ({record}: {hold.reason}); it returns to the "
                                 "plan when the hold is lifted")))
    return out


class _Context:
    """Caches per routing operation (lots share routings) and the horizon's day boundaries."""

    def __init__(self, session: Session, start: datetime, end: datetime, days: list[date], plan_days: int):
        self.s, self.start, self.end, self.days, self.plan_days = session, start, end, days, plan_days
        self.tz = start.tzinfo
        self.shifts = shifts_of(session)
        self.windows = {wc: open_windows(rows, start, end) for wc, rows in self.shifts.items()}
        self.operators = list(session.scalars(select(User).where(User.active.is_(True)).order_by(User.username)))
        self.operators = [u for u in self.operators if "operator" in u.roles]
        self.equipment_closed: dict[str, list[tuple[int, int]]] = {}
        self._op_cache: dict[int, tuple] = {}

    def minute(self, when: datetime) -> int:
        return int((when - self.start).total_seconds() // 60)

    def day_span(self, k: int) -> tuple[int, int]:
        a = datetime.combine(self.days[k], time(0), tzinfo=self.tz)
        return self.minute(a), self.minute(a + timedelta(days=1))

    def calendar(self, wc: str) -> tuple[int, list[tuple[int, int, int]]]:
        """Capacity (most stations of any shift) and the intervals where fewer stations are open."""
        windows = self.windows.get(wc, [])
        cap = max((c for _a, _b, c in windows), default=1)
        reduced, cursor = [], 0
        for a, b, c in windows:
            ma, mb = self.minute(a), self.minute(b)
            if ma > cursor:
                reduced.append((cursor, ma, cap))
            if c < cap:
                reduced.append((ma, mb, cap - c))
            cursor = max(cursor, mb)
        horizon = self.minute(self.end)
        if cursor < horizon:
            reduced.append((cursor, horizon, cap))
        return cap, reduced

    def job(self, lot: Lot, ledger: MaterialLedger) -> tuple[Job, list[Blocker]]:
        due = None
        if lot.due_on is not None:
            due = self.minute(datetime.combine(lot.due_on + timedelta(days=1), time(0), tzinfo=self.tz))
        job = Job(lot=lot.lot_number, priority=lot.priority, due=due, tasks=[], lot_id=lot.id, due_on=lot.due_on)
        routing = self.s.scalars(select(Routing).where(Routing.item_id == lot.item_id)).first()
        rev = effective_revision(self.s, routing) if routing is not None else None
        if rev is None or not rev.operations:
            return job, [Blocker("no_routing", "routing", lot.item.code,
                                 f"{lot.item.code} has no released routing with operations")]
        blockers = ledger.allocate(lot, self._bom(lot.item))
        for op in rev.operations:
            task, found = self._task(lot, op)
            job.tasks.append(task)
            blockers += found
        return job, blockers

    def _bom(self, item: Item):
        bom = self.s.scalars(select(Bom).where(Bom.item_id == item.id)).first()
        return effective_revision(self.s, bom) if bom is not None else None

    def _task(self, lot: Lot, op: RoutingOperation) -> tuple[Task, list[Blocker]]:
        where = f"operation {op.sequence} {op.code}"
        minutes = op.setup_minutes + op.run_minutes_per_unit * lot.quantity_planned
        task = Task(lot=lot.lot_number, sequence=op.sequence, code=op.code, work_centre=op.work_centre,
                    duration=max(1, math.ceil(minutes - 1e-9)), operation_id=op.id)
        blockers = []
        if minutes <= 0:
            blockers.append(Blocker("no_standard_time", "operation", op.code,
                                    f"{where} has no standard time (set-up and per-unit minutes are 0)"))
        windows = self.windows.get(op.work_centre, [])
        longest = max((self.minute(b) - self.minute(a) for a, b, _c in windows), default=0)
        if not any(self.minute(a) < self.plan_days * 1440 for a, _b, _c in windows):
            longest = 0  # open only after the horizon
        if longest == 0:
            blockers.append(Blocker("no_calendar", "work_centre", op.work_centre or "—",
                                    f"work centre {op.work_centre or '(none)'} of {where} has no shift "
                                    "within the horizon"))
        elif task.duration > longest:
            blockers.append(Blocker("longer_than_shift", "operation", op.code,
                                    f"{where} takes {task.duration} min for {lot.quantity_planned:g} {lot.unit}; "
                                    f"the longest open window of {op.work_centre} is {longest} min"))
        equipment, operators, tooling = self._resources(op)
        task.equipment, task.operators = equipment[0], operators[0]
        return task, blockers + equipment[1] + operators[1] + tooling

    def _resources(self, op: RoutingOperation):
        if op.id not in self._op_cache:
            self._op_cache[op.id] = (self._equipment(op), self._operators(op),
                                     self._tooling(op))
        return self._op_cache[op.id]

    def _equipment(self, op: RoutingOperation) -> tuple[list[str], list[Blocker]]:
        """Listed equipment usable on some day of the horizon; the days it is not are closed to it."""
        if not op.equipment:
            return [], []
        usable, reasons = [], []
        for eq in op.equipment:
            closed, first_reasons = self._equipment_days(op, eq)
            if any(k not in closed for k in range(self.plan_days)):
                usable.append(eq.code)
                self.equipment_closed.setdefault(eq.code, _merge(self.day_span(k) for k in closed))
            else:
                reasons += first_reasons
        if usable:
            return usable, []
        return [], [Blocker(b.code, b.field, b.record, f"operation {op.sequence} {op.code}: {b.message}; "
                            "no other listed equipment is usable within the horizon") for b in reasons]

    def _equipment_days(self, op: RoutingOperation, eq: Equipment) -> tuple[list[int], list[Blocker]]:
        closed, first = [], []
        for k, day in enumerate(self.days):
            found = equipment_blockers(op, eq, day)
            if found:
                closed.append(k)
                if k < self.plan_days:
                    first = first or found
        return closed, first

    def _operators(self, op: RoutingOperation) -> tuple[dict[str, tuple[int, int]], list[Blocker]]:
        """Operators trained for ``op`` and the first run of days they stay trained in the horizon."""
        allowed, reasons = {}, []
        for user in self.operators:
            ok_days, first = [], []
            for k, day in enumerate(self.days):
                at = datetime.combine(day, time(12), tzinfo=self.tz)
                found = operator_blockers(self.s, op, user, at)
                if not found:
                    ok_days.append(k)
                elif k < self.plan_days:
                    first = first or found
            if ok_days and ok_days[0] < self.plan_days:
                run_end = ok_days[0]
                while run_end + 1 in ok_days:  # training lapses only when a new SOP revision takes effect
                    run_end += 1
                allowed[user.username] = (self.day_span(ok_days[0])[0], self.day_span(run_end)[1])
            else:
                reasons += first
        if allowed:
            return allowed, []
        detail = "; ".join(b.message for b in reasons) or "no active user holds the operator role"
        return {}, [Blocker("no_trained_operator", "operator", f"{op.sequence} {op.code}",
                            f"no trained operator for operation {op.sequence} {op.code} within the horizon: {detail}")]

    def _tooling(self, op: RoutingOperation) -> list[Blocker]:
        if not op.tooling:
            return []
        found = [tooling_blockers(op, t) for t in op.tooling]
        if any(not f for f in found):
            return []
        return [Blocker(b.code, b.field, b.record, f"operation {op.sequence} {op.code}: {b.message}")
                for f in found for b in f]


def _merge(spans) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for a, b in sorted(spans):
        if out and out[-1][1] >= a:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out

