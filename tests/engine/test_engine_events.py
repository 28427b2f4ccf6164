"""Timers fired by the worker, messages resuming instances, call activities."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from audit.models import AuditEntry
from engine.errors import NotFound
from engine.workflows import (complete_task, get_instance, instance_history, open_tasks,
                              send_message, start_instance, workflow_data)
from engine.workflows.models import MessageWait
from tests.engine.conftest import World
from web.cli.worker import WORKER, run_due_timers


@pytest.fixture()
def timers(fresh_db):
    with fresh_db.sessions.begin() as session:
        world = World(session)
        for name in ("alice", "olive", "quinn"):
            world.user(name)
        world.deploy("timers.bpmn")
        instance = start_instance(session, world.actor("olive"), "t_timers", data={"check_days": 30})
        started = instance.started_at
    return fresh_db, world, instance.id, started


def tasks_of(db, instance_id):
    with db.sessions.begin() as s:
        return [(t.spec_name, t.state) for t in open_tasks(s, instance_id)]


def test_boundary_timer_escalates_an_overdue_task_through_the_worker(timers):
    db, world, instance_id, started = timers
    with db.sessions.begin() as s:
        instance = get_instance(s, instance_id)
        assert instance.status == "waiting"
        due = instance.next_timer_at
        assert started + timedelta(minutes=59) < due <= started + timedelta(hours=1, minutes=1)
    assert run_due_timers(db.sessions, WORKER, now=due - timedelta(seconds=5))["fired"] == 0
    assert tasks_of(db, instance_id) == [("ut_work", "ready")]
    stats = run_due_timers(db.sessions, WORKER, now=due + timedelta(seconds=1))
    assert stats == {"fired": 1, "failed": 0, "instances": 1}
    assert tasks_of(db, instance_id) == [("ut_escalated", "ready")]  # interrupting: ut_work was cancelled
    with db.sessions.begin() as s:
        assert get_instance(s, instance_id).next_timer_at is None
        assert "timer_fired" in [h["kind"] for h in instance_history(s, instance_id)]
        assert s.scalars(select(AuditEntry).where(AuditEntry.action == "workflow.timer_fired")).first()


def test_intermediate_timer_waits_30_days_from_task_data(timers):
    db, world, instance_id, _ = timers
    with db.sessions.begin() as s:
        [work] = open_tasks(s, instance_id)
        complete_task(s, task_id=work.id, data={}, **world.signing("olive"))
        instance = get_instance(s, instance_id)
        assert open_tasks(s, instance_id) == [] and instance.status == "waiting"
        due = instance.next_timer_at
    assert timedelta(days=29, hours=23) < due - world.clock.now < timedelta(days=30, hours=1)
    assert run_due_timers(db.sessions, WORKER, now=due - timedelta(days=1))["fired"] == 0
    assert run_due_timers(db.sessions, WORKER, now=due + timedelta(minutes=1))["fired"] == 1
    assert tasks_of(db, instance_id) == [("ut_effectiveness", "ready")]


def test_worker_command_once(timers, run_cli):
    result = run_cli(["worker", "--once"])
    assert result.exit_code == 0 and "timers fired: 0 in 0 instance(s)" in result.output


def test_message_resumes_the_waiting_instance(world, session):
    world.deploy("message.bpmn")
    passing = start_instance(session, world.actor("eve"), "t_message", business_key="LOT-1")
    failing = start_instance(session, world.actor("eve"), "t_message", business_key="LOT-2")
    assert passing.status == "waiting"
    assert session.scalars(select(MessageWait.message_name).where(MessageWait.instance_id == passing.id)).all() \
        == ["lab_result"]
    with pytest.raises(NotFound, match="not waiting for message 'other'"):
        send_message(session, world.actor("eve"), "other", {}, instance_id=passing.id)
    send_message(session, world.actor("eve"), "lab_result", {"passed": True}, business_key="LOT-1")
    assert passing.status == "completed" and workflow_data(session, passing)["lab"] == {"passed": True}
    send_message(session, world.actor("eve"), "lab_result", {"passed": False}, instance_id=failing.id)
    assert [t.spec_name for t in open_tasks(session, failing.id)] == ["ut_review"]
    assert session.scalars(select(MessageWait).where(MessageWait.instance_id == failing.id)).all() == []
    with pytest.raises(NotFound):
        send_message(session, world.actor("eve"), "lab_result", {}, instance_id=failing.id)


def test_call_activity_runs_the_called_process_with_its_lanes(world, session):
    world.deploy("child.bpmn")
    world.deploy("parent.bpmn")
    instance = start_instance(session, world.actor("olive"), "t_parent", user=world.user("olive"))
    [raise_task] = open_tasks(session, instance.id)
    complete_task(session, task_id=raise_task.id, data={"number": "DEV-3", "amount": 1, "reason": "leak"},
                  **world.signing("olive"))
    [child_task] = open_tasks(session, instance.id)
    assert (child_task.spec_name, child_task.lane) == ("ut_child", "qa_engineer")
    complete_task(session, task_id=child_task.id, data={"approved": True}, **world.signing("eve"))
    [close] = open_tasks(session, instance.id)
    assert close.spec_name == "ut_close"
    complete_task(session, task_id=close.id, data={"approved": True}, **world.signing("quinn"))
    assert instance.status == "completed"
    assert workflow_data(session, instance)["child_saw"] == "DEV-3"


@pytest.fixture()
def many_due(fresh_db):
    """Six instances whose escalation timer is due, committed."""
    with fresh_db.sessions.begin() as session:
        world = World(session)
        world.deploy("timers.bpmn")
        ids = [start_instance(session, world.actor("alice"), "t_timers", data={"check_days": 1}).id
               for _ in range(6)]
        due = max(get_instance(session, i).next_timer_at for i in ids)
    return fresh_db, ids, due


def test_two_workers_at_once_fire_each_timer_exactly_once(many_due):
    import threading

    db, ids, due = many_due
    results = []

    def work():
        results.append(run_due_timers(db.sessions, WORKER, now=due + timedelta(seconds=1)))

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert sum(r["fired"] for r in results) == 6 and all(r["failed"] == 0 for r in results)
    with db.sessions.begin() as s:
        fired = s.scalars(select(AuditEntry.object_id).where(AuditEntry.action == "workflow.timer_fired")).all()
        assert sorted(fired) == sorted(str(i) for i in ids)
        for i in ids:
            assert [t.spec_name for t in open_tasks(s, i)] == ["ut_escalated"]


def test_a_failing_instance_is_marked_and_does_not_stop_the_worker(many_due, monkeypatch):
    from engine.workflows import events

    db, ids, due = many_due
    real = events.runtime.fire_due_timers

    def flaky(workflow, now):
        if not hasattr(flaky, "failed"):
            flaky.failed = True
            raise RuntimeError("simulated failure")
        return real(workflow, now)

    monkeypatch.setattr(events.runtime, "fire_due_timers", flaky)
    stats = run_due_timers(db.sessions, WORKER, now=due + timedelta(seconds=1))
    assert stats == {"fired": 5, "failed": 1, "instances": 5}
    with db.sessions.begin() as s:
        broken = [i for i in ids if get_instance(s, i).status == "error"]
        assert len(broken) == 1 and "simulated failure" in get_instance(s, broken[0]).last_error
        assert s.scalars(select(AuditEntry).where(AuditEntry.action == "workflow.timer_failed")).one()


def test_worker_reports_an_unreachable_database(settings):
    from dataclasses import replace

    from click.testing import CliRunner
    from flask.cli import ScriptInfo

    from web.app import create_app
    from web.cli import cli

    app = create_app(settings=replace(settings, database_url="postgresql+psycopg://nobody@127.0.0.1:1/none"))
    try:
        result = CliRunner().invoke(cli, ["worker", "--once"], obj=ScriptInfo(create_app=lambda: app))
    finally:
        app.extensions["sealtrail.engine"].dispose()
    assert result.exit_code == 1 and "worker pass failed" in result.output
