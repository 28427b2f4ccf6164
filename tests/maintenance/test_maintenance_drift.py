"""Drift and change-point detection on synthetic series with known answers, and the backtest."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from click.testing import CliRunner
from flask.cli import ScriptInfo

from engine.maintenance.drift import analyse, change_points
from engine.maintenance.forecast import Series, backtest, judge
from tests.web.conftest import make_app

T0 = datetime(2026, 1, 5, 6, 0, tzinfo=timezone.utc)


def _drifting(n=110, start=60, slope=-0.2, seed=3, noise=1.0):
    rng = np.random.default_rng(seed)
    days = np.arange(float(n))
    values = np.where(days < start, 60.0, 60.0 + slope * (days - start)) + rng.normal(0, noise, n)
    return days, values


def test_the_change_point_of_a_level_that_starts_to_fall_is_found_within_a_few_days():
    days, values = _drifting()
    breaks = change_points(days, values)
    assert breaks and abs(breaks[-1] - 60) <= 3
    drift = analyse(days, values, control=(54, 66), spec=(50, 70))
    assert drift.change_day is not None and abs(drift.change_day - 60) <= 3
    assert -0.23 < drift.slope_per_day < -0.17 and drift.significant
    # 60 - 0.2 * (d - 60) = 50 on day 110: the trend line says so within a few days
    assert abs(drift.spec.day - 110) <= 5 and drift.spec.earliest <= drift.spec.day <= drift.spec.latest


def test_a_stable_series_has_no_change_point_and_no_significant_trend():
    days, values = _drifting(n=100, start=1000)
    assert change_points(days, values) == []
    drift = analyse(days, values, control=(54, 66), spec=(50, 70))
    assert not drift.significant


def test_too_few_values_say_nothing():
    assert analyse(np.arange(5.0), np.ones(5), spec=(0, 2)) is None


def _series(values, days=None):
    days = np.arange(float(len(values))) if days is None else days
    return Series("UV-09", "UV intensity", "mW/cm^2", 54, 66, 50, 70,
                  [T0 + timedelta(days=float(d)) for d in days], [float(v) for v in values])


def test_judge_alarms_when_the_trend_reaches_the_spec_limit_within_the_lead():
    days, values = _drifting(n=95)  # day 94: trend at 53.2, spec limit 50 on about day 110
    assert judge(_series(values)).status == "alarm"
    assert judge(_series(values), lead_days=7).status == "watch"  # control limit is near, spec 16 days away
    assert judge(_series(values[:70])).status == "ok"


def test_backtest_raises_the_alarm_before_the_first_out_of_spec_value_without_false_alarms():
    days, values = _drifting(n=130, seed=5, noise=0.8)
    result = backtest(_series(values))
    assert result.first_out_of_spec is not None and result.first_alarm is not None
    assert 7 <= result.lead_days <= 30 and result.false_alarms == 0
    stable = backtest(_series(_drifting(n=200, start=10_000, seed=11)[1]))
    assert stable.first_alarm is None and stable.false_alarms == 0 and stable.first_out_of_spec is None


def test_cli_on_the_demo_flags_the_drifting_station_with_its_lead(demo_db):
    app = make_app(demo_db)
    from web.cli import cli
    out = CliRunner().invoke(cli, ["maintenance", "forecast", "--json"], obj=ScriptInfo(create_app=lambda: app))
    assert out.exit_code == 0, out.output
    body = json.loads(out.output)
    od = next(f for f in body["forecasts"] if f["equipment"] == "EXT-01" and f["parameter"] == "Outer diameter")
    assert od["status"] == "out_of_spec" and od["slope_per_day"] > 0.0015 and od["change_point_at"]
    [test] = [t for t in body["backtest"] if t["equipment"] == "EXT-01"]
    assert test["lead_days"] >= 7 and test["false_alarms"] == 0 and test["first_alarm"] < test["first_out_of_spec"]
    text = CliRunner().invoke(cli, ["maintenance", "forecast"], obj=ScriptInfo(create_app=lambda: app))
    assert "days before the first out-of-spec value" in text.output and "OUT_OF_SPEC EXT-01" in text.output
    app.extensions["sealtrail.engine"].dispose()


def test_an_alarm_raises_one_maintenance_request_in_the_process_engineers_inbox(demo_db):
    from audit import SYSTEM
    from engine.maintenance.requests import raise_requests
    from engine.workflows import deploy_all_shipped, open_tasks

    days, values = _drifting(n=95)
    alarm = judge(_series(values))
    assert alarm.status == "alarm"
    quiet = judge(_series(values[:70]))
    with demo_db.sessions.begin() as s:
        assert raise_requests(s, SYSTEM, [alarm]) == []  # not deployed: nothing to start
        result = deploy_all_shipped(s, SYSTEM)
        assert not result.problems
        [instance] = raise_requests(s, SYSTEM, [alarm, quiet])
        assert instance.business_key == "UV-09/UV intensity"
        [task] = open_tasks(s, instance.id)
        assert task.spec_name == "perform_maintenance" and task.lane == "process_engineer"
        assert raise_requests(s, SYSTEM, [alarm]) == []  # one open request per equipment and parameter
