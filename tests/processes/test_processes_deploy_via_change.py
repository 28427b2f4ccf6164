"""A deploy routed through change control (#14): the change request carries the proposed diagram;
no version exists until the change is implemented; the implemented version is the proposal."""
from __future__ import annotations

import json
from datetime import timedelta

import pyotp
import pytest
from sqlalchemy import select

from audit.errors import SignatureError
from audit.models import AuditEntry
from engine.errors import Conflict, ValidationFailed
from engine.processes import changes
from engine.processes.deploy_changes import route_deployment
from engine.workflows import specs
from engine.workflows.deploy import list_versions, set_deploy_route, via_change_control
from tests.processes.processes_plant import PASSWORD


def _edited(quality) -> specs.Document:
    """The deployed deviation diagram with a renamed task (a real, valid edit)."""
    [latest, *_] = list_versions(quality.session, "deviation")
    xml = latest.bpmn_xml.replace('name="Triage', 'name="Triage (revised)', 1)
    assert xml != latest.bpmn_xml
    return specs.Document("deviation.bpmn", xml.encode("utf-8"))


def _propose(quality, who="pe_wang", comment="clearer triage step name"):
    quality.clock.now += timedelta(seconds=30)
    code = pyotp.TOTP(quality.secrets[who]).at(quality.clock.now)
    return route_deployment(quality.session, quality.user(who), _edited(quality), "deviation", comment=comment,
                            password=PASSWORD, totp_code=code, policy=quality.policy)


def _through_approvals(quality, iid):
    quality.complete(iid, "assess_change", "pe_xu", {
        "risk_level": "low", "risk_assessment": "label only", "validation_required": False,
        "validation_plan": "", "regulatory_notification_required": False, "flag_override_justification": ""})
    quality.complete(iid, "approve_change_qa", "qm_chen", {"qa_decision": "approve", "qa_comment": ""})
    quality.complete(iid, "approve_change_production", "pm_liu", {"production_decision": "approve",
                                                                   "production_comment": ""})


@pytest.mark.requirement("ISO13485-7.3.9")
def test_routed_deploy_creates_no_version_until_the_change_is_implemented(quality):
    s = quality.session
    set_deploy_route(s, quality.actor("qm_chen"), "deviation", via_change_control=True, reason="SOP-QA-012")
    assert via_change_control(s, "deviation")
    before = [v.version for v in list_versions(s, "deviation")]
    change = _propose(quality)
    proposal = changes.deployment_of(s, change.process_instance_id)
    assert change.status == "submitted" and proposal.process_version_id is None
    assert change.impact["changes"][-1]["subject"] == "process deviation"  # the reviewers see what deploys
    assert [v.version for v in list_versions(s, "deviation")] == before  # nothing deployed yet
    iid = change.process_instance_id
    _through_approvals(quality, iid)
    assert [v.version for v in list_versions(s, "deviation")] == before  # approved, not yet implemented: no new version
    today = quality.clock.now.date().isoformat()
    quality.complete(iid, "confirm_change_implementation", "pe_xu", {
        "effective_from": today, "training_completed": True, "implementation_notes": "deployed"})
    s.refresh(change)
    s.refresh(proposal)
    [new, *_] = list_versions(s, "deviation")
    assert change.status == "implemented" and new.version == before[0] + 1
    assert new.bpmn_xml == proposal.bpmn_xml and new.content_sha256 == proposal.content_sha256
    assert "Triage (revised)" in new.bpmn_xml
    assert new.deployed_by_name == quality.user("pe_xu").printed_name  # the implementer who signed
    assert new.comment.startswith(change.number)
    assert changes.change_of_version(s, new.id).number == change.number
    actions = set(s.scalars(select(AuditEntry.action).where(AuditEntry.object_id.in_(
        [f"deviation:v{new.version}", str(iid), "deviation"]))))
    assert {"change.deployment_proposed", "change.deployment_implemented", "workflow.process_deployed",
            "workflow.deploy_route_changed"} <= actions


def test_tampered_proposal_is_not_deployed(quality):
    s = quality.session
    change = _propose(quality)
    proposal = changes.deployment_of(s, change.process_instance_id)
    proposal.bpmn_xml = proposal.bpmn_xml.replace("Triage (revised)", "Triage (sneaked)")
    s.flush()
    _through_approvals(quality, change.process_instance_id)
    with pytest.raises(Conflict, match="hash differs"):
        quality.complete(change.process_instance_id, "confirm_change_implementation", "pe_xu", {
            "effective_from": quality.clock.now.date().isoformat(), "training_completed": True,
            "implementation_notes": ""})


def test_routed_deploy_needs_the_proposers_signature(quality):
    with pytest.raises(SignatureError):
        route_deployment(quality.session, quality.user("pe_wang"), _edited(quality), "deviation", comment="x",
                         password="wrong", totp_code="000000", policy=quality.policy)


def test_a_change_without_a_proposal_still_needs_a_revision(quality):
    from engine.workflows import start_instance

    iid = start_instance(quality.session, quality.actor("pe_wang"), "change_control", user=quality.user("pe_wang")).id
    with pytest.raises(ValidationFailed, match="at least one revision"):
        quality.complete(iid, "submit_change", "pe_wang", {
            "change_title": "t", "change_description": "d", "change_reason": "r", "change_urgency": "routine",
            "changed_revisions": [], "changed_objects": [], "changed_process": "deviation",
            "effective_from": quality.clock.now.date().isoformat(), "change_action": "submit", "change_comment": ""})


def test_route_setting_needs_a_reason_and_a_deployed_process(quality):
    with pytest.raises(ValidationFailed, match="why"):
        set_deploy_route(quality.session, quality.actor("qm_chen"), "deviation", via_change_control=True, reason=" ")
    assert not via_change_control(quality.session, "deviation")


def test_a_later_effective_date_deploys_when_the_timer_fires_as_the_implementer(quality):
    from datetime import datetime, time, timezone

    from audit import Actor
    from engine.workflows import fire_timers, get_instance

    s = quality.session
    change = _propose(quality)
    iid = change.process_instance_id
    _through_approvals(quality, iid)
    day = quality.clock.now.date() + timedelta(days=2)
    quality.complete(iid, "confirm_change_implementation", "pe_xu", {
        "effective_from": day.isoformat(), "training_completed": True, "implementation_notes": ""})
    assert [v.version for v in list_versions(s, "deviation")] == [1]  # waits for its effective date
    worker = Actor(kind="system", id="worker", name="sealtrail worker")
    due = datetime.combine(day, time(0, 0), tzinfo=timezone.utc) + timedelta(seconds=1)
    assert fire_timers(s, worker, get_instance(s, iid), due) == ["wait_until_effective"]
    [new, *_] = list_versions(s, "deviation")
    assert new.version == 2 and new.deployed_by_name == quality.user("pe_xu").printed_name
    entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "change.deployment_implemented")).one()
    assert json.loads(entry.after)["signature_id"]  # the implementer's signature on "confirm implementation"
