"""Change control end to end: request → impact → risk → approvals → release → verification."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from audit.models import AuditEntry
from engine.errors import Forbidden, ValidationFailed
from engine.masterdata.revisions import new_draft
from engine.masterdata.routings import update_parameter
from engine.processes.changes import find_change_for_instance
from engine.production.lots import plan_lot, start_lot
from engine.users.models import UserRole
from engine.workflows import fire_timers, get_instance, start_instance


def utc_today():
    """Today in UTC, as the engine dates records (never the machine's local date)."""
    return datetime.now(timezone.utc).date()


def _draft_routing(quality):
    rev = new_draft(quality.session, quality.actor("pe_wang"), quality.plant.routing,
                    change_summary="tighter press force window")
    param = next(p for op in rev.operations if op.code == "ASSY" for p in op.parameters)
    update_parameter(quality.session, quality.actor("pe_wang"), param, lsl=95.0, usl=105.0,
                     reason="capability study")
    return rev


def _start(quality):
    instance = start_instance(quality.session, quality.actor("pe_wang"), "change_control",
                              user=quality.user("pe_wang"))
    return instance.id


def _submit(quality, iid, action="submit"):
    quality.complete(iid, "submit_change", "pe_wang", {
        "change_title": "Tighten press force", "change_description": "press_force 95–105 N",
        "change_reason": "field returns: loose connectors", "change_urgency": "routine",
        "changed_revisions": [{"kind": "routing", "code": "RT-PUMP", "label": "B"}], "changed_objects": [],
        "effective_from": utc_today().isoformat(), "change_action": action, "change_comment": ""})


def _assess(quality, iid, who="pe_xu"):
    quality.complete(iid, "assess_change", who, {
        "risk_level": "medium", "risk_assessment": "narrower window, same equipment",
        "validation_required": True, "validation_plan": "OQ at 95 and 105 N",
        "regulatory_notification_required": True, "flag_override_justification": ""})


def _approve(quality, iid, qa="approve"):
    quality.complete(iid, "approve_change_qa", "qm_chen", {
        "qa_decision": qa, "qa_comment": "" if qa == "approve" else "validation plan too thin"})
    quality.complete(iid, "approve_change_production", "pm_liu", {"production_decision": "approve",
                                                                   "production_comment": ""})
    quality.complete(iid, "approve_change_regulatory", "ra_sun", {
        "regulatory_decision": "approve", "regulatory_comment": "", "regulatory_notification_plan": "NMPA filing"})


@pytest.mark.requirement("ISO13485-7.3.9")
def test_change_happy_path_releases_for_new_lots_while_running_lots_keep_theirs(quality):
    s, plant = quality.session, quality.plant
    draft = _draft_routing(quality)
    iid = _start(quality)
    _submit(quality, iid)
    change = find_change_for_instance(s, iid)
    assert draft.state == "in_review" and draft.change_ref == change.number
    assert [lot["lot_number"] for lot in change.impact["lots"]] == ["P-002", "P-003"]
    assert change.flags["validation_required"] and change.flags["regulatory_notification_required"]
    _assess(quality, iid)
    assert set(quality.tasks(iid)) == {"approve_change_qa", "approve_change_production", "approve_change_regulatory"}
    _approve(quality, iid)
    quality.complete(iid, "confirm_change_implementation", "pe_wang", {
        "effective_from": utc_today().isoformat(), "training_completed": True, "implementation_notes": "OQ done"})
    old = plant.routing_rev
    s.refresh(draft)
    s.refresh(old)
    assert (draft.state, old.state) == ("released", "obsolete")
    assert plant.lots["P-002"].routing_revision_id == old.id  # a running lot keeps the revision it started on
    new_lot = start_lot(s, quality.actor("pm_liu"), plan_lot(s, quality.actor("pm_liu"), lot_number="P-010",
                                                             quantity=5, product=plant.product))
    assert new_lot.routing_revision_id == draft.id  # new lots use the released revision
    quality.complete(iid, "verify_change_effectiveness", "qa_zhao", {
        "verification_result": "effective", "verification_notes": "no loose connectors in 3 lots"})
    s.refresh(change)
    assert change.status == "closed" and quality.tasks(iid) == {}


@pytest.mark.requirement("ISO13485-7.3.9")
def test_rejected_change_releases_nothing_and_returns_to_requester(quality):
    s = quality.session
    draft = _draft_routing(quality)
    iid = _start(quality)
    _submit(quality, iid)
    _assess(quality, iid)
    _approve(quality, iid, qa="reject")
    assert set(quality.tasks(iid)) == {"submit_change"}
    s.refresh(draft)
    assert draft.state == "draft"  # back to its author for rework
    assert quality.plant.routing_rev.state == "released"
    change = find_change_for_instance(s, iid)
    assert (change.status, change.rejections) == ("rejected", 1)
    _submit(quality, iid)  # resubmitted unchanged: impact recomputed, approvals asked again
    _assess(quality, iid)
    assert set(quality.tasks(iid)) == {"approve_change_qa", "approve_change_production", "approve_change_regulatory"}


@pytest.mark.requirement("ISO13485-7.3.9")
def test_withdrawn_change_releases_nothing(quality):
    s = quality.session
    draft = _draft_routing(quality)
    iid = _start(quality)
    _submit(quality, iid)
    _assess(quality, iid)
    _approve(quality, iid, qa="reject")
    _submit(quality, iid, action="withdraw")
    change = find_change_for_instance(s, iid)
    s.refresh(draft)
    assert change.status == "withdrawn" and quality.tasks(iid) == {}
    assert draft.state == "draft" and quality.plant.routing_rev.state == "released"


@pytest.mark.requirement("ISO13485-7.3.9")
def test_requester_cannot_approve_own_change(quality):
    from engine.users.models import UserRole

    quality.user("pe_wang").role_rows.append(UserRole(role="qa_manager"))
    quality.session.flush()
    _draft_routing(quality)
    iid = _start(quality)
    _submit(quality, iid)
    _assess(quality, iid)
    with pytest.raises(Forbidden, match="segregation of duties"):
        quality.complete(iid, "approve_change_qa", "pe_wang", {"qa_decision": "approve", "qa_comment": ""})


@pytest.mark.requirement("21CFR11.10(g)")
def test_the_author_cannot_review_the_risk_of_their_own_change(quality):
    """Issue #20, item 11: the author of CC-… signed its assess_change as "reviewed". No more."""
    _draft_routing(quality)
    iid = _start(quality)
    _submit(quality, iid)
    with pytest.raises(Forbidden, match="segregation of duties"):
        _assess(quality, iid, who="pe_wang")
    _assess(quality, iid, who="pe_xu")
    with pytest.raises(Forbidden, match="segregation of duties"):  # the reviewer may not approve either
        quality.user("pe_xu").role_rows.append(UserRole(role="qa_manager"))
        quality.session.flush()
        quality.complete(iid, "approve_change_qa", "pe_xu", {"qa_decision": "approve", "qa_comment": ""})


@pytest.mark.requirement("ISO13485-7.3.9")
def test_future_effective_date_waits_for_the_timer(quality):
    s = quality.session
    draft = _draft_routing(quality)
    iid = _start(quality)
    _submit(quality, iid)
    _assess(quality, iid)
    _approve(quality, iid)
    later = utc_today() + timedelta(days=10)
    quality.complete(iid, "confirm_change_implementation", "pe_wang", {
        "effective_from": later.isoformat(), "training_completed": True, "implementation_notes": ""})
    s.refresh(draft)
    assert draft.state == "in_review" and quality.tasks(iid) == {}
    instance = get_instance(s, iid)
    assert fire_timers(s, quality.actor("qm_chen"), instance, datetime.now(timezone.utc)) == []
    due = datetime(later.year, later.month, later.day, 0, 1, tzinfo=timezone.utc)
    assert fire_timers(s, quality.actor("qm_chen"), instance, due) == ["wait_until_effective"]
    s.refresh(draft)
    assert draft.state == "released"
    assert set(quality.tasks(iid)) == {"verify_change_effectiveness"}


@pytest.mark.requirement("ISO13485-7.3.9")
def test_overriding_a_computed_flag_needs_a_written_justification(quality):
    s = quality.session
    _draft_routing(quality)
    iid = _start(quality)
    _submit(quality, iid)
    change = find_change_for_instance(s, iid)
    assert change.flags["regulatory_notification_required"]
    untick = {"risk_level": "medium", "risk_assessment": "narrower window, same equipment",
              "validation_required": True, "validation_plan": "OQ at 95 and 105 N",
              "regulatory_notification_required": False, "flag_override_justification": "  "}
    with pytest.raises(ValidationFailed, match="regulatory_notification_required") as refused:
        with s.begin_nested():
            quality.complete(iid, "assess_change", "pe_xu", untick)
    assert refused.value.field == "flag_override_justification"
    assert set(quality.tasks(iid)) == {"assess_change"}  # nothing recorded, the task still waits
    why = "tightening only; NMPA guidance 2021-xx: no filing for a narrower window"
    quality.complete(iid, "assess_change", "pe_xu", untick | {"flag_override_justification": why})
    entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "change.assessed",
                                               AuditEntry.object_id == change.number)).one()
    assert entry.reason == f"flags overridden (regulatory_notification_required): {why}"
    assert entry.after_value["override_justification"] == why
    assert entry.before_value == {"flags": {"regulatory_notification_required": True}}


@pytest.mark.requirement("ISO13485-7.3.9")
def test_the_regulatory_notification_table_sets_the_flag_with_its_rule(quality):
    s = quality.session
    _draft_routing(quality)
    iid = _start(quality)
    _submit(quality, iid)
    change = find_change_for_instance(s, iid)
    facts = change.flags["regulatory_facts"]
    assert facts["registered_critical_parameter_change"] and facts["registered_process_change_class"] == "III"
    decided = change.flags["regulatory_decision"]
    assert (decided["decision"], decided["rules"], decided["version"]) == (
        "change_regulatory_notification", ["rule_critical_parameters"], 1)
    assert change.flags["regulatory_notification_required"] is True
    taken = s.scalars(select(AuditEntry).where(AuditEntry.action == "workflow.decision_taken",
                                               AuditEntry.object_id == str(iid))).one()
    assert taken.after_value["outputs"] == {"regulatory_notification_required": True,
                                            "regulatory_notification_basis": "critical_parameters"}
    flagged = s.scalars(select(AuditEntry).where(AuditEntry.action == "change.regulatory_flag_decided",
                                                 AuditEntry.object_id == change.number)).one()
    assert flagged.after_value["regulatory_decision"]["rules"] == ["rule_critical_parameters"]


@pytest.mark.requirement("ISO13485-7.3.9")
def test_a_flag_never_decided_still_needs_a_justification_to_untick(quality):
    from engine.processes.changes import record_assessment

    s = quality.session
    _draft_routing(quality)
    iid = _start(quality)
    _submit(quality, iid)
    change = find_change_for_instance(s, iid)
    change.flags = {k: v for k, v in change.flags.items() if k not in ("regulatory_notification_required",
                                                                       "regulatory_decision")}
    with pytest.raises(ValidationFailed, match="regulatory_notification_required"):
        record_assessment(s, quality.actor("pe_xu"), change, risk_level="low", risk_assessment="r",
                          validation_required=True, validation_plan="OQ", regulatory_notification_required=False)


@pytest.mark.requirement("ISO13485-7.3.9")
def test_a_released_sop_revision_gives_the_operator_a_read_and_acknowledge_task(quality):
    """Change control releases SOP-ASSY rev B from its own timer step: the operator who works to it
    gets their read-and-acknowledge task (a second process started inside the first one's step)."""
    from engine.masterdata.revisions import edit_draft
    from engine.workflows.models import WorkflowTask

    s, plant = quality.session, quality.plant
    draft = new_draft(s, quality.actor("pe_wang"), plant.sop, change_summary="torque check added")
    edit_draft(s, quality.actor("pe_wang"), draft, body="Assemble. Check torque.", reason="new step")
    iid = _start(quality)
    quality.complete(iid, "submit_change", "pe_wang", {
        "change_title": "SOP-ASSY torque check", "change_description": "torque check",
        "change_reason": "field returns", "change_urgency": "routine",
        "changed_revisions": [{"kind": "document", "code": "SOP-ASSY", "label": draft.label}],
        "changed_objects": [], "effective_from": utc_today().isoformat(), "change_action": "submit",
        "change_comment": ""})
    _assess(quality, iid)
    for task in list(quality.tasks(iid)):  # only the approvals the impact flagged
        who, field = {"approve_change_qa": ("qm_chen", "qa"), "approve_change_production": ("pm_liu", "production"),
                      "approve_change_regulatory": ("ra_sun", "regulatory")}[task]
        data = {f"{field}_decision": "approve", f"{field}_comment": ""}
        if field == "regulatory":
            data["regulatory_notification_plan"] = "none needed"
        quality.complete(iid, task, who, data)
    quality.complete(iid, "confirm_change_implementation", "pe_wang", {
        "effective_from": utc_today().isoformat(), "training_completed": True, "implementation_notes": "issued"})
    s.refresh(draft)
    assert draft.state == "released"
    waiting = s.scalars(select(WorkflowTask).where(WorkflowTask.process_id == "sop_training",
                                                   WorkflowTask.state == "ready")).all()
    assert [(t.assignee_id, t.business_key) for t in waiting] == [
        (plant.users["op_li"].id, f"SOP-ASSY rev {draft.label} · op_li")]
