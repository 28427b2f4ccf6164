"""A signed-workflow workload for the fault-injection and concurrency tests.

Uses the engine's test diagram ``t_approval`` (request → approve → acknowledge, each a signed
user task) and its forms. Users are real: argon2id passwords, enrolled TOTP authenticators.
The signing clock is explicit so that every signature presents a fresh TOTP time-step.
"""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pyotp
from cryptography.fernet import Fernet
from sqlalchemy import func, select

from audit.enrollment import begin_enrollment, confirm_enrollment
from audit.models import AuditEntry, Signature
from audit.passwords import hash_password
from audit.policy import SigningPolicy
from engine.users.models import User, UserRole
from engine.workflows import Document, actor_of, deploy, open_tasks, start_instance
from engine.workflows import runtime
from engine.workflows.models import ProcessInstance, WorkflowTask

ROOT = Path(__file__).resolve().parents[2]
BPMN = ROOT / "tests" / "engine" / "bpmn" / "approval.bpmn"
FORMS = ROOT / "tests" / "engine" / "forms"
PROCESS = "t_approval"
PASSWORD = "Correct-Horse-42"
_HASH = None
DATA = {
    "ut_request": lambda n: {"number": f"CR-{n}", "amount": 500, "reason": "fault injection"},
    "ut_approve": lambda n: {"approved": True},
    "ut_ack": lambda n: {"note": "ok"},
}


class Clock:
    """The signing policy's clock; ``step()`` moves it one TOTP time-step forward."""

    def __init__(self, start: dt.datetime | None = None):
        self.now = (start or dt.datetime.now(dt.timezone.utc)).replace(microsecond=0)

    def __call__(self) -> dt.datetime:
        return self.now

    def step(self, steps: int = 1) -> None:
        self.now += dt.timedelta(seconds=30 * steps)


def policy(totp_key: bytes, clock: Clock) -> SigningPolicy:
    return SigningPolicy(totp_key=totp_key, clock=clock, idle_seconds=600, lockout_failures=1000)


def new_totp_key() -> bytes:
    return Fernet.generate_key()


def create_user(session, username: str, roles: list[str], pol: SigningPolicy,
                clock: Clock) -> tuple[User, str]:
    """A committed-to-be user with an enrolled authenticator; returns it and its TOTP secret."""
    global _HASH
    _HASH = _HASH or hash_password(PASSWORD)
    user = User(username=username, printed_name=f"{username.title()} Tester", password_hash=_HASH,
                active=True, must_change_password=False, locale="en", timezone="UTC",
                role_rows=[UserRole(role=r) for r in roles])
    session.add(user)
    session.flush()
    enrollment = begin_enrollment(session, user, policy=pol)
    confirm_enrollment(session, user, enrollment.credential_id, password=PASSWORD,
                       code=pyotp.TOTP(enrollment.secret).at(clock.now), policy=pol)
    return user, enrollment.secret


def deploy_process(session, actor) -> None:
    deploy(session, actor, [Document(BPMN.name, BPMN.read_bytes())])


def start(session, user, n: int | None = None) -> ProcessInstance:
    return start_instance(session, actor_of(user), PROCESS)


def data_for(task: WorkflowTask) -> dict:
    return DATA[task.spec_name](task.instance_id)


def code(secret: str, clock: Clock) -> str:
    return pyotp.TOTP(secret).at(clock.now)


def check_invariants(sessions) -> dict:
    """Signed-completion invariants; raises AssertionError naming the first violation."""
    with sessions.begin() as s:
        tasks = {t.id: t for t in s.scalars(select(WorkflowTask))}
        sigs = list(s.scalars(select(Signature).where(Signature.record_type == "workflow_task")))
        entries = list(s.scalars(select(AuditEntry).where(
            AuditEntry.action == "workflow.task_completed")))
        completed = {tid for tid, t in tasks.items() if t.state == "completed"}
        sig_by_task: dict[str, list] = {}
        for sig in sigs:
            sig_by_task.setdefault(sig.record_id, []).append(sig)
        entry_by_task: dict[str, list] = {}
        for entry in entries:
            entry_by_task.setdefault(entry.object_id, []).append(entry)
        for tid in completed:
            assert len(sig_by_task.get(tid, [])) == 1, f"task {tid}: {len(sig_by_task.get(tid, []))} signatures"
            assert len(entry_by_task.get(tid, [])) == 1, f"task {tid}: {len(entry_by_task.get(tid, []))} audit entries"
            assert tasks[tid].audit_seq == entry_by_task[tid][0].seq, f"task {tid}: audit_seq mismatch"
            assert tasks[tid].signature_id == sig_by_task[tid][0].signature_id, f"task {tid}: signature mismatch"
        orphan_sigs = set(sig_by_task) - completed
        orphan_entries = set(entry_by_task) - completed
        assert not orphan_sigs, f"signatures for tasks not completed: {sorted(orphan_sigs)}"
        assert not orphan_entries, f"audit entries for tasks not completed: {sorted(orphan_entries)}"
        # every instance deserializes and its open tasks agree with the task table
        instances = list(s.scalars(select(ProcessInstance)))
        for instance in instances:
            workflow = runtime.load(s, instance, actor_of_system())
            ready = {str(t.id) for t in workflow.get_tasks(state=runtime.TaskState.READY,
                                                           manual=True)}
            table = {t.id for t in open_tasks(s, instance.id)}
            assert ready == table, f"instance {instance.id}: workflow ready {ready} != table {table}"
        return {"completed": len(completed), "instances": len(instances),
                "audit_entries": s.scalar(select(func.count()).select_from(AuditEntry))}


def actor_of_system():
    from audit import SYSTEM

    return SYSTEM


def chain_report(sessions) -> dict:
    """The chain is gap-free and linked; ``audit.verify`` confirms it when available."""
    with sessions.begin() as s:
        rows = list(s.execute(select(AuditEntry.seq, AuditEntry.prev_hash, AuditEntry.hash)
                              .order_by(AuditEntry.seq)))
        assert [r.seq for r in rows] == list(range(1, len(rows) + 1)), "chain has gaps"
        for before, after in zip(rows, rows[1:]):
            assert after.prev_hash == before.hash, f"link broken at seq {after.seq}"
        result = None
        try:
            from audit.verify import verify_chain
        except ImportError:
            verify_chain = None
        if verify_chain is not None:
            result = verify_chain(s.connection())
            assert result.ok, f"chain does not verify: {result}"
        return {"entries": len(rows), "verified": None if result is None else str(result)}


def dumps(value) -> str:
    return json.dumps(value, default=str)
