"""One completion = one transaction: a failure at any stage leaves nothing behind; races lose cleanly."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from audit.errors import WrongCode
from audit.models import AuditEntry, Signature
from engine.errors import Conflict, ValidationFailed, WorkflowFailed
from engine.workflows import Document, complete_task, deploy, open_tasks, start_instance
from engine.workflows.models import ProcessInstance, WorkflowTask
from tests.engine.conftest import BPMN_DIR, World


REQUEST = {"number": "CR-9", "amount": 13, "reason": "stage failure test"}


@pytest.fixture()
def setup(fresh_db):
    """Committed: users, the approval process (its script divides by amount - 13), one instance."""
    text = (BPMN_DIR / "approval.bpmn").read_text().replace(
        'risk = "high" if amount &gt; 100 else "low"', 'risk = 100 / (amount - 13)')
    with fresh_db.sessions.begin() as session:
        world = World(session)
        for name in ("alice", "quinn", "quentin"):
            world.user(name)
        deploy(session, world.actor("alice"), [Document("approval.bpmn", text.encode())])
        instance = start_instance(session, world.actor("alice"), "t_approval")
        task_id = open_tasks(session, instance.id)[0].id
    return fresh_db, world, instance.id, task_id


def snapshot(db, instance_id, task_id):
    with db.sessions.begin() as s:
        instance = s.get(ProcessInstance, instance_id)
        return {"audit": s.scalar(select(func.count()).select_from(AuditEntry)),
                "signatures": s.scalar(select(func.count()).select_from(Signature)),
                "tasks": s.scalar(select(func.count()).select_from(WorkflowTask)),
                "task_state": s.get(WorkflowTask, task_id).state,
                "instance": (instance.lock_version, instance.state_json, instance.business_key)}


def attempt(db, world, task_id, data, **overrides):
    with db.sessions.begin() as s:
        complete_task(s, task_id=task_id, data=data, **world.signing("alice", **overrides))


@pytest.mark.requirement("21CFR11.10(e)", "21CFR11.10(f)")
@pytest.mark.parametrize("stage", ["form", "signature", "script", "database"])
def test_failure_at_each_stage_rolls_back_everything(setup, stage, monkeypatch):
    db, world, instance_id, task_id = setup
    before = snapshot(db, instance_id, task_id)
    if stage == "form":
        with pytest.raises(ValidationFailed):
            attempt(db, world, task_id, {"number": "CR-9"})
    elif stage == "signature":
        with pytest.raises(WrongCode):
            attempt(db, world, task_id, REQUEST, totp_code="123456")
    elif stage == "script":
        with pytest.raises(WorkflowFailed, match="ZeroDivisionError|division by zero"):
            attempt(db, world, task_id, REQUEST)
    else:
        from engine.workflows import tasks
        from engine.workflows.models import InstanceEvent

        def broken_history(session, instance, *args, **kwargs):
            # a genuine database error at the very end: NOT NULL violated on flush
            session.add(InstanceEvent(instance_id=instance.id, kind=None, actor_id="x", actor_name="x"))
            session.flush()

        original = tasks.runtime.record_event
        monkeypatch.setattr(tasks.runtime, "record_event", broken_history)
        with pytest.raises(IntegrityError):
            attempt(db, world, task_id, {**REQUEST, "amount": 500})
        monkeypatch.setattr(tasks.runtime, "record_event", original)
    assert snapshot(db, instance_id, task_id) == before
    # and the task can still be completed properly afterwards
    attempt(db, world, task_id, {**REQUEST, "amount": 500})
    after = snapshot(db, instance_id, task_id)
    assert after["task_state"] == "completed" and after["signatures"] == before["signatures"] + 1
    assert after["instance"][2] == "CR-9"


@pytest.mark.requirement("21CFR11.10(e)", "21CFR11.10(f)")
def test_two_completions_of_one_task_exactly_one_wins(setup):
    db, world, instance_id, task_id = setup
    attempt(db, world, task_id, {**REQUEST, "amount": 500})
    with db.sessions.begin() as s:
        approve_id = open_tasks(s, instance_id)[0].id
    args = {name: world.signing(name) for name in ("quinn", "quentin")}
    barrier = threading.Barrier(2)
    outcomes: dict[str, object] = {}

    def run(name):
        try:
            with db.sessions.begin() as s:
                barrier.wait(timeout=10)
                complete_task(s, task_id=approve_id, data={"approved": name == "quinn"}, **args[name])
            outcomes[name] = "won"
        except Exception as exc:  # noqa: BLE001 - the outcome is asserted below
            outcomes[name] = exc

    threads = [threading.Thread(target=run, args=(n,)) for n in args]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    winners = [n for n, o in outcomes.items() if o == "won"]
    losers = [o for o in outcomes.values() if o != "won"]
    assert len(winners) == 1 and len(losers) == 1, outcomes
    assert isinstance(losers[0], Conflict) and "reload" in str(losers[0])
    with db.sessions.begin() as s:
        row = s.get(WorkflowTask, approve_id)
        assert row.state == "completed" and row.completed_by_name == world.user(winners[0]).printed_name
        sigs = s.scalars(select(Signature).where(Signature.record_id == approve_id)).all()
        assert len(sigs) == 1
