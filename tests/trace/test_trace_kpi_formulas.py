"""KPI formulas on a hand-built plant whose answers were worked out on paper."""
import datetime as dt

import pytest

from engine.trace import kpi, svg

T0 = dt.datetime(2026, 11, 1, 8, 0)


def h(hours):
    return T0 + dt.timedelta(hours=hours)


LOTS = [  # 4 decided: 3 released, 1 rejected; 1 still in process
    {"id": 1, "status": "released", "qty_made": 100, "qty_approved": 100, "operations": 6},
    {"id": 2, "status": "released", "qty_made": 100, "qty_approved": 90, "operations": 7, "reworked": True},
    {"id": 3, "status": "released", "qty_made": 200, "qty_approved": 200, "operations": 6, "deviations": 1},
    {"id": 4, "status": "rejected", "qty_made": 100, "qty_approved": 0, "operations": 6},
    {"id": 5, "status": "in_process", "qty_made": 50, "operations": 2},
]


def test_batch_pass_rate_and_first_pass_yield():
    assert kpi.batch_pass_rate(LOTS).as_dict() == {
        "value": 75.0, "numerator": 3, "denominator": 4, "unit": "%", "records": [1, 2, 3]}
    fpy = kpi.first_pass_yield(LOTS)  # lot 2 reworked, lot 3 deviated, lot 4 rejected
    assert (fpy.value, fpy.records) == (25.0, [1])


def test_rework_and_scrap():
    assert kpi.rework_rate(LOTS).value == pytest.approx(20.0)  # 1 of 5 lots that ran operations
    scrap = kpi.scrap_rate(LOTS)  # made 500, approved 390 -> 110 / 500
    assert scrap.value == pytest.approx(22.0) and scrap.records == [2, 4]


def test_empty_population_is_none_not_zero():
    assert kpi.batch_pass_rate([]).value is None
    assert kpi.scrap_rate([{"id": 9, "status": "planned"}]).value is None
    assert kpi.median_lead_time([]).value is None


def test_counts_lead_time_and_capa_on_time():
    devs = [{"id": 1, "category": "equipment", "operation": "Bonding"},
            {"id": 2, "category": "process", "operation": "Bonding"},
            {"id": 3, "category": "equipment", "operation": "Leak test"}]
    by_cat = kpi.count_by(devs, "category")
    assert list(by_cat) == ["equipment", "process"] and by_cat["equipment"].records == [1, 3]
    assert kpi.count_by(devs, "operation")["Bonding"].value == 2
    crs = [{"id": 1, "opened_at": h(0), "closed_at": h(48)}, {"id": 2, "opened_at": h(0), "closed_at": h(24 * 5)},
           {"id": 3, "opened_at": h(0), "closed_at": h(24 * 10)}, {"id": 4, "opened_at": h(0)}]
    assert kpi.median_lead_time(crs).value == pytest.approx(5.0)
    capas = [{"id": 1, "due_at": h(100), "closed_at": h(90)},    # on time
             {"id": 2, "due_at": h(100), "closed_at": h(110)},   # late
             {"id": 3, "due_at": h(10)},                          # open, overdue
             {"id": 4, "due_at": h(1000)}]                        # open, not yet due: not counted
    closure = kpi.on_time_closure(capas, as_of=h(200))
    assert (closure.numerator, closure.denominator) == (1, 3)


def test_completeness_and_overdue_tasks():
    lots = [{"id": 1, "status": "released"}, {"id": 2, "status": "completed", "signatures_missing": 1},
            {"id": 3, "status": "rejected", "measurements_missing": 2}, {"id": 4, "status": "in_process"}]
    assert kpi.completeness(lots).value == pytest.approx(100 / 3)
    tasks = [{"id": 1, "role": "qa_manager", "due_at": h(1)}, {"id": 2, "role": "qa_manager", "due_at": h(2)},
             {"id": 3, "role": "operator", "due_at": h(2), "completed_at": h(3)},
             {"id": 4, "role": "operator", "due_at": h(500)}]
    assert {k: f.value for k, f in kpi.overdue_by_role(tasks, as_of=h(10)).items()} == {"qa_manager": 2}


def test_data_integrity_figures():
    recs = [{"id": 1, "occurred_at": h(0), "recorded_at": h(0.5), "corrections": 0},
            {"id": 2, "occurred_at": h(0), "recorded_at": h(1), "corrections": 2},
            {"id": 3, "occurred_at": h(0), "recorded_at": h(30), "corrections": 0},
            {"id": 4, "occurred_at": h(0), "recorded_at": h(2), "corrections": 1}]
    delay = kpi.entry_delay(recs)
    assert delay["median_minutes"].value == pytest.approx(90.0)
    assert delay["back_entries"].records == [3]
    corr = kpi.corrections(recs)
    assert corr["per_record"].value == pytest.approx(0.75) and corr["right_first_time"].value == 50.0
    sigs = [{"ready_at": h(0), "signed_at": h(1)}, {"ready_at": h(0), "signed_at": h(3)},
            {"ready_at": h(0), "signed_at": h(8)}]
    assert kpi.signature_latency(sigs).value == pytest.approx(3.0)


def test_individuals_chart_limits_and_signals():
    values = [10.0, 12.0, 11.0, 13.0, 12.0]  # MRs 2,1,2,1 -> MR-bar 1.5, sigma 1.5/1.128
    lim = kpi.individuals_limits(values)
    assert lim.center == pytest.approx(11.6)
    assert lim.ucl == pytest.approx(11.6 + 3 * 1.5 / 1.128)
    assert lim.out_of_control == []
    drifted = [5.0, 5.1, 4.9, 5.0, 5.2, 4.8, 5.0, 5.1, 9.0]
    assert 8 in kpi.individuals_limits(drifted).out_of_control
    run = [1.0, 1.1, 1.2, 1.1, 1.3, 1.2, 1.1, 1.2, 1.1, 0.1, 0.0, 0.2]
    assert kpi.individuals_limits(run).out_of_control[:9] == list(range(9))  # 9 above the centre
    assert kpi.individuals_limits([3.0]) is None


def test_xbar_chart_uses_a2():
    groups = [[1.0, 2.0, 3.0], [2.0, 3.0, 4.0], [1.5, 2.5, 3.5]]  # means 2,3,2.5; R=2
    lim = kpi.xbar_limits(groups)
    assert lim.center == pytest.approx(2.5) and lim.ucl == pytest.approx(2.5 + 1.023 * 2)
    assert kpi.xbar_limits([[1.0, 2.0], [1.0]]) is None


def test_svg_charts_escape_labels_and_link_records():
    out = svg.bar_chart([svg.Bar("<script>", 3, "/lots/1?a=1&b=2")], title="Deviations & CAPA")
    assert "<script>" not in out and "&lt;script&gt;" in out and 'href="/lots/1?a=1&amp;b=2"' in out
    chart = svg.control_chart([svg.Point("L1", 1.0), svg.Point("L2", 5.0, "/x", True)], title="t",
                              center=2.0, ucl=4.0, lcl=0.0, usl=6.0)
    assert chart.count('class="flagged"') == 1 and "UCL 4" in chart and "USL 6" in chart
    assert "no data" in svg.control_chart([], title="empty")
