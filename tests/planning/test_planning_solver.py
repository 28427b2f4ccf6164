"""The CP-SAT schedule on small hand-checkable problems (no database)."""
from __future__ import annotations

import pytest

from engine.planning.problem import Job, Problem, Task
from engine.planning.solver import solve

ALWAYS = (0, 10_000)


def _task(lot, seq, duration, *, wc="WC", equipment=(), operators=None):
    return Task(lot=lot, sequence=seq, code=f"OP{seq}", work_centre=wc, duration=duration,
                equipment=list(equipment), operators=operators or {"op": ALWAYS})


def _problem(jobs, horizon=1000, **kw):
    wcs = {t.work_centre for j in jobs for t in j.tasks}
    return Problem(horizon=horizon, limit=kw.get("limit", horizon), jobs=jobs, wc_capacity=kw.get("capacity", {wc: 5 for wc in wcs}),
                   wc_reduced=kw.get("reduced", {}), equipment_closed=kw.get("closed", {}))


def _at(solution, lot, seq):
    return next(p for p in solution.placements if p.lot == lot and p.sequence == seq)


def test_one_machine_serves_the_more_urgent_lot_first_and_the_makespan_is_the_total_work():
    jobs = [Job("LOW", 5, 200, [_task("LOW", 10, 50, equipment=["M"])]),
            Job("HIGH", 1, 200, [_task("HIGH", 10, 50, equipment=["M"])])]
    s = solve(_problem(jobs))
    assert s.status == "optimal" and s.gap == 0
    assert s.makespan == 100 and not s.lateness["LOW"] and not s.lateness["HIGH"]
    jobs = [Job("LOW", 5, 60, [_task("LOW", 10, 50, equipment=["M"])]),
            Job("HIGH", 1, 60, [_task("HIGH", 10, 50, equipment=["M"])])]
    s = solve(_problem(jobs))
    # only one lot can finish by minute 60: the priority-1 lot; the other is 40 min late
    assert _at(s, "HIGH", 10).start == 0 and s.lateness == {"HIGH": 0, "LOW": 40}


def test_operations_follow_the_routing_and_avoid_closed_equipment_days():
    jobs = [Job("A", 3, None, [_task("A", 10, 30, equipment=["M"]), _task("A", 20, 30, equipment=["N"])])]
    s = solve(_problem(jobs, closed={"M": [(0, 100)], "N": [(130, 400)]}))
    first, second = _at(s, "A", 10), _at(s, "A", 20)
    assert first.start == 100 and first.end == 130  # M is closed (calibration due) until 100
    assert second.start == 400  # N closed 130..400; the second operation waits, never overlaps
    assert s.makespan == 430


def test_a_work_centre_closed_outside_its_shift_never_runs_an_operation_across_the_break():
    jobs = [Job("A", 3, None, [_task("A", 10, 60)])]
    # open 0..50 and 100..200: 60 minutes fit only in the second window
    s = solve(_problem(jobs, capacity={"WC": 1}, reduced={"WC": [(50, 100, 1), (200, 1000, 1)]}))
    assert (_at(s, "A", 10).start, _at(s, "A", 10).end) == (100, 160)


def test_only_a_trained_operator_within_the_days_trained_is_chosen():
    jobs = [Job("A", 3, None, [_task("A", 10, 30, operators={"late": (500, 1000)}),
                               _task("A", 20, 30, operators={"x": ALWAYS, "y": ALWAYS})]),
            Job("B", 3, None, [_task("B", 10, 30, operators={"x": ALWAYS})])]
    s = solve(_problem(jobs))
    assert _at(s, "A", 10).operator == "late" and _at(s, "A", 10).start >= 500
    assert {_at(s, "A", 20).operator, _at(s, "B", 10).operator} <= {"x", "y"}
    a2, b1 = _at(s, "A", 20), _at(s, "B", 10)
    if a2.operator == "x":  # one person, one operation at a time
        assert a2.end <= b1.start or b1.end <= a2.start


def test_a_lot_without_room_in_the_horizon_is_reported_with_its_completion_and_the_urgent_one_placed():
    jobs = [Job("URGENT", 1, None, [_task("URGENT", 10, 80, equipment=["M"])]),
            Job("LATER", 4, None, [_task("LATER", 10, 80, equipment=["M"])])]
    s = solve(_problem(jobs, horizon=100, limit=300))
    assert s.unplaced == ["LATER"] and [p.lot for p in s.placements] == ["URGENT"]
    assert s.completes == {"URGENT": 80, "LATER": 160}


@pytest.mark.parametrize("equipment,expected", [(["M1", "M2"], 50), (["M1"], 100)])
def test_a_second_listed_machine_halves_the_makespan(equipment, expected):
    two_people = {"x": ALWAYS, "y": ALWAYS}
    jobs = [Job(n, 3, None, [_task(n, 10, 50, equipment=equipment, operators=two_people)]) for n in ("A", "B")]
    s = solve(_problem(jobs))
    assert s.makespan == expected and s.gap == 0
