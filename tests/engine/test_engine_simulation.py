"""Simulation before deploy: the path a diagram takes in memory for chosen data, timers on a
simulated clock, failures named by element; nothing is written to the database."""
from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import func, select

from audit.models import AuditEntry
from engine.workflows import Document, ProcessInstance
from engine.workflows.simulation import example_data, simulate
from engine.workflows.specs import validate
from tests.engine.conftest import BPMN_DIR
from tests.engine.test_engine_validation import APPROVAL

NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.timezone.utc)
REQUEST = {"number": "CC-1", "amount": 150, "reason": "new supplier"}


def parsed(text: str, name: str = "t_approval"):
    result = validate([Document("sim.bpmn", text.encode())])
    assert result.ok, result.problems
    return result.processes[name]


def test_both_branches_of_the_gateway(session):
    p = parsed(APPROVAL)
    before = session.scalar(select(func.count()).select_from(AuditEntry))
    yes = simulate(p.spec, p.subprocess_specs, task_data={"ut_request": REQUEST, "ut_approve": {"approved": True}},
                   now=NOW)
    no = simulate(p.spec, p.subprocess_specs, task_data={"ut_request": REQUEST, "ut_approve": {"approved": False}},
                  now=NOW)
    assert yes.ok and [s.element_id for s in yes.path] == [
        "start", "ut_request", "st_key", "script_risk", "ut_approve", "gw_approved", "ut_ack", "end_done"]
    assert no.ok and [s.element_id for s in no.path][-2:] == ["gw_approved", "end_rejected"]
    steps = {s.element_id: s for s in yes.path}
    assert steps["ut_approve"].lane == "qa_manager" and steps["ut_request"].lane == "process_engineer"
    assert steps["script_risk"].data["risk"] == "high" and yes.data["risk"] == "high"
    assert "set_business_key simulated" in steps["st_key"].note and '"key": "CC-1"' in steps["st_key"].note
    # nothing was written: no instance, no audit entry
    assert session.scalar(select(func.count()).select_from(ProcessInstance)) == 0
    assert session.scalar(select(func.count()).select_from(AuditEntry)) == before


def test_form_examples_prefill_and_data_per_visit():
    schema = {"type": "object", "properties": {"a": {"type": "string", "examples": ["x"]},
                                               "b": {"type": "string", "enum": ["p", "q"]},
                                               "c": {"type": "integer", "default": 3},
                                               "ctx": {"type": "object", "readOnly": True}}}
    assert example_data(schema) == {"a": "x", "b": "p", "c": 3}
    loop = APPROVAL.replace('targetRef="end_rejected" />', 'targetRef="ut_approve" />', 1).replace(
        '<bpmn:flowNodeRef>end_rejected</bpmn:flowNodeRef>', '').replace(
        '<bpmn:endEvent id="end_rejected">\n      <bpmn:incoming>f_no</bpmn:incoming>\n    </bpmn:endEvent>', '')
    p = parsed(loop)
    run = simulate(p.spec, p.subprocess_specs, now=NOW,
                   task_data={"ut_request": REQUEST, "ut_approve": [{"approved": False}, {"approved": True}]})
    assert run.ok and [s.element_id for s in run.path].count("ut_approve") == 2
    endless = simulate(p.spec, p.subprocess_specs, now=NOW,
                       task_data={"ut_request": REQUEST, "ut_approve": {"approved": False}})
    assert endless.status == "failed" and endless.error_element == "ut_approve" and "25 times" in endless.error


def test_a_refused_script_fails_at_its_element():
    p = parsed(APPROVAL)
    bad = APPROVAL.replace("checks = [n * 2 for n in range(3)]", "checks = risk.__class__")
    result = validate([Document("sim.bpmn", bad.encode())])
    assert not result.ok and result.problems[0].element_id == "script_risk"
    failing = APPROVAL.replace("checks = [n * 2 for n in range(3)]", "checks = missing_value + 1")
    p = parsed(failing)
    run = simulate(p.spec, p.subprocess_specs, task_data={"ut_request": REQUEST}, now=NOW)
    assert run.status == "failed" and run.error_element == "script_risk" and "missing_value" in run.error


def test_timers_are_due_on_the_simulated_clock():
    p = parsed((BPMN_DIR / "timers.bpmn").read_text(), "t_timers")
    run = simulate(p.spec, p.subprocess_specs, start_data={"check_days": 30}, now=NOW)
    assert run.ok, run.error
    [wait] = [t for t in run.timers if t["element_id"] == "wait_30d"]
    assert wait["value"] == "P30D" and wait["due"] == "2026-04-01T09:00:00+00:00"
    assert [s.element_id for s in run.path][-2:] == ["ut_effectiveness", "end_done"]


def test_a_timer_already_due_on_the_wall_clock_is_reported_too():
    # SpiffWorkflow fires a date timer in the past (by the machine's clock) by itself; the run
    # still reports it with its due time
    text = (BPMN_DIR / "timers.bpmn").read_text().replace(
        '<bpmn:timeDuration xsi:type="bpmn:tFormalExpression" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        'f"P{check_days}D"</bpmn:timeDuration>',
        '<bpmn:timeDate xsi:type="bpmn:tFormalExpression" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        '"2001-01-02T00:00:00+00:00"</bpmn:timeDate>')
    assert "2001-01-02" in text
    p = parsed(text, "t_timers")
    run = simulate(p.spec, p.subprocess_specs, start_data={"check_days": 30}, now=NOW)
    assert run.ok, run.error
    [wait] = [t for t in run.timers if t["element_id"] == "wait_30d"]
    assert wait["due"] == "2001-01-02T00:00:00+00:00"


def test_cli_simulates_the_shipped_deviation_to_its_end(run_cli):
    from engine.workflows.deploy import shipped_bpmn_dir

    path = str(shipped_bpmn_dir() / "deviation.bpmn")
    start = '{"deviation_id": 7, "severity": null, "patient_safety_impact": null, "product_risk_class": "II"}'
    out = run_cli(["bpmn", "simulate", path, "--data", start,
                   "--task", 'approve_deviation={"deviation_decision": "approve"}'])
    assert out.exit_code == 0, out.output
    assert "path: deviation_start → gw_severity_known → triage_deviation → classify_deviation" in out.output
    assert "completed at deviation_closed" in out.output
    as_json = run_cli(["bpmn", "simulate", path, "--json", "--data", start, "--task",
                       'triage_deviation={"severity": 4, "patient_safety_impact": true, "triage_rationale": "x", '
                       '"affected_lots": []}', "--task", 'open_capa={"id": 3}'])
    body = json.loads(as_json.output)
    # the class table (bpmn/deviation_class.dmn) makes it critical, so into the called CAPA process,
    # until a timer reads a service result the run did not choose
    assert body["data"]["decisions"]["deviation_class"]["rules"] == ["rule_critical_safety"]
    assert body["path"][body["path"].index("hand_over_to_capa") + 1] == "capa_start"
    assert body["status"] == "failed" and body["error_element"] == "capa_actions_overdue"
    assert "due_at" in body["error"] and as_json.exit_code == 1
    failed = run_cli(["bpmn", "simulate", path])
    assert failed.exit_code == 1 and "failed at gw_severity_known" in failed.output  # no start data
