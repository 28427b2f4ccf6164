"""The system clock moved backwards: sequence, not time, orders the chain; verify flags it.

The server clock cannot be stepped back on a shared test machine, so the clock every time
source reads (audit entries, task completion times, the signing policy) is moved back an hour
in-process, between two signed completions.
"""
from __future__ import annotations

import datetime as dt
import types

import pytest
from sqlalchemy import select

import audit.chain
from audit.errors import ReplayedCode
from audit.models import AuditEntry
from audit.signatures import sign
from audit.verify import verify_chain
from engine.workflows import complete_task, open_tasks
from engine.workflows import tasks as engine_tasks
from tests.ops import workload as wl


BACK = dt.timedelta(hours=1)


class _BackwardsDatetime(dt.datetime):
    @classmethod
    def now(cls, tz=None):
        return dt.datetime.now(tz) - BACK


@pytest.fixture()
def clock_backwards(monkeypatch):
    """Call it to move every time source of the process back by an hour."""
    def move():
        fake_dt = types.SimpleNamespace(datetime=_BackwardsDatetime, timezone=dt.timezone,
                                        timedelta=dt.timedelta, date=dt.date)
        monkeypatch.setattr(audit.chain, "dt", fake_dt)
        monkeypatch.setattr(engine_tasks, "utcnow", lambda: dt.datetime.now(dt.timezone.utc) - BACK)
    return move


@pytest.mark.requirement("21CFR11.10(e)", "Annex11-9")
def test_signing_after_the_clock_went_back_keeps_the_chain_ordered(fresh_db, monkeypatch,
                                                                    clock_backwards):
    monkeypatch.setenv("SEALTRAIL_FORMS_PATH", str(wl.FORMS))
    real = wl.Clock()
    early = wl.Clock(real.now - 2 * BACK)  # quinn enrolled two hours ago
    key = wl.new_totp_key()
    with fresh_db.sessions.begin() as s:
        alice, alice_secret = wl.create_user(s, "alice", ["process_engineer"], wl.policy(key, real),
                                             real)
        quinn, quinn_secret = wl.create_user(s, "quinn", ["qa_manager"], wl.policy(key, early),
                                             early)
        wl.deploy_process(s, wl.actor_of(alice))
        instance_id = wl.start(s, alice).id
    real.step()
    with fresh_db.sessions.begin() as s:  # alice signs at the correct time
        task = open_tasks(s, instance_id)[0]
        done = complete_task(s, user=s.merge(alice), task_id=task.id, data=wl.data_for(task),
                             totp_code=wl.code(alice_secret, real), password=wl.PASSWORD,
                             policy=wl.policy(key, real))
        first_seq, first_time = done.task.audit_seq, done.signature.signed_at

    clock_backwards()
    behind = wl.Clock(real.now - BACK)
    with fresh_db.sessions.begin() as s:  # quinn signs with the clock an hour behind
        task = open_tasks(s, instance_id)[0]
        done = complete_task(s, user=s.merge(quinn), task_id=task.id, data={"approved": True},
                             totp_code=wl.code(quinn_secret, behind), password=wl.PASSWORD,
                             policy=wl.policy(key, behind))
        second_seq, second_time = done.task.audit_seq, done.signature.signed_at

    assert second_seq > first_seq  # the sequence orders the chain
    assert str(second_time) < str(first_time)  # ... even though time ran backwards
    with fresh_db.sessions.begin() as s:
        first, second = s.scalars(select(AuditEntry).where(AuditEntry.seq.in_(
            [first_seq, second_seq])).order_by(AuditEntry.seq)).all()
        assert second.recorded_at < first.recorded_at  # stored as it happened, not "fixed"
    wl.chain_report(fresh_db.sessions)  # gap-free, linked (and verified once audit.verify exists)

    # Replay protection holds across the jump: alice's time-steps never go backwards, so a code
    # for an hour ago is refused rather than accepted (she signs again once time catches up).
    with fresh_db.sessions.begin() as s:
        with pytest.raises(ReplayedCode):
            sign(s, s.merge(alice), password=wl.PASSWORD, totp_code=wl.code(alice_secret, behind),
                 meaning="reviewed", record_type="probe", record_id="1", record={"probe": 1},
                 policy=wl.policy(key, behind))

    with fresh_db.engine.connect() as conn:
        result = verify_chain(conn)
    assert result.ok, result.summary()  # the chain itself is intact...
    flagged = [note for note in result.notes if "time goes backwards" in note]
    assert flagged and f"seq {second_seq}" in " ".join(flagged), result.notes  # ...and flagged
