"""Planning the demo plant's order book: what is placed, what is not and why, and the plan record."""
from __future__ import annotations

import json
import uuid
from datetime import datetime, time, timedelta, timezone

import pytest
from click.testing import CliRunner
from flask.cli import ScriptInfo
from sqlalchemy import select

from audit import SYSTEM
from audit.models import AuditEntry, Signature
from audit.policy import SigningPolicy
from engine.errors import Conflict, ValidationFailed
from engine.masterdata.models import Document, Equipment
from engine.planning import calendars, plans
from engine.planning.calendars import Shift
from engine.production import lots, records
from engine.users import accounts
from engine.users.training import is_trained
from tests.ops import workload as wl
from tests.web.conftest import make_app


def _plant_day(s):
    """The day the demo was loaded (its order book is dated from it): never the wall clock."""
    return lots.get_lot(s, "IS200-2611-004").due_on - timedelta(days=8)


def _compute(s, day, days=14):
    return plans.compute(s, start_day=day, days=days, timezone="Asia/Shanghai", time_limit=20)


def test_demo_plan_places_the_subassemblies_and_names_why_the_rest_wait(demo_db):
    with demo_db.sessions.begin() as s:
        problem, solution = _compute(s, _plant_day(s))
        assert solution.status == "optimal"
        assert sorted({p.lot for p in solution.placements}) == ["DRIP-2611-01", "TUBE-2611-01"]
        blocked = {lot: {(b.code, b.record) for b in found} for lot, found in problem.blocked.items()}
        assert blocked == {
            "IS200-2611-004": {("equipment_calibration", "LT-01"), ("material_short", "SUB-DRIP")},
            "IS200-2611-005": {("equipment_calibration", "LT-01")},
            "DRIP-2611-02": {("material_short", "CMP-SPIKE"), ("material_short", "CMP-DRIP"),
                             ("material_short", "CMP-FILTER")},
        }
        spike = next(b for b in problem.blocked["DRIP-2611-02"] if b.record == "CMP-SPIKE")
        assert "2500 pcs needed, 900 pcs left" in spike.message  # 10000 received − 6600 used − 2500 for lot 01
        assert all(p.equipment != "LT-01" for p in solution.placements)


def test_calibrating_lt01_places_the_finished_lot_but_never_with_the_untrained_operator(demo_db):
    with demo_db.sessions.begin() as s:
        day = _plant_day(s)
        lt = s.scalar(select(Equipment).where(Equipment.code == "LT-01"))
        records.log_equipment_event(s, SYSTEM, lt, kind="calibration", result="pass", performed_by="Metrology lab",
                                    performed_at=datetime.combine(day, time(1), tzinfo=timezone.utc))
        problem, solution = _compute(s, day)
        assert "IS200-2611-005" not in problem.blocked
        ops = {p.sequence: p for p in solution.placements if p.lot == "IS200-2611-005"}
        assert sorted(ops) == [10, 20, 30, 40, 50, 60, 70] and ops[30].equipment == "LT-01"
        li = accounts.get_user_by_name(s, "li.na")
        job = next(j for j in problem.jobs if j.lot == "IS200-2611-005")
        sop1 = s.scalar(select(Document).where(Document.code == "SOP-001"))
        for task in job.tasks:  # SOP-001 rev B operations: li.na is not trained on it
            if task.code in ("ASM", "LEAK", "PACK"):
                assert "li.na" not in task.operators and ops[task.sequence].operator == "zhang.wei"
        assert not is_trained(s, li, next(r for r in sop1.revisions if r.label == "B"))
        for a, b in zip(sorted(ops.values(), key=lambda p: p.sequence), sorted(ops.values(),
                                                                              key=lambda p: p.sequence)[1:]):
            assert a.end <= b.start  # routing order


def test_equipment_falling_due_inside_the_horizon_is_not_planned_from_its_due_date(demo_db):
    with demo_db.sessions.begin() as s:
        day = _plant_day(s)
        uv1 = s.scalar(select(Equipment).where(Equipment.code == "UV-01"))
        due = uv1.maintenance_due_on
        problem, _ = _compute(s, due - timedelta(days=1), days=7)
        closed = problem.equipment_closed["UV-01"]
        start_of_overdue = int((datetime.combine(due + timedelta(days=1), time(0)) -
                                datetime.combine(due - timedelta(days=1), time(0))).total_seconds() // 60)
        assert closed == [(start_of_overdue, problem.limit)]  # closed until the end of the model's clock
        problem, _ = _compute(s, due + timedelta(days=1), days=7)
        [reason] = problem.blocked["DRIP-2611-01"]
        assert reason.code == "equipment_maintenance" and reason.record == "UV-01"
        assert day < due


def test_a_work_centre_without_shifts_blocks_with_its_name(demo_db):
    with demo_db.sessions.begin() as s:
        calendars.set_shifts(s, SYSTEM, "QC lab", [], timezone="Asia/Shanghai", reason="lab closed for audit")
        problem, _ = _compute(s, _plant_day(s))
        assert {(b.code, b.record) for b in problem.blocked["TUBE-2611-01"]} == {("no_calendar", "QC lab")}
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "work_centre.set_shifts")
                          .order_by(AuditEntry.seq.desc())).first()
        assert entry.object_id == "QC lab" and entry.reason == "lab closed for audit"


def test_shifts_are_validated():
    with pytest.raises(ValidationFailed, match="overlap"):
        calendars._check("X", [Shift(0, 480, 960), Shift(0, 900, 1200)])
    with pytest.raises(ValidationFailed, match="within one day"):
        calendars._check("X", [Shift(0, 960, 1500)])
    with pytest.raises(ValidationFailed, match="IANA"):
        calendars.zone("Mars/Olympus")


def test_open_windows_merge_back_to_back_shifts_across_midnight():
    tz = "Asia/Shanghai"
    rows = [calendars.WorkCentreShift(weekday=d, starts_minute=a, ends_minute=b, capacity=1, timezone=tz)
            for d in range(7) for a, b in ((0, 480), (480, 1440))]
    start = datetime(2026, 1, 5, tzinfo=timezone.utc)
    windows = calendars.open_windows(rows, start, start + timedelta(days=3))
    assert windows == [(start, start + timedelta(days=3), 1)]


def test_plans_are_versioned_and_a_release_supersedes_the_plan_in_force(demo_db):
    with demo_db.sessions.begin() as s:
        day = _plant_day(s)
        pm = accounts.actor_for(accounts.get_user_by_name(s, "liu.yang"))
        first = plans.create_plan(s, pm, start_day=day, days=14, timezone="Asia/Shanghai")
        second = plans.create_plan(s, pm, start_day=day, days=14, timezone="Asia/Shanghai")
        assert (first.version, second.version) == (1, 2) and first.inputs_sha256 == second.inputs_sha256
        summary = plans.plan_summary(first)
        assert set(summary["blocked"]) == {"IS200-2611-004", "IS200-2611-005", "DRIP-2611-02"}
        assert {o["lot"] for o in summary["operations"]} == {"DRIP-2611-01", "TUBE-2611-01"}
        plans.release_plan(s, pm, first, reason="weekly plan")
        plans.release_plan(s, pm, second, reason="re-planned")
        assert (first.state, second.state) == ("superseded", "released")
        assert plans.plan_in_force(s) is second
        with pytest.raises(Conflict, match="only a draft"):
            plans.release_plan(s, pm, first, reason="again")


@pytest.fixture()
def runner_app(demo_db, monkeypatch):
    app = make_app(demo_db)
    clock = wl.Clock()
    monkeypatch.setitem(app.extensions, "sealtrail.clock", clock)
    yield app, clock
    app.extensions["sealtrail.engine"].dispose()


def _invoke(app, args, input=None):
    from web.cli import cli
    return CliRunner().invoke(cli, args, obj=ScriptInfo(create_app=lambda: app), input=input)


def test_cli_plans_prints_json_and_a_production_manager_releases_it_signed(demo_db, runner_app):
    app, clock = runner_app
    with demo_db.sessions() as s:
        day = _plant_day(s)
    out = _invoke(app, ["plan", "--from", day.isoformat(), "--days", "14", "--timezone", "Asia/Shanghai", "--json"])
    assert out.exit_code == 0, out.output
    plan = json.loads(out.output)
    assert plan["version"] == 1 and plan["solver_status"] == "optimal" and plan["gap"] == 0
    assert all(o["equipment"] != "LT-01" for o in plan["operations"])
    text = _invoke(app, ["plan", "--from", day.isoformat(), "--days", "14", "--dry-run"])
    assert "NOT PLACED" in text.output and "LT-01 is overdue for calibration" in text.output
    assert "2 lot(s) placed, 3 not placed" in text.output
    policy = SigningPolicy.from_settings(app.extensions["sealtrail.settings"], clock=clock)
    name = f"pm{uuid.uuid4().hex[:6]}"
    with demo_db.sessions.begin() as s:
        _user, secret = wl.create_user(s, name, ["production_manager"], policy, clock)
    clock.step()
    released = _invoke(app, ["plan", "release", "1", "--by", name, "--reason", "weekly plan"],
                       input=f"{wl.PASSWORD}\n{wl.code(secret, clock)}\n")
    assert released.exit_code == 0, released.output
    with demo_db.sessions() as s:
        [sig] = s.scalars(select(Signature).where(Signature.record_type == "production_plan")).all()
        assert sig.record_id == "v1" and sig.username == name and sig.meaning == "approved"
        assert plans.get_plan(s, 1).state == "released"
    operator = _invoke(app, ["plan", "release", "1", "--by", "li.na", "--reason", "x"], input="x\n1\n")
    assert operator.exit_code == 1 and "needs the role production_manager" in operator.output


def test_a_planned_lot_held_by_a_deviation_leaves_the_plan_with_the_reason_and_returns_when_lifted(demo_db):
    from engine.processes.holds import hold_lot, release_hold

    with demo_db.sessions.begin() as s:
        day = _plant_day(s)
        lot = lots.get_lot(s, "TUBE-2611-01")
        hold = hold_lot(s, SYSTEM, lot, reason="resin lot under investigation")
        problem, solution = _compute(s, day)
        [reason] = problem.blocked["TUBE-2611-01"]
        assert reason.code == "on_hold" and "resin lot under investigation" in reason.message
        assert "TUBE-2611-01" not in {p.lot for p in solution.placements}
        release_hold(s, SYSTEM, hold, reason="resin cleared")
        problem, solution = _compute(s, day)
        assert "TUBE-2611-01" not in problem.blocked and "TUBE-2611-01" in {p.lot for p in solution.placements}
