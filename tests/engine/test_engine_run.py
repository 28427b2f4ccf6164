"""Running processes: version pinning, a signed multi-lane run, SoD, claims, concurrency."""
from __future__ import annotations

import hashlib
import json
import threading

import pytest
import rfc8785
from sqlalchemy import func, select

from audit.errors import WrongCode, WrongPassword
from audit.models import AuditEntry, Signature
from audit.signatures import signature_matches, signatures_for
from engine.errors import Conflict, Forbidden, ValidationFailed
from engine.workflows import (Document, claim, complete_task, deploy, visible_tasks, instance_history, open_tasks,
                              reassign, start_instance, unclaim, workflow_data)
from engine.workflows import runtime, serializer
from engine.workflows.tasks import signed_record
from tests.engine.conftest import BPMN_DIR


REQUEST = {"number": "CR-7", "amount": 500, "reason": "new supplier for housing"}


def assert_roundtrip(session, instance):
    """The stored state loads and dumps back to the same JSON (serializer habit of SpiffWorkflow)."""
    from audit import SYSTEM

    workflow = runtime.load(session, instance, SYSTEM)
    assert json.loads(serializer.dump_state(workflow)) == json.loads(instance.state_json)
    assert '"spec"' not in instance.state_json[:200] and "task_specs" not in instance.state_json


def only_task(session, instance):
    [task] = open_tasks(session, instance.id)
    return task


def start(world, session, who="alice"):
    return start_instance(session, world.actor(who), "t_approval", user=world.user(who))


@pytest.mark.requirement("21CFR11.10(f)", "21CFR11.10(g)")
def test_full_multi_lane_run_is_signed_audited_and_persisted(world, session):
    world.deploy("approval.bpmn")
    audit_before = session.scalar(select(func.count()).select_from(AuditEntry))
    instance = start(world, session)
    assert_roundtrip(session, instance)
    request = only_task(session, instance)
    assert (request.lane, request.form, request.title) == ("process_engineer", "t_request", "Request change")
    assert request.due_at is not None and request.due_at > request.created_at
    done = complete_task(session, task_id=request.id, data=REQUEST, **world.signing("alice"))
    assert instance.business_key == "CR-7"  # service task ran through the operations registry
    assert_roundtrip(session, instance)
    approve = only_task(session, instance)
    assert approve.lane == "qa_manager" and approve.business_key == "CR-7"
    assert [t.id for t in visible_tasks(session, world.user("quinn"))] == [approve.id]
    assert visible_tasks(session, world.user("oscar")) == []
    complete_task(session, task_id=approve.id, data={"approved": True, "comment": "ok"}, **world.signing("quinn"))
    assert_roundtrip(session, instance)
    ack = only_task(session, instance)
    assert ack.lane == "production_manager"
    complete_task(session, task_id=ack.id, data={}, **world.signing("pat"))
    assert instance.status == "completed" and instance.completed_at is not None
    assert workflow_data(session, instance)["risk"] == "high"  # script task result

    # Evidence: payload + hash stored by us, a Part 11 signature bound to it, an audit entry.
    assert done.task.payload_sha256 == hashlib.sha256(rfc8785.dumps(REQUEST)).hexdigest()
    assert json.loads(done.task.payload_json) == REQUEST
    meanings = {}
    for row in (request, approve, ack):
        [sig] = signatures_for(session, "workflow_task", row.id)
        assert sig.signature_id == row.signature_id and signature_matches(sig, signed_record(row))
        meanings[row.spec_name] = (sig.meaning, sig.printed_name)
    assert meanings == {"ut_request": ("authored", "Alice Initiator"), "ut_approve": ("approved", "Quinn QA"),
                        "ut_ack": ("reviewed", "Pat Production")}
    actions = list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.seq)).all())[audit_before:]
    assert actions.count("workflow.task_completed") == 3 and "workflow.instance_started" in actions
    assert "workflow.business_key_set" in actions
    history = instance_history(session, instance.id)
    assert [h["kind"] for h in history] == ["started", "task_completed", "task_completed", "task_completed"]
    assert history[2]["data"] == {"approved": True, "comment": "ok"} and history[2]["meaning"] == "approved"


@pytest.mark.requirement("21CFR11.10(f)", "21CFR11.10(g)")
def test_rejection_takes_the_other_branch_with_its_meaning(world, session):
    world.deploy("approval.bpmn")
    instance = start(world, session)
    complete_task(session, task_id=only_task(session, instance).id, data=REQUEST, **world.signing("alice"))
    done = complete_task(session, task_id=only_task(session, instance).id, data={"approved": False},
                         **world.signing("quinn"))
    assert done.task.meaning == "rejected" and instance.status == "completed"
    assert open_tasks(session, instance.id) == []


@pytest.mark.requirement("21CFR11.10(f)", "21CFR11.10(g)")
def test_instances_stay_pinned_to_their_version(world, session):
    world.deploy("approval.bpmn")
    old = start(world, session)
    text = (BPMN_DIR / "approval.bpmn").read_text().replace('name="Approve change"', 'name="Approve change (v2)"')
    [v2] = deploy(session, world.actor("alice"), [Document("approval.bpmn", text.encode())], comment="rename").deployed
    assert v2.version == 2 and v2.comment == "rename"
    new = start(world, session)
    assert new.process_version_id == v2.id and old.process_version_id != v2.id
    for instance in (old, new):
        complete_task(session, task_id=only_task(session, instance).id, data=REQUEST, **world.signing("alice"))
    assert only_task(session, old).title == "Approve change"
    assert only_task(session, new).title == "Approve change (v2)"
    assert old.spiff_version == serializer.SPIFF_VERSION and old.serializer_version == serializer.SERIALIZER_VERSION


@pytest.mark.requirement("21CFR11.10(f)", "21CFR11.10(g)")
def test_role_claim_and_segregation_of_duties(world, session):
    world.deploy("approval.bpmn")
    instance = start(world, session)
    request = only_task(session, instance)
    with pytest.raises(Forbidden, match="needs the role 'process_engineer'"):
        complete_task(session, task_id=request.id, data=REQUEST, **world.signing("oscar"))
    complete_task(session, task_id=request.id, data=REQUEST, **world.signing("ivy"))
    approve = only_task(session, instance)
    with pytest.raises(Forbidden, match="whoever completed 'ut_request'"):
        complete_task(session, task_id=approve.id, data={"approved": True}, **world.signing("ivy"))
    assert approve.state == "ready"


@pytest.mark.requirement("21CFR11.10(f)", "21CFR11.10(g)")
def test_initiator_may_not_approve(world, session):
    world.deploy("approval.bpmn")
    instance = start(world, session, who="ivy")
    complete_task(session, task_id=only_task(session, instance).id, data=REQUEST, **world.signing("alice"))
    with pytest.raises(Forbidden, match="initiator"):
        complete_task(session, task_id=only_task(session, instance).id, data={"approved": True},
                      **world.signing("ivy"))


@pytest.mark.requirement("21CFR11.10(f)", "21CFR11.10(g)")
def test_form_errors_name_the_fields_and_nothing_is_signed(world, session):
    world.deploy("approval.bpmn")
    instance = start(world, session)
    request = only_task(session, instance)
    signatures = session.scalar(select(func.count()).select_from(Signature))
    with pytest.raises(ValidationFailed) as err:
        complete_task(session, task_id=request.id, data={"number": "no spaces allowed", "amount": -1, "extra": 1},
                      **world.signing("alice"))
    fields = {d["field"] for d in err.value.details}
    assert fields == {"number", "amount", "reason", "extra"}
    assert session.scalar(select(func.count()).select_from(Signature)) == signatures
    assert request.state == "ready"


@pytest.mark.requirement("21CFR11.10(f)", "21CFR11.10(g)")
def test_wrong_signature_components_are_refused(world, session):
    world.deploy("approval.bpmn")
    instance = start(world, session)
    request = only_task(session, instance)
    with pytest.raises(WrongPassword):
        complete_task(session, task_id=request.id, data=REQUEST, **world.signing("alice", password="nope-nope-1"))
    with pytest.raises(WrongCode):
        complete_task(session, task_id=request.id, data=REQUEST, **world.signing("alice", totp_code="000000"))


@pytest.mark.requirement("21CFR11.10(f)", "21CFR11.10(g)")
def test_claim_unclaim_and_reassign_are_enforced_and_audited(world, session):
    world.deploy("approval.bpmn")
    instance = start(world, session)
    complete_task(session, task_id=only_task(session, instance).id, data=REQUEST, **world.signing("alice"))
    approve = only_task(session, instance)
    claim(session, user=world.user("quinn"), task_id=approve.id)
    assert approve.assignee_id == world.user("quinn").id
    assert visible_tasks(session, world.user("quentin")) == []
    with pytest.raises(Conflict):
        claim(session, user=world.user("quentin"), task_id=approve.id)
    with pytest.raises(Forbidden, match="claimed by someone else"):
        complete_task(session, task_id=approve.id, data={"approved": True}, **world.signing("quentin"))
    with pytest.raises(Forbidden):
        unclaim(session, user=world.user("alice"), task_id=approve.id)
    with pytest.raises(Forbidden):
        reassign(session, manager=world.user("alice"), task_id=approve.id, to_user=world.user("quentin"), reason="x")
    with pytest.raises(ValidationFailed):
        reassign(session, manager=world.user("pat"), task_id=approve.id, to_user=world.user("olive"), reason="leave")
    reassign(session, manager=world.user("pat"), task_id=approve.id, to_user=world.user("quentin"),
             reason="Quinn on leave")
    complete_task(session, task_id=approve.id, data={"approved": True}, **world.signing("quentin"))
    kinds = [h["kind"] for h in instance_history(session, instance.id)]
    assert kinds[-3:] == ["claimed", "reassigned", "task_completed"]
    actions = set(session.scalars(select(AuditEntry.action).where(AuditEntry.object_id == approve.id)))
    assert {"workflow.task_claimed", "workflow.task_reassigned", "workflow.task_completed"} <= actions


@pytest.mark.requirement("21CFR11.10(f)", "21CFR11.10(g)")
def test_stale_instance_version_is_a_conflict(world, session):
    world.deploy("approval.bpmn")
    instance = start(world, session)
    seen = instance.lock_version
    complete_task(session, task_id=only_task(session, instance).id, data=REQUEST, **world.signing("alice"))
    with pytest.raises(Conflict, match="changed since it was loaded"):
        complete_task(session, task_id=only_task(session, instance).id, data={"approved": True},
                      expected_instance_version=seen, **world.signing("quinn"))
    with pytest.raises(Conflict, match="already completed"):
        complete_task(session, task_id=instance_history(session, instance.id)[1]["task_id"], data=REQUEST,
                      **world.signing("alice"))


@pytest.mark.requirement("21CFR11.10(f)", "21CFR11.10(g)")
def test_state_from_another_serializer_version_is_refused(world, session):
    world.deploy("approval.bpmn")
    instance = start(world, session)
    state = json.loads(instance.state_json)
    state["serializer_version"] = "1.4"
    instance.state_json = json.dumps(state)
    with pytest.raises(Conflict, match="serializer 1.4"):
        complete_task(session, task_id=only_task(session, instance).id, data=REQUEST, **world.signing("alice"))


@pytest.mark.requirement("21CFR11.10(f)", "21CFR11.10(g)")
def test_completed_task_rows_are_write_once(world, session):
    world.deploy("approval.bpmn")
    instance = start(world, session)
    row = only_task(session, instance)
    complete_task(session, task_id=row.id, data=REQUEST, **world.signing("alice"))
    row.payload_json = '{"amount": 1}'
    with pytest.raises(ValueError, match="signed evidence"):
        session.flush()


@pytest.mark.requirement("21CFR11.10(f)", "21CFR11.10(g)")
@pytest.mark.postgres_only
def test_database_refuses_raw_edits_of_evidence(world, session):
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    from engine.db import is_postgres

    if not is_postgres(session):
        pytest.skip("triggers exist on PostgreSQL only")
    world.deploy("approval.bpmn")
    instance = start(world, session)
    row = only_task(session, instance)
    complete_task(session, task_id=row.id, data=REQUEST, **world.signing("alice"))
    # The tests connect as the app role (db-grants applied): it may UPDATE wf_task, so the evidence
    # trigger answers; it has no DELETE on wf_task nor UPDATE on the event log, so privileges do.
    for statement, refusal in (
            (f"UPDATE wf_task SET payload_json = '{{}}' WHERE id = '{row.id}'", "signed evidence"),
            (f"DELETE FROM wf_task WHERE id = '{row.id}'", "permission denied|signed evidence"),
            (f"UPDATE wf_instance_event SET kind = 'x' WHERE instance_id = {instance.id}",
             "permission denied|append-only")):
        with pytest.raises(DBAPIError, match=refusal):
            with session.begin_nested():
                session.execute(text(statement))
