"""Deviation end to end: raise, triage, hold, investigate, disposition, approve (or reject), close."""
from __future__ import annotations

import pytest

from engine.errors import RuleViolation
from engine.processes.deviations import open_deviation
from engine.processes.holds import active_holds
from engine.processes.release import request_release


@pytest.mark.requirement("ISO13485-8.3")
def test_deviation_happy_path_holds_then_releases_per_disposition(quality):
    plant, s = quality.plant, quality.session
    dev = open_deviation(s, quality.actor("op_li"), lot="P-001", parameter=plant.params["press_force"],
                         value=121.0, source="measurement", description="press force above USL")
    iid = dev.process_instance_id
    assert set(quality.tasks(iid)) == {"triage_deviation"}
    from engine.workflows import get_instance, workflow_data

    chart = workflow_data(s, get_instance(s, iid))["measurement_chart"]
    assert (chart["parameter"], chart["lsl"], chart["usl"]) == ("press_force", 90, 110)
    assert [(p["lot"], p["value"], p["in_spec"]) for p in chart["points"]] == [("P-001", 101.5, True)]
    quality.complete(iid, "triage_deviation", "qa_zhao", {
        "severity": 3, "patient_safety_impact": False, "triage_rationale": "critical parameter out of spec",
        "affected_lots": ["P-001"]})
    assert plant.lots["P-001"].status == "on_hold"
    from sqlalchemy import select

    from audit.models import AuditEntry
    contained = s.scalars(select(AuditEntry).where(AuditEntry.action == "deviation.contained")).one()
    decided = contained.after_value["classification_decision"]  # class III product, severity 3
    assert (contained.after_value["classification"], decided["rules"], decided["version"]) == (
        "major", ["rule_major_moderate"], 1)
    assert decided["inputs"]["Product risk class / 产品风险等级"] == "III"
    from engine.workflows import instance_history

    taken = [h["detail"] for h in instance_history(s, iid) if h["kind"] == "decision"]
    assert [(d["task"], d["rules"]) for d in taken] == [("classify_deviation", ["rule_major_moderate"])]
    quality.complete(iid, "investigate_deviation", "pe_wang", {
        "investigation_summary": "press drifted", "root_cause": "worn die", "root_cause_category": "machine"})
    quality.complete(iid, "disposition_lots", "qa_zhao", {
        "dispositions": [{"lot_number": "P-001", "disposition": "use_as_is", "justification": "retested OK",
                          "rework_instructions": ""}], "capa_required": False})
    quality.complete(iid, "approve_deviation", "qm_chen", {"deviation_decision": "approve", "deviation_comment": ""})
    s.refresh(dev)
    assert dev.status == "closed"
    assert plant.lots["P-001"].status == "completed"
    assert active_holds(s, plant.lots["P-001"]) == []
    assert quality.tasks(iid) == {}


# The plant's product is class III: severity 3 is major, severity 4 critical (bpmn/deviation_class.dmn).
SEVERITY = {"major": 3, "critical": 4}


def _raise(quality, lot="P-001", classification="major"):
    dev = open_deviation(quality.session, quality.actor("op_li"), lot=lot, source="user",
                         description="label misprint")
    iid = dev.process_instance_id
    quality.complete(iid, "triage_deviation", "qa_zhao", {
        "severity": SEVERITY[classification], "patient_safety_impact": False, "triage_rationale": "check the lot",
        "affected_lots": [lot]})
    return dev, iid


def _investigate_and_dispose(quality, iid, disposition="use_as_is", capa=False, lot="P-001"):
    quality.complete(iid, "investigate_deviation", "pe_wang", {
        "investigation_summary": "printer ribbon", "root_cause": "ribbon worn", "root_cause_category": "machine"})
    quality.complete(iid, "disposition_lots", "qa_zhao", {
        "dispositions": [{"lot_number": lot, "disposition": disposition, "justification": "assessed",
                          "rework_instructions": "relabel all units" if disposition == "rework" else ""}],
        "capa_required": capa})


@pytest.mark.requirement("ISO13485-8.3")
def test_rejected_disposition_loops_back_to_investigation(quality):
    dev, iid = _raise(quality)
    _investigate_and_dispose(quality, iid)
    quality.complete(iid, "approve_deviation", "qm_chen",
                     {"deviation_decision": "reject", "deviation_comment": "investigate the printer settings too"})
    assert set(quality.tasks(iid)) == {"investigate_deviation"}
    assert quality.plant.lots["P-001"].status == "on_hold"  # still contained
    _investigate_and_dispose(quality, iid, disposition="rework")
    quality.complete(iid, "approve_deviation", "qm_chen", {"deviation_decision": "approve", "deviation_comment": ""})
    quality.session.refresh(dev)
    assert dev.status == "closed"
    assert quality.plant.lots["P-001"].status == "in_process"  # rework sends it back to production
    from sqlalchemy import select

    from audit.models import AuditEntry
    rework = quality.session.scalars(select(AuditEntry).where(AuditEntry.action == "lot.rework_recorded")).all()
    assert [(e.object_id, e.after_value["instructions"]) for e in rework] == [("P-001", "relabel all units")]


@pytest.mark.requirement("ISO13485-8.3")
def test_approver_cannot_be_the_investigator(quality):
    from engine.errors import Forbidden
    from engine.users.models import UserRole

    _, iid = _raise(quality)
    quality.user("pe_wang").role_rows.append(UserRole(role="qa_manager"))
    quality.session.flush()
    _investigate_and_dispose(quality, iid)
    with pytest.raises(Forbidden, match="segregation of duties"):
        quality.complete(iid, "approve_deviation", "pe_wang", {"deviation_decision": "approve",
                                                                "deviation_comment": ""})


@pytest.mark.requirement("ISO13485-8.3")
def test_held_lot_cannot_be_released_until_its_disposition(quality):
    s, lot = quality.session, quality.plant.lots["P-001"]
    release = request_release(s, quality.actor("qa_zhao"), lot)
    review = quality.tasks(release.id)["review_release_exceptions"]
    assert review is not None
    quality.complete(release.id, "review_release_exceptions", "qa_zhao",
                     {"exception_dispositions": [], "review_comment": "no exceptions"})
    dev, dev_iid = _raise(quality)  # the lot goes on hold while the release decision is pending
    with pytest.raises(RuleViolation, match="on hold"):
        with s.begin_nested():
            quality.complete(release.id, "decide_lot_release", "qm_chen",
                             {"release_decision": "release", "release_comment": ""})
    assert lot.status == "on_hold"
    _investigate_and_dispose(quality, dev_iid)
    quality.complete(dev_iid, "approve_deviation", "qm_chen", {"deviation_decision": "approve",
                                                               "deviation_comment": ""})
    assert lot.status == "completed"
    quality.complete(release.id, "decide_lot_release", "qm_chen",
                     {"release_decision": "release", "release_comment": ""})
    assert lot.status == "released"


@pytest.mark.requirement("ISO13485-8.3")
def test_critical_deviation_calls_capa_before_closing(quality):
    dev, iid = _raise(quality, classification="critical")
    _investigate_and_dispose(quality, iid, disposition="scrap", capa=False)  # CAPA is mandatory anyway
    quality.complete(iid, "approve_deviation", "qm_chen", {"deviation_decision": "approve", "deviation_comment": ""})
    assert set(quality.tasks(iid)) == {"describe_capa"}
    from engine.workflows import workflow_data
    from engine.workflows.instances import get_instance

    data = workflow_data(quality.session, get_instance(quality.session, iid))
    assert data["capa_source"]["reference"] == dev.number
    quality.session.refresh(dev)
    assert dev.status == "dispositioned" and quality.plant.lots["P-001"].status == "on_hold"
