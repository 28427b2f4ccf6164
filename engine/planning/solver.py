"""The schedule, by Google OR-Tools CP-SAT: every planned job placed or left out, lateness then makespan.

Model (times in minutes from the horizon's start):
- each operation is an interval of its standard time; operations of a lot follow the routing
  order. The model's clock runs on past the horizon (``Problem.limit``), so every lot gets a
  schedule and a search starts from a complete one; a lot that would complete after the horizon
  is reported as not placed, with the day it would complete;
- a work centre is a cumulative resource of as many stations as its widest shift; outside its
  shifts (and where a shift opens fewer stations) fixed intervals take the capacity away, so no
  operation runs across a closed period;
- each piece of equipment is a no-overlap resource closed on the days the interlocks refuse it
  (calibration or maintenance due); an operation picks exactly one of its usable listed pieces;
- each operator is a no-overlap resource; an operation picks exactly one trained operator, within
  the days that operator is trained;
- objective, lexicographic by weights: the sum of lateness and of overrun past the horizon,
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
    unplaced: list[str] = field(default_factory=list)  # lots that would complete after the horizon
    completes: dict[str, int] = field(default_factory=dict)  # lot → minute its last operation ends
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
        self.ends, self.late, self.over = {}, {}, {}
        self.tasks = {}  # (lot, seq) → (start, end, {equipment: literal}, {operator: literal})
        self.by_wc: dict[str, list] = {}
        self.by_eq: dict[str, list] = {}
        self.by_op: dict[str, list] = {}
        self.eq_centres: dict[str, set[str]] = {}

    def build(self) -> None:
        for job in self.p.jobs:
            self._job(job)
        for wc, intervals in self.by_wc.items():
            cap = self.p.wc_capacity.get(wc, 1)
            fixed = [(self.m.new_fixed_size_interval_var(a, b - a, f"closed {wc} {a}"), closed)
                     for a, b, closed in self.p.wc_reduced.get(wc, []) if b > a]
            self.m.add_cumulative(intervals + [f for f, _ in fixed], [1] * len(intervals) + [c for _, c in fixed],
                                  cap)
        for code, intervals in self.by_eq.items():
            closed = list(self.p.equipment_closed.get(code, []))
            centres = self.eq_centres[code]
            if len(centres) == 1:  # redundant but strong: the work centre's closed hours close its machine too
                wc = next(iter(centres))
                cap = self.p.wc_capacity.get(wc, 1)
                closed += [(a, b) for a, b, c in self.p.wc_reduced.get(wc, []) if c >= cap]
            fixed = [self.m.new_fixed_size_interval_var(a, b - a, f"closed {code} {a}")
                     for a, b in _union(closed) if b > a]
            self.m.add_no_overlap(intervals + fixed)
        for intervals in self.by_op.values():
            self.m.add_no_overlap(intervals)
        self._objective()

    def _job(self, job: Job) -> None:
        m, limit = self.m, self.p.limit
        prev_end = None
        for t in job.tasks:
            name = f"{job.lot}/{t.sequence}"
            start = m.new_int_var(0, max(0, limit - t.duration), f"start {name}")
            end = m.new_int_var(t.duration, limit, f"end {name}")
            interval = m.new_interval_var(start, t.duration, end, f"op {name}")
            self.by_wc.setdefault(t.work_centre, []).append(interval)
            if prev_end is not None:
                m.add(start >= prev_end)
            prev_end = end
            eqs = self._choose(t.equipment, start, end, t.duration, name, self.by_eq)
            for code in t.equipment:
                self.eq_centres.setdefault(code, set()).add(t.work_centre)
            ops = self._choose(list(t.operators), start, end, t.duration, name, self.by_op)
            for user, literal in ops.items():
                lo, hi = t.operators[user]
                m.add(start >= lo).only_enforce_if(literal)
                m.add(end <= hi).only_enforce_if(literal)
            self.tasks[(job.lot, t.sequence)] = (start, end, eqs, ops)
        self.ends[job.lot] = prev_end
        over = m.new_int_var(0, limit, f"overrun {job.lot}")
        m.add(over >= prev_end - self.p.horizon)
        self.over[job.lot] = over
        if job.due is not None:
            late = m.new_int_var(0, limit, f"late {job.lot}")
            m.add(late >= prev_end - job.due)
            self.late[job.lot] = late

    def _choose(self, names, start, end, duration, name, pool) -> dict:
        """Exactly one of ``names``, each an optional interval on its own resource."""
        if not names:
            return {}
        literals = {}
        for n in names:
            lit = self.m.new_constant(1) if len(names) == 1 else self.m.new_bool_var(f"{name} on {n}")
            literals[n] = lit
            if len(names) == 1:
                pool.setdefault(n, []).append(self.m.new_interval_var(start, duration, end, f"{name} {n}"))
            else:
                pool.setdefault(n, []).append(
                    self.m.new_optional_interval_var(start, duration, end, lit, f"{name} {n}"))
        if len(names) > 1:
            self.m.add_exactly_one(literals.values())
            if pool is self.by_eq:
                # A hint, not a rule: start the search on the machine closed least (a first schedule comes
                # much sooner when the search does not begin on a machine whose calibration lapses).
                closed = {n: sum(b - a for a, b in self.p.equipment_closed.get(n, [])) for n in names}
                best = min(names, key=lambda n: (closed[n], n))
                for n, lit in literals.items():
                    self.m.add_hint(lit, n == best)
        return literals

    def _objective(self) -> None:
        m, limit = self.m, self.p.limit
        makespan = m.new_int_var(0, limit, "makespan")
        m.add_max_equality(makespan, list(self.ends.values()))
        weights = {j.lot: weight(j.priority) for j in self.p.jobs}
        penalty = sum(weights[lot] * var for lot, var in self.late.items())
        penalty += sum(weights[lot] * var for lot, var in self.over.items())
        m.minimize((limit + 1) * penalty + makespan)


def _union(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for a, b in sorted(spans):
        if out and out[-1][1] >= a:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


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
    # Probing in presolve costs tens of seconds on 10 000 optional intervals and finds little here.
    solver.parameters.cp_model_probing_level = 0
    status = solver.solve(model.m)
    out = Solution(status=STATUS_NAMES.get(status, str(status)), wall_seconds=time.perf_counter() - began)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        out.unplaced = [j.lot for j in problem.jobs]
        return out
    out.objective, out.bound = solver.objective_value, solver.best_objective_bound
    for job in problem.jobs:
        out.completes[job.lot] = solver.value(model.ends[job.lot])
        if out.completes[job.lot] > problem.horizon:
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
