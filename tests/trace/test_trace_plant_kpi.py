"""The plant KPIs of #17 with known answers, the report, the page and the CLI."""
from __future__ import annotations

import datetime as dt
import json

from click.testing import CliRunner
from flask.cli import ScriptInfo

from engine.trace import plant_kpi as pk
from engine.trace.kpi_report import kpi_report
from tests.web.conftest import make_app, make_persona, sign_in

UTC = dt.timezone.utc
D = lambda day, hour=12: dt.datetime(2026, 3, day, hour, tzinfo=UTC)  # noqa: E731


def test_plan_achievement_counts_lots_completed_by_their_planned_end_among_those_due():
    planned = [{"id": "A", "planned_end": D(5), "completed_at": D(5, 10)},   # on plan
               {"id": "B", "planned_end": D(5), "completed_at": D(6)},       # late
               {"id": "C", "planned_end": D(6), "completed_at": None},       # due, not done
               {"id": "D", "planned_end": D(20), "completed_at": None}]      # not due yet
    f = pk.plan_achievement(planned, as_of=D(10))
    assert (f.value, f.numerator, f.denominator, f.records) == (100 / 3, 1, 3, ["A"])
    assert pk.plan_achievement([], as_of=D(10)).value is None


def test_release_lead_time_wip_takt_training_findings_calibration_and_tooling():
    lead = pk.release_lead_time([{"id": "A", "completed_at": D(1), "released_at": D(3)},
                                 {"id": "B", "completed_at": D(1), "released_at": D(9)},
                                 {"id": "C", "completed_at": D(1), "released_at": D(5)}])
    assert lead.value == 4 and lead.records == ["A", "B", "C"]
    wip = pk.wip_by_work_centre([{"id": "L1", "work_centre": "QC"}, {"id": "L2", "work_centre": "QC"},
                                 {"id": "L3", "work_centre": "Pack"}])
    assert {k: (f.value, f.records) for k, f in wip.items()} == {"QC": (2, ["L1", "L2"]), "Pack": (1, ["L3"])}
    takt = pk.takt_by_work_centre([{"id": "x", "work_centre": "QC"}] * 4, D(1, 0), D(2, 0))
    assert takt["QC"].value == 1440 / 4
    rate = pk.training_pass_rate([{"id": "a", "result": "pass"}, {"id": "b", "result": "fail"},
                                  {"id": "c", "result": "pass"}, {"id": "d", "result": "pass"}])
    assert rate.value == 75
    found = pk.findings_closure([{"id": "r1#4", "recorded_at": D(1), "closed_at": D(4)},
                                 {"id": "r1#9", "recorded_at": D(1), "closed_at": None}])
    assert found["findings"].value == 2 and found["closure_days"].value == 3
    cal = pk.calibration_on_time([{"id": "E1", "performed_on": dt.date(2026, 3, 1), "due_on": dt.date(2026, 3, 2)},
                                  {"id": "E2", "performed_on": dt.date(2026, 3, 9), "due_on": dt.date(2026, 3, 2)}],
                                 overdue=["LT-01"])
    assert (cal.numerator, cal.denominator, cal.records) == (1, 3, ["E1"])
    assert pk.tooling_life([{"id": "DIE", "used": 250, "life": 1000}])["DIE"].value == 25


def test_demo_report_page_and_cli_show_the_plant_figures(demo_db):
    start, end = dt.datetime(2000, 1, 1, tzinfo=UTC), dt.datetime(2100, 1, 1, tzinfo=UTC)
    with demo_db.sessions() as s:
        plant = kpi_report(s, start, end)["plant"]
    assert plant["overdue_training"]["records"] == ["li.na:SOP-001 rev B"]
    assert "zhang.wei:SOP-001 rev B" in plant["training_pass_rate"]["records"]
    assert "LT-01" not in plant["calibration_on_time"]["records"] and plant["calibration_on_time"]["denominator"] > \
        plant["calibration_on_time"]["numerator"]  # LT-01 is overdue: counted, not on time
    assert set(plant["tooling_life_consumed"]) == {"DIE-T30", "FIX-ASM-01"}
    assert "IS200-2609-001" in plant["release_lead_time_days"]["records"]
    app = make_app(demo_db)
    client = app.test_client()
    assert sign_in(client, make_persona(demo_db, "qa")).status_code == 302
    html = client.get("/trace/kpi?from=2000-01-01&to=2100-01-01").get_data(as_text=True)
    assert 'id="kpi-plant"' in html and 'data-figure="overdue_training"' in html
    assert 'data-figure="tooling_life_consumed.DIE-T30"' in html
    period = "from=2000-01-01&to=2100-01-01"
    # Each figure's count drills down to its records: the overdue operator and SOP revision…
    overdue = client.get(f"/trace/kpi/records?section=plant&figure=overdue_training&{period}")
    assert overdue.status_code == 200 and "li.na:SOP-001 rev B" in overdue.get_data(as_text=True)
    # …and the release lead time's lots, each linking to its DHR.
    released = client.get(f"/trace/kpi/records?section=plant&figure=release_lead_time_days&{period}")
    assert 'href="/trace/dhr/IS200-2609-001"' in released.get_data(as_text=True)
    from web.cli import cli
    out = CliRunner().invoke(cli, ["kpi", "--from", "2000-01-01", "--to", "2100-01-01"],
                             obj=ScriptInfo(create_app=lambda: app))
    assert out.exit_code == 0 and json.loads(out.output)["plant"]["overdue_training"]["value"] == 1
    app.extensions["sealtrail.engine"].dispose()
