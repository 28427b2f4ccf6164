"""Migrating running instances to a new version: allowed when safe, refused otherwise, signed."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from audit.models import AuditEntry
from audit.models import Signature
from engine.errors import Conflict, Forbidden
from engine.workflows import Document, ProcessInstance, complete_task, deploy, open_tasks, start_instance
from engine.workflows.models import ProcessVersion
from engine.workflows.migration import migrate_instances, plan_migration
from tests.engine.conftest import BPMN_DIR


REQUEST = {"number": "CR-11", "amount": 5, "reason": "migration test"}
APPROVAL = (BPMN_DIR / "approval.bpmn").read_text()


def deploy_text(world, session, text, comment):
    return deploy(session, world.actor("alice"), [Document("approval.bpmn", text.encode())], comment=comment).deployed[0]


def at_approval(world, session):
    instance = start_instance(session, world.actor("alice"), "t_approval")
    complete_task(session, task_id=open_tasks(session, instance.id)[0].id, data=REQUEST, **world.signing("alice"))
    return instance


@pytest.mark.requirement("21CFR11.10(k)")
def test_open_task_changes_migrate_and_are_signed(world, session):
    world.deploy("approval.bpmn")
    a, b = at_approval(world, session), at_approval(world, session)
    old_task = open_tasks(session, a.id)[0]
    v2 = deploy_text(world, session, APPROVAL.replace('name="Approve change"', 'name="Approve change (v2)"'), "rename")
    plan = plan_migration(session, a.id)
    assert plan.ok and plan.changed == ["ut_approve"] and (plan.from_version, plan.to_version) == (1, 2)
    plans = migrate_instances(session, user=world.user("quinn"), instance_ids=[a.id, b.id], reason="typo in title",
                              **{k: v for k, v in world.signing("quinn").items() if k != "user"})
    assert all(p.ok for p in plans)
    assert a.process_version_id == v2.id and b.process_version_id == v2.id
    [new_task] = open_tasks(session, a.id)
    assert new_task.title == "Approve change (v2)" and new_task.process_version_id == v2.id
    assert new_task.id == old_task.id or old_task.state == "cancelled"
    complete_task(session, task_id=new_task.id, data={"approved": False}, **world.signing("quinn"))
    assert a.status == "completed"
    assert len(session.scalars(select(AuditEntry).where(AuditEntry.action == "workflow.instance_migrated")).all()) == 2
    [sig] = session.scalars(select(Signature).where(Signature.record_type == "workflow_migration")).all()
    assert sig.meaning == "approved" and sig.printed_name == "Quinn QA"


@pytest.mark.requirement("21CFR11.10(k)")
def test_migration_refused_when_a_completed_task_changed(world, session):
    world.deploy("approval.bpmn")
    instance = at_approval(world, session)
    deploy_text(world, session, APPROVAL.replace('name="Request change"', 'name="Request a change"'), "reword")
    plan = plan_migration(session, instance.id)
    assert not plan.ok and "task 'ut_request' is COMPLETED and was changed in version 2" in plan.refusals
    with pytest.raises(Conflict, match="no instance could be migrated"):
        migrate_instances(session, user=world.user("quinn"), instance_ids=[instance.id], reason="reword",
                          **{k: v for k, v in world.signing("quinn").items() if k != "user"})
    assert instance.process_version_id != plan.to_version


@pytest.mark.requirement("21CFR11.10(k)")
def test_migration_needs_a_migrator_role(world, session):
    world.deploy("approval.bpmn")
    instance = at_approval(world, session)
    with pytest.raises(Forbidden):
        migrate_instances(session, user=world.user("alice"), instance_ids=[instance.id], reason="x",
                          **{k: v for k, v in world.signing("alice").items() if k != "user"})


def test_cli_migrate_reports_a_dry_run_then_moves_the_movable_instances_signed(run_cli, fresh_db, monkeypatch):
    """``sealtrail bpmn migrate PROCESS --to VERSION [--dry-run]``: which instances can move and why
    not, then one signed bulk move of those that can (#14)."""
    from audit import SYSTEM
    from audit.policy import SigningPolicy
    from engine.users import get_user
    from tests.ops import workload as wl

    clock = wl.Clock()
    monkeypatch.setitem(run_cli.app.extensions, "sealtrail.clock", clock)
    policy = SigningPolicy.from_settings(run_cli.app.extensions["sealtrail.settings"], clock=clock)
    with fresh_db.sessions.begin() as s:
        pe, pe_secret = wl.create_user(s, "pat.engineer", ["process_engineer"], policy, clock)
        wl.create_user(s, "quinn.qa", ["qa_manager"], policy, clock)
        qa_secret = wl.create_user(s, "quentin.qa", ["qa_manager"], policy, clock)[1]
        deploy(s, SYSTEM, [Document("approval.bpmn", APPROVAL.encode())], comment="v1")
        fresh = start_instance(s, SYSTEM, "t_approval").id
        advanced = start_instance(s, SYSTEM, "t_approval")
        clock.step()
        complete_task(s, user=get_user(s, pe.id), task_id=open_tasks(s, advanced.id)[0].id, data=REQUEST,
                      password=wl.PASSWORD, totp_code=wl.code(pe_secret, clock), policy=policy)
        advanced = advanced.id
        deploy(s, SYSTEM, [Document("approval.bpmn", APPROVAL.replace('name="Request change"',
                                                                      'name="Request a change"').encode())],
               comment="v2: clearer request step")

    report = run_cli(["bpmn", "migrate", "t_approval", "--to", "2", "--dry-run"])
    assert report.exit_code == 0, report.output
    assert f"instance {fresh}: v1 → v2: can move" in report.output
    assert f"instance {advanced}: v1 → v2: cannot move: task 'ut_request' is COMPLETED" in report.output
    assert "1 of 2 instance(s) can move" in report.output
    no_reason = run_cli(["bpmn", "migrate", "t_approval", "--to", "2", "--by", "quinn.qa"])
    assert no_reason.exit_code == 2 and "--reason" in no_reason.output
    denied = run_cli(["bpmn", "migrate", "t_approval", "--to", "2", "--by", "pat.engineer", "--reason", "x"])
    assert denied.exit_code == 1 and "qa_manager" in denied.output
    clock.step()
    moved = run_cli(["bpmn", "migrate", "t_approval", "--to", "2", "--by", "quentin.qa", "--reason",
                     "clearer step name for open requests"],
                    input=f"{wl.PASSWORD}\n{wl.code(qa_secret, clock)}\n")
    assert moved.exit_code == 0, moved.output
    assert "moved 1 instance(s) to t_approval v2, signed by quentin.qa" in moved.output
    with fresh_db.sessions.begin() as s:
        versions = {i.id: i.process_version_id for i in s.scalars(select(ProcessInstance))}
        v2 = s.scalar(select(ProcessVersion.id).where(ProcessVersion.version == 2))
        assert versions[fresh] == v2 and versions[advanced] != v2
        signature = s.scalars(select(Signature).where(Signature.record_type == "workflow_migration")).one()
        assert signature.meaning == "approved"
    again = run_cli(["bpmn", "migrate", "t_approval", "--dry-run"])
    assert again.exit_code == 1 and "0 of 1 instance(s) can move" in again.output
