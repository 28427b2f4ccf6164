"""Concurrency: 32 workers on different tasks, 8 racing for the same tasks, 16 audit writers.

All at once, on one database: no lost update, exactly one winner per raced task (the losers
get a clean Conflict and leave nothing behind), a gap-free chain that verifies.
"""
from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import func, select

from audit import Actor, chain
from audit.models import AuditEntry, Signature
from engine.db import make_engine, make_session_factory
from engine.errors import Conflict
from engine.workflows import complete_task, open_tasks
from engine.workflows.models import WorkflowTask
from tests.ops import workload as wl

pytestmark = pytest.mark.slow

WORKERS, RACERS, RACED_TASKS, WRITERS, APPENDS = 32, 8, 4, 16, 25


@pytest.fixture()
def forms_path(monkeypatch):
    monkeypatch.setenv("SEALTRAIL_FORMS_PATH", str(wl.FORMS))


@pytest.fixture()
def setup(fresh_db, forms_path):
    """Committed: users, the process, 32 instances at 'request', 4 instances at 'approve'."""
    clock = wl.Clock()
    key = wl.new_totp_key()
    pol = wl.policy(key, clock)
    secrets = {}
    with fresh_db.sessions.begin() as s:
        alice, _ = wl.create_user(s, "alice", ["process_engineer"], pol, clock)
        users = {}
        for i in range(WORKERS):
            users[f"pe{i:02d}"], secrets[f"pe{i:02d}"] = wl.create_user(
                s, f"pe{i:02d}", ["process_engineer"], pol, clock)
        for i in range(RACERS):
            users[f"qa{i}"], secrets[f"qa{i}"] = wl.create_user(s, f"qa{i}", ["qa_manager"], pol,
                                                                clock)
        wl.deploy_process(s, wl.actor_of(alice))
        worker_instances = [wl.start(s, alice).id for _ in range(WORKERS)]
        raced_instances = [wl.start(s, alice).id for _ in range(RACED_TASKS)]
    clock.step(2)
    # bring the raced instances to their approval task (pe00 requests them, sequentially)
    for n, instance_id in enumerate(raced_instances):
        clock.step()
        with fresh_db.sessions.begin() as s:
            task = open_tasks(s, instance_id)[0]
            complete_task(s, user=s.merge(users["pe00"]), task_id=task.id, data=wl.data_for(task),
                          totp_code=wl.code(secrets["pe00"], clock), password=wl.PASSWORD,
                          policy=pol)
    clock.step(2)
    with fresh_db.sessions.begin() as s:
        work = [open_tasks(s, i)[0].id for i in worker_instances]
        raced = [open_tasks(s, i)[0].id for i in raced_instances]
        assert all(s.get(WorkflowTask, t).spec_name == "ut_approve" for t in raced)
    return fresh_db, users, secrets, key, clock, work, raced


@pytest.mark.requirement("21CFR11.10(e)", "21CFR11.10(f)", "Annex11-9")
def test_workers_racers_and_audit_writers_at_once(setup):
    db, users, secrets, key, clock, work, raced = setup
    engine = make_engine(db.url, **({} if db.url.startswith("sqlite") else
                                    {"pool_size": 8, "max_overflow": 0, "pool_timeout": 120}))
    sessions = make_session_factory(engine)
    start = threading.Barrier(WORKERS + RACERS + WRITERS, timeout=60)
    round_barrier = threading.Barrier(RACERS, timeout=60)
    errors: list[str] = []
    worker_done: dict[str, str] = {}
    race_outcomes: dict[int, dict[str, str]] = {k: {} for k in range(RACED_TASKS)}
    appended: list[tuple[int, int]] = []
    lock = threading.Lock()

    def worker(i: int):
        name = f"pe{i:02d}"
        own_clock = wl.Clock(clock.now)  # every worker signs in the same time-step
        pol = wl.policy(key, own_clock)
        start.wait()
        try:
            with sessions.begin() as s:
                task = s.get(WorkflowTask, work[i])
                complete_task(s, user=s.merge(users[name]), task_id=work[i], data=wl.data_for(task),
                              totp_code=wl.code(secrets[name], own_clock), password=wl.PASSWORD,
                              policy=pol)
            worker_done[work[i]] = name
        except Exception as exc:  # noqa: BLE001 - every failure is reported below
            with lock:
                errors.append(f"worker {name}: {type(exc).__name__}: {exc}")

    def racer(i: int):
        name = f"qa{i}"
        own_clock = wl.Clock(clock.now)
        pol = wl.policy(key, own_clock)
        start.wait()
        for k, task_id in enumerate(raced):
            own_clock.step()  # a fresh time-step per round: a won round never blocks the next
            round_barrier.wait()
            try:
                with sessions.begin() as s:
                    complete_task(s, user=s.merge(users[name]), task_id=task_id,
                                  data={"approved": True}, totp_code=wl.code(secrets[name], own_clock),
                                  password=wl.PASSWORD, policy=pol)
                race_outcomes[k][name] = "won"
            except Conflict as exc:
                race_outcomes[k][name] = f"lost: {exc}"
            except Exception as exc:  # noqa: BLE001
                race_outcomes[k][name] = f"ERROR {type(exc).__name__}: {exc}"

    def writer(i: int):
        actor = Actor(kind="system", id=f"writer-{i}", name=f"Writer {i}")
        start.wait()
        for n in range(APPENDS):
            try:
                with sessions.begin() as s:
                    chain.append(s, actor, "ops.concurrency", "probe", f"{i}-{n}",
                                 payload={"writer": i, "n": n})
                with lock:
                    appended.append((i, n))
            except Exception as exc:  # noqa: BLE001
                with lock:
                    errors.append(f"writer {i}/{n}: {type(exc).__name__}: {exc}")

    threads = ([threading.Thread(target=worker, args=(i,)) for i in range(WORKERS)]
               + [threading.Thread(target=racer, args=(i,)) for i in range(RACERS)]
               + [threading.Thread(target=writer, args=(i,)) for i in range(WRITERS)])
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    elapsed = time.perf_counter() - began
    engine.dispose()
    print(f"{len(threads)} threads finished in {elapsed:.1f}s")

    assert not errors, errors
    assert len(worker_done) == WORKERS  # no lost update: every different task completed
    for k, outcomes in race_outcomes.items():
        winners = [n for n, o in outcomes.items() if o == "won"]
        odd = {n: o for n, o in outcomes.items() if o != "won" and not o.startswith("lost")}
        assert len(outcomes) == RACERS and not odd, (k, outcomes)
        assert len(winners) == 1, (k, outcomes)
    assert sorted(appended) == [(i, n) for i in range(WRITERS) for n in range(APPENDS)]

    with db.sessions.begin() as s:
        for task_id in work + raced:
            row = s.get(WorkflowTask, task_id)
            assert row.state == "completed"
            sigs = s.scalars(select(Signature).where(Signature.record_id == task_id)).all()
            assert len(sigs) == 1 and sigs[0].signature_id == row.signature_id
        probes = s.scalars(select(AuditEntry.object_id).where(
            AuditEntry.action == "ops.concurrency")).all()
        assert sorted(probes) == sorted(f"{i}-{n}" for i in range(WRITERS) for n in range(APPENDS))
        completions = s.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "workflow.task_completed"))
        assert completions == WORKERS + 2 * RACED_TASKS  # 4 requests in setup + 4 raced approvals
    wl.check_invariants(db.sessions)
    report = wl.chain_report(db.sessions)
    assert report["entries"] >= WRITERS * APPENDS + WORKERS + 2 * RACED_TASKS
