"""Workflow throughput: signed, persisted, audited task completions vs bare SpiffWorkflow.

N instances of a 5-user-task process (two lanes, an exclusive gateway after the third task).
Every completion goes through ``engine.workflows.complete_task`` in its own transaction: form
validation, a Part 11 signature (TOTP within a continuous signing session, as §11.200(a)(1)(i)
allows after the first password+TOTP signing), running the workflow forward, persisting the
spec-less state and the task table, and an audit-chain entry. The floor is bare SpiffWorkflow
doing the same steps in memory with ``serialize_json`` + ``deserialize_json`` around each step,
measured in the same process and run.

    python bench/workflow_throughput.py [--instances 200] [--postgres URL] [--sqlite-only]

Prints figures; never fails (it is not a test).
"""
from __future__ import annotations

import argparse
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


def bare_floor(instances: int) -> tuple[float, int]:
    """Seconds for bare SpiffWorkflow with serialize+deserialize around every step; steps done."""
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
    started = time.perf_counter()
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
    return time.perf_counter() - started, steps


def sealtrail_run(url: str, instances: int) -> tuple[float, int]:
    """Seconds for N instances through complete_task (one transaction per completion); completions."""
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
    from engine.workflows import Document, actor_of, complete_task, deploy, open_tasks, start_instance

    load_models()
    migrate.upgrade(url)
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    now = [time.time()]

    def clock():
        from datetime import datetime, timezone

        return datetime.fromtimestamp(now[0], timezone.utc)

    policy = SigningPolicy(totp_key=Fernet.generate_key(), clock=clock, idle_seconds=10**9)
    password = "Bench-Password-1"
    people = {}
    with sessions.begin() as s:
        for role in ("operator", "qa_engineer"):
            user = User(username=f"bench_{role}_{uuid.uuid4().hex[:6]}", printed_name=f"Bench {role}",
                        password_hash=hash_password(password), must_change_password=False, locale="en",
                        timezone="UTC", role_rows=[UserRole(role=role)])
            s.add(user)
            s.flush()
            enrollment = begin_enrollment(s, user, policy=policy)
            confirm_enrollment(s, user, enrollment.credential_id, password=password,
                               code=pyotp.TOTP(enrollment.secret).at(clock()), policy=policy)
            people[role] = {"user": user, "secret": enrollment.secret,
                            "session": open_signing_session(s, user, policy=policy), "signed": False}
        deploy(s, actor_of(people["operator"]["user"]), [Document("bench.bpmn", bpmn().encode())])
    def one_instance() -> int:
        done = 0
        with sessions.begin() as s:
            instance = start_instance(s, actor_of(people["operator"]["user"]), "bench_five")
            instance_id = instance.id
        while True:
            with sessions.begin() as s:
                tasks = open_tasks(s, instance_id)
                if not tasks:
                    break
                p = people[tasks[0].lane]
                now[0] += 30  # a fresh TOTP time-step for every signing (replay protection)
                complete_task(s, user=p["user"], task_id=tasks[0].id, data=DATA, policy=policy,
                              totp_code=pyotp.TOTP(p["secret"]).at(clock()),
                              password=None if p["signed"] else password, signing_session_id=p["session"])
                p["signed"] = True
            done += 1
        return done

    for _ in range(3):  # warm-up: imports, caches, the first password+TOTP signing of each user
        one_instance()
    completions = 0
    started = time.perf_counter()
    for _ in range(instances):
        completions += one_instance()
    elapsed = time.perf_counter() - started
    engine.dispose()
    return elapsed, completions


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--instances", type=int, default=200)
    ap.add_argument("--postgres", default=os.environ.get("SEALTRAIL_BENCH_POSTGRES",
                                                         "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    ap.add_argument("--sqlite-only", action="store_true")
    args = ap.parse_args()
    forms_dir = _TMP / "forms"
    forms_dir.mkdir()
    (forms_dir / "bench_form.json").write_text(FORM)
    os.environ["SEALTRAIL_FORMS_PATH"] = str(forms_dir)

    bare_s, bare_steps = bare_floor(args.instances)
    bare_ms = bare_s * 1000 / bare_steps
    print(f"bare SpiffWorkflow (serialize+deserialize around each step): {bare_steps} steps in {bare_s:.2f} s "
          f"= {bare_ms:.3f} ms/step, {bare_steps / bare_s:.0f} steps/s")
    targets = [("SQLite", f"sqlite:///{_TMP / 'bench.db'}")]
    if not args.sqlite_only:
        targets.append(("PostgreSQL", args.postgres))
    for label, url in targets:
        admin = None
        if url.startswith("postgresql"):
            from sqlalchemy import text
            from sqlalchemy.engine import make_url

            from engine.db import make_engine

            name = f"st_bench_{os.getpid()}"
            admin = make_engine(url, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            url = make_url(url).set(database=name).render_as_string(hide_password=False)
        try:
            secs, done = sealtrail_run(url, args.instances)
        finally:
            if admin is not None:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin.dispose()
        ms = secs * 1000 / done
        print(f"{label}: {done} signed+persisted+audited completions in {secs:.2f} s = {done / secs:.0f}/s, "
              f"{ms:.2f} ms each; ratio to bare floor {ms / bare_ms:.2f}x (goal <= 2x on PostgreSQL)")


if __name__ == "__main__":
    main()
