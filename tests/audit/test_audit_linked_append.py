"""The server-linked append on PostgreSQL (``audit_append_linked``): the first append of a
transaction locks, reads the head, links and inserts in one statement; the application checks
every link the server computed before the transaction can commit."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import event, select

import audit.chain as chain
from audit import SYSTEM, Actor
from audit.chain import append, append_many
from audit.errors import AuditValueError
from audit.models import AuditEntry
from audit.verify import verify_chain

ALICE = Actor("user", "1", "Alice Initiator")


@pytest.fixture
def pg_db(fresh_db):
    if fresh_db.engine.dialect.name != "postgresql":
        pytest.skip("the server-linked append is PostgreSQL's")
    with fresh_db.sessions.begin() as s:  # the chain's first entry links to the genesis (client side)
        append(s, SYSTEM, "installed", "t", "0")
    return fresh_db


def _statements(engine):
    seen = []

    def record(conn, cursor, statement, *args):
        seen.append(statement)
    event.listen(engine, "before_cursor_execute", record)
    return seen, lambda: event.remove(engine, "before_cursor_execute", record)


@pytest.mark.requirement("21CFR11.10(e)", "Annex11-9")
def test_one_statement_locks_links_and_inserts_and_the_chain_verifies(pg_db):
    seen, stop = _statements(pg_db.engine)
    try:
        with pg_db.sessions.begin() as s:
            first = append(s, ALICE, "measured", "lot", "L-1", payload={"v": 182.5, "note": "100% 'ok' \\ {}"})
            more = append_many(s, [dict(actor=ALICE, action="signed", object_type="task", object_id="7",
                                        reason="approved"), dict(actor=SYSTEM, action="done", object_type="task",
                                                                 object_id="7")])
    finally:
        stop()
    linked = [st for st in seen if "audit_append_linked" in st]
    assert len(linked) == 1  # the later appends of the transaction know the head: no lock, no read
    assert not any("pg_advisory_xact_lock" in st for st in seen)
    assert [first.seq, *(m.seq for m in more)] == [2, 3, 4]
    with pg_db.sessions.begin() as s:
        result = verify_chain(s)
        assert result.ok and result.count == 4
        assert not [note for note in result.notes if "backwards" in note]


@pytest.mark.requirement("21CFR11.10(e)", "Annex11-9")
def test_a_batch_as_the_first_append_is_linked_in_order(pg_db):
    with pg_db.sessions.begin() as s:
        out = append_many(s, [dict(actor=SYSTEM, action="imp", object_type="row", object_id=str(i),
                                   payload={"i": i}) for i in range(25)])
    assert [a.seq for a in out] == list(range(2, 27))
    with pg_db.sessions.begin() as s:
        rows = s.scalars(select(AuditEntry).order_by(AuditEntry.seq)).all()
        assert [r.object_id for r in rows[1:]] == [str(i) for i in range(25)]
        assert verify_chain(s).ok


@pytest.mark.requirement("21CFR11.10(e)", "Annex11-9")
def test_a_default_recorded_time_never_goes_before_the_head(pg_db):
    """A writer that waited for the lock records no earlier time than the entry before it."""
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1)
    with pg_db.sessions.begin() as s:
        ahead = append(s, ALICE, "signed", "task", "1", at=later)  # a caller's clock, given
    with pg_db.sessions.begin() as s:
        after = append(s, ALICE, "next", "task", "2")
    assert after.recorded_at == ahead.recorded_at
    with pg_db.sessions.begin() as s:
        assert not [n for n in verify_chain(s).notes if "backwards" in n]


@pytest.mark.requirement("21CFR11.10(e)", "Annex11-9")
def test_a_link_the_application_cannot_reproduce_is_never_committed(pg_db, monkeypatch):
    monkeypatch.setattr(chain, "link_hash", lambda prev, data: "0" * 64)
    with pytest.raises(AuditValueError, match="database linked seq 2"):
        with pg_db.sessions.begin() as s:
            append(s, ALICE, "measured", "lot", "L-1")
    monkeypatch.undo()
    with pg_db.sessions.begin() as s:
        assert s.scalar(select(AuditEntry.seq).order_by(AuditEntry.seq.desc()).limit(1)) == 1
