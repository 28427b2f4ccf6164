"""Workflow throughput: signed, persisted, audited task completions vs bare SpiffWorkflow.

N instances of a 5-user-task process (two lanes, an exclusive gateway after the third task).
Every completion goes through ``engine.workflows.complete_task`` in its own transaction: form
validation, a Part 11 signature (TOTP within a continuous signing session, as §11.200(a)(1)(i)
allows after the first password+TOTP signing), running the workflow forward, persisting the
spec-less state and the task table, and the audit-chain entries (the next task is the one the
previous completion opened: no inbox query inside the timed loop). The floor is bare SpiffWorkflow
doing the same steps in memory with ``serialize_json`` + ``deserialize_json`` around each step,
measured in the same process and run.

    python bench/workflow_throughput.py [--instances 200] [--rounds 5] [--postgres URL] [--sqlite-only]

The floor and Sealtrail runs alternate (``--rounds``) so that both see the same machine load.

Prints figures; never fails (it is not a test).
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
_TMP = Path(tempfile.mkdtemp(prefix="sealtrail-bench-"))
os.environ.setdefault("SEALTRAIL_VAR_DIR", str(_TMP / "var"))

TASKS = [("t1", "operator"), ("t2", "qa_engineer"), ("t3", "operator"), ("t4", "qa_engineer"), ("t5", "operator")]
FORM = '{"type": "object", "properties": {"note": {"type": "string"}, "ok": {"type": "boolean"}}, "required": ["ok"]}'
DATA = {"note": "x" * 500, "ok": True}  # ~600 bytes a form, as in the reference measurements


def bpmn() -> str:
    """The benchmark diagram: t1..t5 in two lanes, an XOR gateway after t3."""
    refs = {lane: [] for _, lane in TASKS}
    for tid, lane in TASKS:
        refs[lane].append(tid)
    refs["operator"] += ["start", "gw", "end", "end_alt"]
    lanes = "".join(f'<bpmn:lane id="L_{lane}" name="{lane}">'
                    + "".join(f"<bpmn:flowNodeRef>{r}</bpmn:flowNodeRef>" for r in ids) + "</bpmn:lane>"
                    for lane, ids in refs.items())
    tasks = "".join(
        f'<bpmn:userTask id="{tid}" name="Task {tid}"><bpmn:extensionElements><spiffworkflow:properties>'
        f'<spiffworkflow:property name="formJsonSchemaFilename" value="bench_form" />'
        f'<spiffworkflow:property name="signatureMeaning" value="reviewed" />'
        f"</spiffworkflow:properties></bpmn:extensionElements></bpmn:userTask>" for tid, _ in TASKS)
    flows = [("f0", "start", "t1"), ("f1", "t1", "t2"), ("f2", "t2", "t3"), ("f3", "t3", "gw"),
             ("f5", "t4", "t5"), ("f6", "t5", "end"), ("f_alt", "gw", "end_alt")]
    flow_xml = "".join(f'<bpmn:sequenceFlow id="{i}" sourceRef="{s}" targetRef="{t}" />' for i, s, t in flows)
    flow_xml += ('<bpmn:sequenceFlow id="f4" sourceRef="gw" targetRef="t4"><bpmn:conditionExpression>ok == True'
                 "</bpmn:conditionExpression></bpmn:sequenceFlow>")
    return ('<?xml version="1.0" encoding="UTF-8"?><bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
            'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="D" targetNamespace="x">'
            '<bpmn:process id="bench_five" isExecutable="true"><bpmn:laneSet id="LS">' + lanes + "</bpmn:laneSet>"
            '<bpmn:startEvent id="start" />' + tasks + '<bpmn:exclusiveGateway id="gw" default="f_alt" />'
            '<bpmn:endEvent id="end" /><bpmn:endEvent id="end_alt" />' + flow_xml + "</bpmn:process></bpmn:definitions>")


BARE_CPU = [0.0]  # CPU seconds of this process inside bare_floor, summed


def bare_floor(instances: int) -> tuple[float, int]:
    """Seconds for bare SpiffWorkflow with serialize+deserialize around every step; steps done.
    (Its CPU seconds are added to ``BARE_CPU``.)"""
    from SpiffWorkflow.bpmn import BpmnWorkflow
    from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
    from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
    from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
    from SpiffWorkflow.util.task import TaskState

    parser = SpiffBpmnParser()
    parser.add_bpmn_str(bpmn().encode(), "bench.bpmn")
    spec = parser.get_spec("bench_five")
    ser = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))
    steps = 0
    started, cpu = time.perf_counter(), time.process_time()
    for _ in range(instances):
        wf = BpmnWorkflow(spec)
        wf.do_engine_steps()
        state = ser.serialize_json(wf)
        while True:
            wf = ser.deserialize_json(state)
            ready = wf.get_tasks(state=TaskState.READY, manual=True)
            if not ready:
                break
            ready[0].data.update(DATA)
            ready[0].run()
            wf.do_engine_steps()
            state = ser.serialize_json(wf)
            steps += 1
    BARE_CPU[0] += time.process_time() - cpu
    return time.perf_counter() - started, steps


class Sealtrail:
    """A scratch installation with two signing users and the benchmark process deployed."""

    def __init__(self, url: str):
        import pyotp
        from cryptography.fernet import Fernet

        from audit.enrollment import begin_enrollment, confirm_enrollment
        from audit.passwords import hash_password
        from audit.policy import SigningPolicy
        from audit.signatures import open_signing_session
        from engine import migrate
        from engine.db import make_engine, make_session_factory
        from engine.schema import load_models
        from engine.users.models import User, UserRole
        from engine.workflows import Document, actor_of, deploy

        load_models()
        migrate.upgrade(url)
        self.engine = make_engine(url)
        self.sessions = make_session_factory(self.engine)
        self.now = time.time()
        self.policy = SigningPolicy(totp_key=Fernet.generate_key(), clock=self.clock, idle_seconds=10**9)
        self.password = "Bench-Password-1"
        self.people = {}
        with self.sessions.begin() as s:
            for role in ("operator", "qa_engineer"):
                user = User(username=f"bench_{role}_{uuid.uuid4().hex[:6]}", printed_name=f"Bench {role}",
                            password_hash=hash_password(self.password), must_change_password=False, locale="en",
                            timezone="UTC", role_rows=[UserRole(role=role)])
                s.add(user)
                s.flush()
                enrollment = begin_enrollment(s, user, policy=self.policy)
                confirm_enrollment(s, user, enrollment.credential_id, password=self.password,
                                   code=pyotp.TOTP(enrollment.secret).at(self.clock()), policy=self.policy)
                self.people[role] = {"user": user, "totp": pyotp.TOTP(enrollment.secret),
                                     "session": open_signing_session(s, user, policy=self.policy), "signed": False}
            deploy(s, actor_of(self.people["operator"]["user"]), [Document("bench.bpmn", bpmn().encode())])
        self.cpu = 0.0
        self.run(3)  # warm-up: imports, caches, the first password+TOTP signing of each user
        self.cpu = 0.0

    def clock(self):
        from datetime import datetime, timezone

        return datetime.fromtimestamp(self.now, timezone.utc)

    def one_instance(self) -> int:
        """Start an instance and complete its tasks, one transaction per completion (the next task
        is the one the previous completion opened, as a user's inbox would show it)."""
        from engine.workflows import actor_of, complete_task, open_tasks, start_instance

        done = 0
        with self.sessions.begin() as s:
            instance_id = start_instance(s, actor_of(self.people["operator"]["user"]), "bench_five").id
            ready = [(t.id, t.lane) for t in open_tasks(s, instance_id)]
        while ready:
            task_id, lane = ready[0]
            p = self.people[lane]
            self.now += 30  # a fresh TOTP time-step for every signing (replay protection)
            with self.sessions.begin() as s:
                completion = complete_task(s, user=p["user"], task_id=task_id, data=DATA, policy=self.policy,
                                           totp_code=p["totp"].at(self.clock()),
                                           password=None if p["signed"] else self.password,
                                           signing_session_id=p["session"])
                ready = [(t.id, t.lane) for t in completion.new_tasks]
            p["signed"] = True
            done += 1
        return done

    def run(self, instances: int) -> tuple[float, int]:
        """Seconds spent inside the completions' transactions for N instances; completions.
        (The CPU seconds of this process are added to ``self.cpu``.)"""
        completions = 0
        started, cpu = time.perf_counter(), time.process_time()
        for _ in range(instances):
            completions += self.one_instance()
        self.cpu += time.process_time() - cpu
        return time.perf_counter() - started, completions

    def statements_per_completion(self) -> float:
        """SQL statements sent inside complete_task, averaged over one instance (not timed)."""
        import engine.workflows as workflows
        from sqlalchemy import event

        counted = {"on": False, "n": 0, "calls": 0}

        def count(_conn=None, _cursor=None, statement="", *_args, **_kwargs):
            if counted["on"]:  # the chain's lock + head read: two statements in one message
                counted["n"] += 1 + str(statement).count("; ")

        real = workflows.complete_task

        def complete_task(*args, **kwargs):
            counted["on"] = True
            counted["calls"] += 1
            try:
                return real(*args, **kwargs)
            finally:
                counted["on"] = False

        event.listen(self.engine, "before_cursor_execute", count)
        raw_execute = None
        try:  # statements sent to psycopg directly, around SQLAlchemy
            import psycopg

            raw_execute = psycopg.Connection.execute

            def execute(conn, query, *args, **kwargs):
                count()
                return raw_execute(conn, query, *args, **kwargs)

            psycopg.Connection.execute = execute
        except ImportError:
            pass
        workflows.complete_task = complete_task
        try:
            self.one_instance()
        finally:
            workflows.complete_task = real
            event.remove(self.engine, "before_cursor_execute", count)
            if raw_execute is not None:
                psycopg.Connection.execute = raw_execute
        return counted["n"] / max(counted["calls"], 1)

    def close(self) -> None:
        self.engine.dispose()


def scratch_postgres(server_url: str):
    """A fresh database next to ``server_url``: (url, drop)."""
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from engine.db import make_engine

    name = f"st_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = make_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop():
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return make_url(server_url).set(database=name).render_as_string(hide_password=False), drop


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--instances", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=5, help="bare and Sealtrail runs alternate this many times")
    ap.add_argument("--postgres", default=os.environ.get("SEALTRAIL_BENCH_POSTGRES",
                                                         "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    ap.add_argument("--sqlite-only", action="store_true")
    ap.add_argument("--report", help="append the result rows (JSON lines) to this file")
    args = ap.parse_args()
    forms_dir = _TMP / "forms"
    forms_dir.mkdir()
    (forms_dir / "bench_form.json").write_text(FORM)
    os.environ["SEALTRAIL_FORMS_PATH"] = str(forms_dir)

    targets = [("SQLite", f"sqlite:///{_TMP / 'bench.db'}", None)]
    if not args.sqlite_only:
        targets.append(("PostgreSQL", *scratch_postgres(args.postgres)))
    rows = []
    try:
        systems = [(label, Sealtrail(url)) for label, url, _ in targets]
        per_round = max(1, args.instances // args.rounds)
        totals = {label: [0.0, 0, 0.0, 0, 0.0] for label, _ in systems}  # own s, completions, bare s, steps, bare CPU s
        for _ in range(args.rounds):
            # Alternate with the floor so both see the same machine load (the machine is shared).
            for label, system in systems:
                cpu_before = BARE_CPU[0]
                # Each side starts from a collected heap, so neither pays for a full collection
                # the other's allocations made due (it fell on the bare side in some runs: 3x its time).
                gc.collect()
                bare_s, steps = bare_floor(per_round)
                gc.collect()
                secs, done = system.run(per_round)
                t = totals[label]
                t[0], t[1], t[2], t[3] = t[0] + secs, t[1] + done, t[2] + bare_s, t[3] + steps
                t[4] += BARE_CPU[0] - cpu_before
        for label, system in systems:
            secs, done, bare_s, steps, bare_cpu = totals[label]
            ms, bare_ms = secs * 1000 / done, bare_s * 1000 / steps
            # Where the time goes: this process's CPU (Python, the drivers, SQLite itself) and the
            # rest (waiting for PostgreSQL: round trips, its own work, the machine's other load).
            cpu_ms, bare_cpu_ms = system.cpu * 1000 / done, bare_cpu * 1000 / steps
            statements = system.statements_per_completion()
            goal = 3.0 if label == "PostgreSQL" else 2.0
            print(f"bare SpiffWorkflow (serialize+deserialize around each step), alternating with {label}: "
                  f"{steps} steps = {bare_ms:.3f} ms/step")
            print(f"{label}: {done} signed+persisted+audited completions in {secs:.2f} s = {done / secs:.0f}/s, "
                  f"{ms:.2f} ms each, {statements:.1f} SQL statements each; ratio {ms / bare_ms:.2f}x "
                  f"(goal <= {goal:g}x{', stretch 2x' if label == 'PostgreSQL' else ''})")
            print(f"{label}:   CPU of this process {cpu_ms:.2f} ms/completion ({cpu_ms / bare_cpu_ms:.2f}x the bare "
                  f"{bare_cpu_ms:.2f} ms/step), not on this CPU {max(ms - cpu_ms, 0):.2f} ms/completion")
            rows.append({"benchmark": f"workflow completion, {label}", "figure": f"{ms:.2f} ms/completion",
                         "baseline": f"{bare_ms:.2f} ms/step bare SpiffWorkflow", "ratio": ms / bare_ms,
                         "goal": f"<= {goal:g}x", "met": ms / bare_ms <= goal,
                         "note": f"{statements:.1f} statements/completion; CPU {cpu_ms:.2f} ms/completion "
                                 f"({cpu_ms / bare_cpu_ms:.2f}x bare CPU {bare_cpu_ms:.2f} ms/step), "
                                 f"waiting {max(ms - cpu_ms, 0):.2f} ms"})
            system.close()
    finally:
        for _, _, drop in targets:
            if drop is not None:
                drop()
    if args.report:
        with open(args.report, "a") as out:
            for row in rows:
                out.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
