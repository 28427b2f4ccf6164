"""The schedule, by Google OR-Tools CP-SAT: every planned job placed or left out, lateness then makespan.

Model (times in minutes from the horizon's start):
- each operation is an interval of its standard time, present exactly when its lot is placed;
  operations of a lot follow the routing order;
- a work centre is a cumulative resource of as many stations as its widest shift; outside its
  shifts (and where a shift opens fewer stations) fixed intervals take the capacity away, so no
  operation runs across a closed period;
- each piece of equipment is a no-overlap resource closed on the days the interlocks refuse it
  (calibration or maintenance due); an operation picks exactly one of its usable listed pieces;
- each operator is a no-overlap resource; an operation picks exactly one trained operator, within
  the days that operator is trained;
- objective, lexicographic by weights: most urgent lots placed first, then the sum of lateness
  weighted by priority (1 → 5, 5 → 1), then the makespan.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

from ortools.sat.python import cp_model

from engine.planning.problem import Job, Problem

STATUS_NAMES = {cp_model.OPTIMAL: "optimal", cp_model.FEASIBLE: "feasible", cp_model.INFEASIBLE: "infeasible",
                cp_model.MODEL_INVALID: "invalid", cp_model.UNKNOWN: "unknown"}


@dataclass
class Placement:
    lot: str
    sequence: int
    start: int
    end: int
    equipment: str | None
    operator: str | None


@dataclass
class Solution:
    status: str
    placements: list[Placement] = field(default_factory=list)
    unplaced: list[str] = field(default_factory=list)  # lots left out for want of room in the horizon
    lateness: dict[str, int] = field(default_factory=dict)
    makespan: int = 0
    objective: float | None = None
    bound: float | None = None
    wall_seconds: float = 0.0

    @property
    def gap(self) -> float | None:
        """Relative optimality gap reported by the solver (0 when proven optimal)."""
        if self.objective is None or self.bound is None:
            return None
        return abs(self.objective - self.bound) / max(1.0, abs(self.objective))


def weight(priority: int) -> int:
    return 6 - priority


class _Model:
    def __init__(self, problem: Problem):
        self.p, self.m = problem, cp_model.CpModel()
        self.present, self.ends, self.late = {}, {}, {}
        self.tasks = {}  # (lot, seq) → (start, end, {equipment: literal}, {operator: literal})
        self.by_wc: dict[str, list] = {}
        self.by_eq: dict[str, list] = {}
        self.by_op: dict[str, list] = {}

    def build(self) -> None:
        for job in self.p.jobs:
            self._job(job)
        for wc, intervals in self.by_wc.items():
            cap = self.p.wc_capacity.get(wc, 1)
            fixed = [(self.m.new_fixed_size_interval_var(a, b - a, f"closed {wc} {a}"), closed)
                     for a, b, closed in self.p.wc_reduced.get(wc, []) if b > a]
            self.m.add_cumulative([i for i in intervals] + [f for f, _ in fixed],
                                  [1] * len(intervals) + [c for _, c in fixed], cap)
        for code, intervals in self.by_eq.items():
            fixed = [self.m.new_fixed_size_interval_var(a, b - a, f"closed {code} {a}")
                     for a, b in self.p.equipment_closed.get(code, []) if b > a]
            self.m.add_no_overlap(intervals + fixed)
        for intervals in self.by_op.values():
            self.m.add_no_overlap(intervals)
        self._objective()

    def _job(self, job: Job) -> None:
        m, h = self.m, self.p.horizon
        present = m.new_bool_var(f"place {job.lot}")
        self.present[job.lot] = present
        prev_end = None
        for t in job.tasks:
            name = f"{job.lot}/{t.sequence}"
            start = m.new_int_var(0, max(0, h - t.duration), f"start {name}")
            end = m.new_int_var(t.duration, h, f"end {name}")
            interval = m.new_optional_interval_var(start, t.duration, end, present, f"op {name}")
            self.by_wc.setdefault(t.work_centre, []).append(interval)
            if prev_end is not None:
                m.add(start >= prev_end).only_enforce_if(present)
            prev_end = end
            eqs = self._choose(t.equipment, start, end, t.duration, present, name, self.by_eq)
            ops = self._choose(list(t.operators), start, end, t.duration, present, name, self.by_op)
            for user, literal in ops.items():
                lo, hi = t.operators[user]
                m.add(start >= lo).only_enforce_if(literal)
                m.add(end <= hi).only_enforce_if(literal)
            self.tasks[(job.lot, t.sequence)] = (start, end, eqs, ops)
        self.ends[job.lot] = prev_end
        if job.due is not None:
            late = m.new_int_var(0, h, f"late {job.lot}")
            m.add(late >= prev_end - job.due).only_enforce_if(present)
            self.late[job.lot] = late

    def _choose(self, names, start, end, duration, present, name, pool) -> dict:
        """Exactly one of ``names`` when the lot is placed, each an optional interval on its resource."""
        if not names:
            return {}
        literals = {}
        for n in names:
            lit = present if len(names) == 1 else self.m.new_bool_var(f"{name} on {n}")
            literals[n] = lit
            pool.setdefault(n, []).append(self.m.new_optional_interval_var(start, duration, end, lit, f"{name} {n}"))
        if len(names) > 1:
            self.m.add(sum(literals.values()) == present)
        return literals

    def _objective(self) -> None:
        m, h = self.m, self.p.horizon
        makespan = m.new_int_var(0, h, "makespan")
        for lot, end in self.ends.items():
            m.add(makespan >= end).only_enforce_if(self.present[lot])
        self.makespan = makespan
        weights = {j.lot: weight(j.priority) for j in self.p.jobs}
        late_weight = h + 1
        lateness = sum(weights[lot] * var for lot, var in self.late.items())
        max_late = sum(weights[lot] for lot in self.late) * h
        unplaced_weight = late_weight * (max_late + 1) + late_weight
        unplaced = sum(weights[j.lot] * (1 - self.present[j.lot]) for j in self.p.jobs)
        m.minimize(unplaced_weight * unplaced + late_weight * lateness + makespan)


def solve(problem: Problem, *, time_limit: float = 20.0, workers: int = 2, seed: int = 0) -> Solution:
    """Schedule ``problem``; the best schedule found within ``time_limit`` seconds, with its gap."""
    began = time.perf_counter()
    if not problem.jobs:
        return Solution(status="optimal", objective=0.0, bound=0.0, wall_seconds=time.perf_counter() - began)
    model = _Model(problem)
    model.build()
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = float(time_limit)
    solver.parameters.num_workers = int(workers)
    solver.parameters.random_seed = int(seed)
    status = solver.solve(model.m)
    out = Solution(status=STATUS_NAMES.get(status, str(status)), wall_seconds=time.perf_counter() - began)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        out.unplaced = [j.lot for j in problem.jobs]
        return out
    out.objective, out.bound = solver.objective_value, solver.best_objective_bound
    for job in problem.jobs:
        if not solver.value(model.present[job.lot]):
            out.unplaced.append(job.lot)
            continue
        for t in job.tasks:
            start, end, eqs, ops = model.tasks[(job.lot, t.sequence)]
            out.placements.append(Placement(
                lot=job.lot, sequence=t.sequence, start=solver.value(start), end=solver.value(end),
                equipment=next((n for n, lit in eqs.items() if solver.boolean_value(lit)), None),
                operator=next((n for n, lit in ops.items() if solver.boolean_value(lit)), None)))
        if job.lot in model.late:
            out.lateness[job.lot] = solver.value(model.late[job.lot])
    out.makespan = max((p.end for p in out.placements), default=0)
    return out
