"""CAPA end to end: source → root cause → plan → approval → implementation → timer → closure."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from audit import Actor
from engine.processes.models import Capa
from engine.workflows import fire_timers, get_instance, start_instance
from tests.processes.conftest import Quality
from web.cli.worker import run_due_timers

import pytest


def utc_today():
    """Today in UTC, as the engine dates records (never the machine's local date)."""
    return datetime.now(timezone.utc).date()


WORKER = Actor(kind="system", id="worker", name="Sealtrail timer worker")


def _to_implementation(quality, *, effectiveness_days=30, due_in_days=14):
    iid = start_instance(quality.session, quality.actor("qa_zhao"), "capa", user=quality.user("qa_zhao")).id
    quality.complete(iid, "describe_capa", "qa_zhao", {
        "capa_source": {"type": "complaint", "reference": "CMP-2026-017"},
        "capa_problem_statement": "two complaints of loose connectors", "capa_effectiveness_days": effectiveness_days})
    quality.complete(iid, "analyse_capa_root_cause", "pe_wang", {
        "capa_five_whys": ["connector loose", "press force low", "die worn", "no wear check", "PM plan gap"],
        "capa_fishbone": {"man": "", "machine": "worn die", "material": "", "method": "no wear check",
                          "measurement": "", "environment": ""},
        "capa_root_cause": "die wear not in the PM plan"})
    plan = {"capa_actions": [
        {"kind": "corrective", "description": "replace die", "owner": "pe_wang",
         "due_date": (utc_today() + timedelta(days=due_in_days)).isoformat()},
        {"kind": "preventive", "description": "add die wear to PM", "owner": "pm_liu",
         "due_date": (utc_today() + timedelta(days=due_in_days - 4)).isoformat()}]}
    quality.complete(iid, "plan_capa_actions", "pe_wang", plan)
    quality.complete(iid, "approve_capa_plan", "qm_chen", {"capa_plan_decision": "reject",
                                                           "capa_plan_comment": "add a verification of the die"})
    assert set(quality.tasks(iid)) == {"plan_capa_actions"}  # rejection loop
    quality.complete(iid, "plan_capa_actions", "pe_wang", plan)
    quality.complete(iid, "approve_capa_plan", "qm_chen", {"capa_plan_decision": "approve", "capa_plan_comment": ""})
    assert set(quality.tasks(iid)) == {"implement_capa_actions"}
    return iid


def _implement(quality, iid):
    quality.complete(iid, "implement_capa_actions", "pe_wang", {"capa_action_results": [
        {"action": 1, "completed": True, "evidence": "die replaced, WO-1201"},
        {"action": 2, "completed": True, "evidence": "PM plan rev C"}]})


@pytest.mark.requirement("ISO13485-8.5.2")
def test_overdue_actions_escalate_to_the_qa_manager(quality):
    s = quality.session
    iid = _to_implementation(quality, due_in_days=14)
    instance = get_instance(s, iid)
    now = datetime.now(timezone.utc)
    assert fire_timers(s, WORKER, instance, now + timedelta(days=1)) == []
    assert fire_timers(s, WORKER, instance, now + timedelta(days=16)) == ["capa_actions_overdue"]
    assert set(quality.tasks(iid)) == {"escalate_overdue_capa"}
    assert quality.tasks(iid)["escalate_overdue_capa"].lane == "qa_manager"
    quality.complete(iid, "escalate_overdue_capa", "qm_chen", {
        "capa_new_due_date": (utc_today() + timedelta(days=30)).isoformat(),
        "capa_escalation_note": "die on back-order; finish by month end"})
    assert set(quality.tasks(iid)) == {"implement_capa_actions"}
    capa = s.query(Capa).one()
    assert capa.escalations == 1 and capa.due_on == utc_today() + timedelta(days=30)


@pytest.mark.requirement("ISO13485-8.5.2")
def test_effectiveness_timer_fires_through_the_worker_then_reopen_and_close(fresh_db):
    with fresh_db.sessions.begin() as s:
        quality = Quality(s)
        iid = _to_implementation(quality, effectiveness_days=30)
        _implement(quality, iid)
        assert quality.tasks(iid) == {}  # waiting for the effectiveness period
    now = datetime.now(timezone.utc)
    assert run_due_timers(fresh_db.sessions, WORKER, now=now + timedelta(days=29))["fired"] == 0
    stats = run_due_timers(fresh_db.sessions, WORKER, now=now + timedelta(days=31))
    assert stats == {"fired": 1, "failed": 0, "instances": 1}
    with fresh_db.sessions.begin() as s:
        quality.rebind(s)
        assert set(quality.tasks(iid)) == {"check_capa_effectiveness"}
        quality.complete(iid, "check_capa_effectiveness", "qa_zhao", {
            "capa_effective": "not_effective", "capa_effectiveness_evidence": "one more complaint in week 3"})
        quality.complete(iid, "decide_capa_closure", "qm_chen", {"capa_closure_decision": "reopen",
                                                                 "capa_closure_comment": "analyse again"})
        assert set(quality.tasks(iid)) == {"analyse_capa_root_cause"}
        assert s.query(Capa).one().reopened == 1


@pytest.mark.requirement("ISO13485-8.5.2")
def test_effective_capa_closes(quality):
    s = quality.session
    iid = _to_implementation(quality, effectiveness_days=7)
    _implement(quality, iid)
    fired = fire_timers(s, WORKER, get_instance(s, iid), datetime.now(timezone.utc) + timedelta(days=8))
    assert fired == ["wait_capa_effectiveness"]
    quality.complete(iid, "check_capa_effectiveness", "qa_zhao", {
        "capa_effective": "effective", "capa_effectiveness_evidence": "no complaints in 7 days, 12 lots"})
    quality.complete(iid, "decide_capa_closure", "qm_chen", {"capa_closure_decision": "close",
                                                             "capa_closure_comment": "effective"})
    capa = s.query(Capa).one()
    assert capa.status == "closed" and capa.effective
    assert get_instance(s, iid).status == "completed"
