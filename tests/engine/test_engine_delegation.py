"""Signed, time-boxed delegation (issue #18): the delegate completes the delegator's tasks within the
window; the completion manifests both names; segregation of duties holds for both people."""
from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select

from audit.models import AuditEntry
from engine.delegations.acting import create_delegation, revoke_delegation
from engine.errors import Forbidden, ValidationFailed
from engine.workflows import claim, complete_task, open_tasks, start_instance

REQUEST = {"number": "CR-7", "amount": 500, "reason": "new supplier for housing"}
DAY = dt.timedelta(days=1)


def _requested(world, session, who="alice"):
    world.deploy("approval.bpmn")
    instance = start_instance(session, world.actor(who), "t_approval", user=world.user(who))
    [request] = open_tasks(session, instance.id)
    complete_task(session, task_id=request.id, data=REQUEST, **world.signing(who))
    [approve] = open_tasks(session, instance.id)
    return instance, approve


def _delegate(world, session, delegator, delegate, *, days=7, processes=("t_approval",), start=None):
    start = start or world.clock.now
    return create_delegation(session, world.actor(delegator), delegator=world.user(delegator),
                             delegate=world.user(delegate), roles=["qa_manager"], process_ids=list(processes),
                             valid_from=start, valid_until=start + days * DAY, reason="annual leave",
                             now=world.clock.now)


@pytest.mark.requirement("21CFR11.50", "21CFR11.10(g)")
def test_a_delegate_signs_for_the_delegator_and_both_names_are_manifested(world, session):
    instance, approve = _requested(world, session)
    with pytest.raises(Forbidden, match="needs the role 'qa_manager'"):
        complete_task(session, task_id=approve.id, data={"approved": True}, **world.signing("olive"))
    delegation = _delegate(world, session, "quinn", "olive")
    claim(session, user=world.user("olive"), task_id=approve.id, at=world.clock.now)
    done = complete_task(session, task_id=approve.id, data={"approved": True}, **world.signing("olive"))
    assert done.task.completed_by_name == "Olive Operator for Quinn QA"
    assert done.signature.printed_name == "Olive Operator"  # the signer is the delegate, never the delegator
    entries = list(session.scalars(select(AuditEntry).where(AuditEntry.object_id == approve.id)
                                   .order_by(AuditEntry.seq)))
    completion = next(e for e in entries if e.action == "workflow.task_completed")
    payload = json.loads(completion.payload) if isinstance(completion.payload, str) else completion.payload
    assert payload["on_behalf_of"] == {"user_id": world.user("quinn").id, "name": "Quinn QA",
                                       "delegation_id": delegation.id}
    signed = [e for e in session.scalars(select(AuditEntry).where(AuditEntry.action.like("signature%")))
              if f"under delegation {delegation.id}" in (e.reason or "") + json.dumps(e.payload, default=str)]
    assert signed


def test_the_delegation_is_time_boxed_and_revocable(world, session):
    _instance, approve = _requested(world, session)
    later = _delegate(world, session, "quinn", "olive", start=world.clock.now + 2 * DAY)
    with pytest.raises(Forbidden, match="needs the role"):  # not yet
        complete_task(session, task_id=approve.id, data={"approved": True}, **world.signing("olive"))
    world.clock.advance(10 * 86400)
    with pytest.raises(Forbidden, match="needs the role"):  # over
        complete_task(session, task_id=approve.id, data={"approved": True}, **world.signing("olive"))
    running = _delegate(world, session, "quinn", "olive")
    revoke_delegation(session, world.actor("quinn"), running, reason="back early", now=world.clock.now)
    with pytest.raises(Forbidden, match="needs the role"):
        complete_task(session, task_id=approve.id, data={"approved": True}, **world.signing("olive"))
    assert later.revoked_at is None and running.revoked_at is not None


def test_segregation_of_duties_holds_for_the_delegate_and_the_delegator(world, session):
    _instance, approve = _requested(world, session, who="ivy")  # ivy requested; ivy holds qa_manager too
    _delegate(world, session, "ivy", "olive")
    with pytest.raises(Forbidden, match=r"segregation of duties.*olive \(for ivy\)"):
        complete_task(session, task_id=approve.id, data={"approved": True}, **world.signing("olive"))
    _instance2, approve2 = _requested(world, session, who="alice")
    _delegate(world, session, "quentin", "alice")  # the initiator may not approve, even for someone else
    with pytest.raises(Forbidden, match="initiator"):
        complete_task(session, task_id=approve2.id, data={"approved": True}, **world.signing("alice"))


def test_what_may_be_delegated(world, session):
    with pytest.raises(ValidationFailed, match="does not hold"):
        create_delegation(session, world.actor("olive"), delegator=world.user("olive"), delegate=world.user("eve"),
                          roles=["qa_manager"], valid_from=world.clock.now, valid_until=world.clock.now + DAY,
                          reason="x", now=world.clock.now)
    with pytest.raises(ValidationFailed, match="themselves"):
        _delegate(world, session, "quinn", "quinn")
    with pytest.raises(ValidationFailed, match="at most 90 days"):
        _delegate(world, session, "quinn", "olive", days=91)
    with pytest.raises(ValidationFailed) as err:
        create_delegation(session, world.actor("quinn"), delegator=world.user("quinn"), delegate=world.user("olive"),
                          roles=["qa_manager"], valid_from=world.clock.now, valid_until=world.clock.now + DAY,
                          reason=" ", now=world.clock.now)
    assert err.value.field == "reason"
    other = _delegate(world, session, "quinn", "olive", processes=("change_control",))
    _instance, approve = _requested(world, session)
    with pytest.raises(Forbidden, match="needs the role"):  # delegated for another process only
        complete_task(session, task_id=approve.id, data={"approved": True}, **world.signing("olive"))
    assert other.process_ids == ["change_control"]


def test_delegations_command_creates_signed_and_revokes(demo_db, monkeypatch):
    from click.testing import CliRunner
    from flask.cli import ScriptInfo

    from audit.models import Signature
    from tests.ops import workload as wl
    from web.app import create_app
    from web.cli import cli

    app = create_app({"TESTING": True}, settings=demo_db.settings())
    # After the demo's enrolment (on the wall clock when its template was loaded): fresh time-steps.
    clock = wl.Clock(dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=2))
    monkeypatch.setitem(app.extensions, "sealtrail.clock", clock)
    qa = demo_db.demo.credentials()["zhao.min"]
    start = clock.now.date()

    def run(args, who=None):
        lines = None
        if who:
            clock.step()
            lines = f"{who.password}\n{wl.code(who.totp_secret, clock)}\n"
        return CliRunner().invoke(cli, args, obj=ScriptInfo(create_app=lambda: app), input=lines)

    try:
        made = run(["delegations", "create", "--from", "zhao.min", "--to", "sun.li", "--role", "qa_manager",
                    "--valid-from", start.isoformat(), "--valid-until", (start + 14 * DAY).isoformat(),
                    "--reason", "annual leave", "--by", "zhao.min"], qa)
        assert made.exit_code == 0, made.output
        assert "sun.li acts as qa_manager for zhao.min" in made.output
        other = demo_db.demo.credentials()["li.na"]
        refused = run(["delegations", "revoke", "1", "--reason", "x", "--by", "li.na"], other)
        assert refused.exit_code == 1 and "only zhao.min or an administrator" in refused.output
        assert run(["delegations", "revoke", "1", "--reason", "back early", "--by", "zhao.min"], qa).exit_code == 0
        listing = run(["delegations", "list"])
        assert "sun.li for zhao.min  qa_manager" in listing.output and "[revoked" in listing.output
    finally:
        app.extensions["sealtrail.engine"].dispose()
    with demo_db.sessions() as s:
        signatures = list(s.scalars(select(Signature).where(Signature.record_type == "delegation")))
    assert [sig.username for sig in signatures] == ["zhao.min", "zhao.min"]
