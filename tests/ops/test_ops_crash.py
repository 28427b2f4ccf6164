"""Crash consistency: a process completing signed tasks is SIGKILLed at random moments.

After every kill: each completed task has exactly one signature and one audit entry, no
signature or audit entry exists for a task that is not completed, every instance deserializes
(its open tasks agree with the task table) and can continue, and the chain is gap-free and
verifies. The seeds are printed; rerun one with SEALTRAIL_CRASH_SEED=<seed>.
"""
from __future__ import annotations

import multiprocessing
import os
import random
import signal
import time

import pytest
from sqlalchemy import select

from engine.db import make_engine, make_session_factory
from engine.users.models import User
from engine.workflows import complete_task
from engine.workflows.models import ProcessInstance, WorkflowTask
from tests.ops import workload as wl

pytestmark = pytest.mark.slow

KILLS = int(os.environ.get("SEALTRAIL_CRASH_KILLS", "20"))
LANE_USER = {"process_engineer": "alice", "qa_manager": "quinn", "production_manager": "pat"}


def _complete_one(sessions, rng, ids, secrets, pol, clock) -> bool:
    """Complete one random ready task (or start an instance when few are ready)."""
    with sessions.begin() as s:
        ready = list(s.scalars(select(WorkflowTask).where(WorkflowTask.state == "ready")
                               .order_by(WorkflowTask.id)))
        if len(ready) < 3:
            wl.start(s, s.get(User, ids["alice"]))
            return False
        task = rng.choice(ready)
        name = LANE_USER[task.lane]
        clock.step()
        complete_task(s, user=s.get(User, ids[name]), task_id=task.id, data=wl.data_for(task),
                      totp_code=wl.code(secrets[name], clock), password=wl.PASSWORD, policy=pol)
        return True


def _child(url, forms, key, ids, secrets, base, seed, counter):
    """The victim: completes signed tasks forever, until SIGKILL."""
    os.environ["SEALTRAIL_FORMS_PATH"] = forms
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    clock = wl.Clock(base)
    pol = wl.policy(key, clock)
    rng = random.Random(seed)
    while True:
        if _complete_one(sessions, rng, ids, secrets, pol, clock):
            with counter.get_lock():
                counter.value += 1


@pytest.fixture()
def world(fresh_db, monkeypatch):
    monkeypatch.setenv("SEALTRAIL_FORMS_PATH", str(wl.FORMS))
    clock = wl.Clock()
    key = wl.new_totp_key()
    pol = wl.policy(key, clock)
    ids, secrets = {}, {}
    with fresh_db.sessions.begin() as s:
        for name, role in (("alice", "process_engineer"), ("quinn", "qa_manager"),
                           ("pat", "production_manager")):
            user, secrets[name] = wl.create_user(s, name, [role], pol, clock)
            ids[name] = user.id
        wl.deploy_process(s, wl.actor_of(s.get(User, ids["alice"])))
    return fresh_db, key, ids, secrets, clock


@pytest.mark.requirement("21CFR11.10(c)", "21CFR11.10(e)", "Annex11-7")
def test_sigkill_at_random_moments_leaves_only_whole_signed_completions(world, capsys):
    db, key, ids, secrets, clock = world
    master = int(os.environ.get("SEALTRAIL_CRASH_SEED") or random.randrange(2**32))
    rng = random.Random(master)
    log = [f"master seed {master} (rerun: SEALTRAIL_CRASH_SEED={master})"]
    context = multiprocessing.get_context("fork")
    completed_before = 0
    for kill in range(KILLS):
        seed = rng.randrange(2**32)
        target = rng.randint(1, 4)
        delay = rng.uniform(0.0, 0.12)
        db.engine.dispose()  # the child must inherit no pooled connection
        counter = context.Value("i", 0)
        base = clock.now + (kill + 1) * wl.dt.timedelta(days=10)  # fresh TOTP steps per run
        child = context.Process(target=_child, daemon=True, args=(
            db.url, str(wl.FORMS), key, ids, secrets, base, seed, counter))
        child.start()
        deadline = time.monotonic() + 60
        while counter.value < target and child.is_alive() and time.monotonic() < deadline:
            time.sleep(0.005)
        time.sleep(delay)
        assert child.is_alive(), f"child died on its own (exit {child.exitcode}); {log}"
        os.kill(child.pid, signal.SIGKILL)
        child.join(10)
        assert child.exitcode == -signal.SIGKILL
        line = (f"kill {kill + 1}/{KILLS}: seed={seed} after {counter.value} completions "
                f"(+{delay * 1000:.0f} ms)")
        try:
            state = wl.check_invariants(db.sessions)
            chain = wl.chain_report(db.sessions)
        except AssertionError as exc:
            raise AssertionError(f"{line}: {exc}\n" + "\n".join(log)) from exc
        assert state["completed"] >= completed_before, line
        completed_before = state["completed"]
        log.append(f"{line} -> {state['completed']} completed, {state['instances']} instances, "
                   f"{chain['entries']} audit entries")
    with capsys.disabled():
        print("\n" + "\n".join(log))

    # Every instance can continue: drive all of them to the end in this process.
    clock.now += (KILLS + 2) * wl.dt.timedelta(days=10)
    pol = wl.policy(key, clock)
    sessions = db.sessions
    for _ in range(500):
        with sessions.begin() as s:
            ready = s.scalars(select(WorkflowTask).where(WorkflowTask.state == "ready")).first()
            if ready is None:
                break
            name = LANE_USER[ready.lane]
            clock.step()
            complete_task(s, user=s.get(User, ids[name]), task_id=ready.id,
                          data=wl.data_for(ready), totp_code=wl.code(secrets[name], clock),
                          password=wl.PASSWORD, policy=pol)
    with sessions.begin() as s:
        statuses = set(s.scalars(select(ProcessInstance.status)))
    assert statuses == {"completed"}, statuses
    wl.check_invariants(db.sessions)
    wl.chain_report(db.sessions)
