"""The chain: canonical bytes, linking, validation, transactions, concurrent writers."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading
from decimal import Decimal

import pytest
import rfc8785
from hypothesis import given, settings as hsettings, strategies as st
from sqlalchemy import func, select, text

from audit import SYSTEM, Actor
from audit.canonical import entry_bytes, genesis_hash, row_bytes
from audit.chain import append, append_many, ensure_installation, head
from audit.errors import AuditValueError
from audit.models import AuditEntry, AuditInstallation


ALICE = Actor("user", "1", "Alice Initiator")


def _document(e) -> dict:
    def val(text_):
        return None if text_ is None else json.loads(text_)
    return {"action": e.action, "actor": {"id": e.actor_id, "kind": e.actor_kind, "name": e.actor_name},
            "after": val(e.after), "before": val(e.before), "event_id": e.event_id,
            "object_id": e.object_id, "object_type": e.object_type, "payload": val(e.payload),
            "reason": e.reason, "recorded_at": e.recorded_at, "seq": e.seq, "v": 1}


def chain_rows(session):
    return session.scalars(select(AuditEntry).order_by(AuditEntry.seq)).all()


def assert_chain_ok(session):
    rows = chain_rows(session)
    prev = session.get(AuditInstallation, 1).genesis_hash
    for i, row in enumerate(rows, start=1):
        assert row.seq == i
        assert row.prev_hash == prev
        assert row.hash == hashlib.sha256(prev.encode() + row_bytes(row)).hexdigest()
        prev = row.hash
    return rows


@pytest.mark.requirement("21CFR11.10(e)", "Annex11-9")
def test_first_entry_chains_to_the_installation_genesis(session):
    entry = append(session, ALICE, "item.created", "item", 42, after={"code": "P-100", "rev": "A"})
    inst = session.get(AuditInstallation, 1)
    assert inst.genesis_hash == genesis_hash(inst.installation_id, inst.created_at)
    assert entry.seq == 1 and entry.prev_hash == inst.genesis_hash
    assert entry.object_id == "42" and entry.after_value == {"code": "P-100", "rev": "A"}
    expected = hashlib.sha256(inst.genesis_hash.encode() + rfc8785.dumps(_document(entry))).hexdigest()
    assert entry.hash == expected
    assert entry.recorded_at.endswith("Z") and len(entry.recorded_at) == 27
    recorded = dt.datetime.fromisoformat(entry.recorded_at.replace("Z", "+00:00"))
    assert abs((dt.datetime.now(dt.timezone.utc) - recorded).total_seconds()) < 60


@pytest.mark.requirement("21CFR11.10(e)", "Annex11-9")
def test_appends_are_gap_free_and_linked(session):
    for i in range(5):
        append(session, SYSTEM, "tick", "clock", "c1", payload={"i": i, "x": 1.5})
    append(session, ALICE, "item.updated", "item", "7", reason="typo in the description",
           before={"desc": "Scre"}, after={"desc": "Screw"})
    rows = assert_chain_ok(session)
    assert [r.seq for r in rows] == list(range(1, 7))
    assert len({r.event_id for r in rows}) == 6
    assert head(session) == (6, rows[-1].hash)


@pytest.mark.requirement("21CFR11.10(e)", "Annex11-9")
def test_the_recorded_time_comes_from_the_callers_clock_when_given(session):
    at = dt.datetime(2031, 2, 3, 4, 5, 6, 789000, tzinfo=dt.timezone(dt.timedelta(hours=14)))
    entry = append(session, ALICE, "item.updated", "item", "7", payload={"x": 1}, at=at)
    assert entry.recorded_at.startswith("2031-02-02T14:05:06.789")  # stored in UTC
    assert_chain_ok(session)
    with pytest.raises(AuditValueError) as err:
        append(session, ALICE, "item.updated", "item", "7", at=dt.datetime(2031, 2, 3))
    assert err.value.field == "at"


@pytest.mark.requirement("21CFR11.10(e)", "Annex11-9")
def test_a_change_with_a_before_value_needs_a_reason(session):
    with pytest.raises(AuditValueError, match="reason.*required"):
        append(session, ALICE, "item.updated", "item", "1", before={"a": 1}, after={"a": 2})
    with pytest.raises(AuditValueError, match="reason"):
        append(session, ALICE, "item.updated", "item", "1", reason="  ", before={"a": 1})


@pytest.mark.requirement("21CFR11.10(e)", "Annex11-9")
@pytest.mark.parametrize("kwargs, field", [
    ({"payload": {"when": dt.datetime(2026, 1, 1)}}, "payload.when"),
    ({"payload": {"n": 2**60}}, "payload.n"),
    ({"after": {"v": [1, float("nan")]}}, "after.v[1]"),
    ({"payload": {1: "x"}}, "payload"),
    ({"payload": object()}, "payload"),
    ({"payload": {"s": "\ud800"}}, "payload.s"),
])
def test_bad_values_are_refused_naming_the_field(session, kwargs, field):
    with pytest.raises(AuditValueError) as err:
        append(session, ALICE, "x", "item", "1", **kwargs)
    assert err.value.field == field
    assert session.scalar(select(func.count()).select_from(AuditEntry)) == 0


@pytest.mark.requirement("21CFR11.10(e)", "Annex11-9")
@pytest.mark.parametrize("kwargs, field", [
    ({"actor": "alice"}, "actor"), ({"actor": Actor("robot", "1", "R")}, "actor.kind"),
    ({"action": ""}, "action"), ({"object_type": None}, "object_type"), ({"object_id": "x" * 201}, "object_id"),
])
def test_bad_identity_fields_are_refused(session, kwargs, field):
    args = dict(actor=ALICE, action="a", object_type="t", object_id="1") | kwargs
    with pytest.raises(AuditValueError) as err:
        append(session, **args)
    assert err.value.field == field


@pytest.mark.requirement("21CFR11.10(e)", "Annex11-9")
def test_rich_values_are_normalised(session):
    e = append(session, ALICE, "m", "lot", "L1", payload={
        "at": dt.datetime(2026, 1, 1, 8, tzinfo=dt.timezone(dt.timedelta(hours=8))),
        "day": dt.date(2026, 1, 2), "qty": Decimal("1.10"), "tags": {"b", "a"}, "t": (1, 2)})
    assert e.payload_value == {"at": "2026-01-01T00:00:00.000000Z", "day": "2026-01-02",
                               "qty": "1.10", "tags": ["a", "b"], "t": [1, 2]}


_text = st.text(st.characters(codec="utf-8"), max_size=12)
_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False) | _text,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(_text, children, max_size=3),
    max_leaves=8)


@pytest.mark.requirement("21CFR11.10(e)", "Annex11-9")
@hsettings(max_examples=300, deadline=None)
@given(seq=st.integers(1, 2**53 - 1), texts=st.lists(_text.filter(bool), min_size=8, max_size=8),
       reason=st.none() | _text, values=st.lists(st.none() | _json, min_size=3, max_size=3))
def test_fast_entry_bytes_equal_rfc8785_of_the_whole_document(seq, texts, reason, values):
    """The composer used by append and verify produces exactly JCS of the full document."""
    canon = [None if v is None else rfc8785.dumps(v).decode() for v in values]
    got = entry_bytes(seq, texts[0], texts[1], texts[2], texts[3], texts[4], texts[5], texts[6],
                      texts[7], reason, canon[0], canon[1], canon[2])
    doc = {"action": texts[5], "actor": {"id": texts[3], "kind": texts[2], "name": texts[4]},
           "after": values[1], "before": values[0], "event_id": texts[0], "object_id": texts[7],
           "object_type": texts[6], "payload": values[2], "reason": reason,
           "recorded_at": texts[1], "seq": seq, "v": 1}
    assert got == rfc8785.dumps(doc)


@pytest.mark.requirement("21CFR11.10(e)", "Annex11-9")
def test_append_many_writes_a_linked_batch(session):
    append(session, ALICE, "first", "t", "1")
    out = append_many(session, [dict(actor=SYSTEM, action="imp", object_type="row", object_id=str(i),
                                     payload={"i": i}) for i in range(50)])
    assert [a.seq for a in out] == list(range(2, 52))
    rows = assert_chain_ok(session)
    assert rows[-1].hash == out[-1].hash


@pytest.mark.requirement("21CFR11.10(e)", "Annex11-9")
def test_append_many_validates_everything_before_writing(session):
    with pytest.raises(AuditValueError, match=r"records\[1\]\.payload"):
        append_many(session, [dict(actor=SYSTEM, action="a", object_type="t", object_id="1"),
                              dict(actor=SYSTEM, action="a", object_type="t", object_id="2",
                                   payload={"x": float("inf")})])
    assert session.scalar(select(func.count()).select_from(AuditEntry)) == 0


@pytest.mark.requirement("21CFR11.10(e)", "Annex11-9")
def test_rollback_of_the_business_transaction_removes_the_entry(fresh_db):
    with fresh_db.sessions.begin() as s:
        append(s, ALICE, "kept", "t", "1")
    with pytest.raises(RuntimeError):
        with fresh_db.sessions.begin() as s:
            append(s, ALICE, "lost", "t", "2")
            raise RuntimeError("business rule failed")
    with fresh_db.sessions.begin() as s:
        rows = assert_chain_ok(s)
        assert [r.action for r in rows] == ["kept"]
        append(s, ALICE, "next", "t", "3")
    with fresh_db.sessions.begin() as s:
        assert [r.seq for r in assert_chain_ok(s)] == [1, 2]


@pytest.mark.requirement("21CFR11.10(e)", "Annex11-9")
def test_a_replayed_copy_of_an_entry_is_refused(fresh_db):
    """Re-inserting an old entry at the head (new seq, linked) fails on its unique event id."""
    from sqlalchemy import insert
    from sqlalchemy.exc import IntegrityError
    with fresh_db.sessions.begin() as s:
        first = append(s, ALICE, "a", "t", "1")
        copy = {c.name: getattr(first, c.name) for c in AuditEntry.__table__.c if c.name != "id"}
        copy |= {"seq": 2, "prev_hash": first.hash, "hash": "f" * 64}
    with pytest.raises(IntegrityError, match="(?i)event_id"):
        with fresh_db.sessions.begin() as s:
            s.execute(insert(AuditEntry.__table__).values(**copy))


@pytest.mark.requirement("21CFR11.10(e)", "Annex11-9")
def test_installation_is_created_once(fresh_db):
    with fresh_db.sessions.begin() as s:
        first = ensure_installation(s).installation_id
    with fresh_db.sessions.begin() as s:
        assert ensure_installation(s).installation_id == first
        append(s, SYSTEM, "a", "t", "1")
    with fresh_db.sessions.begin() as s:
        assert s.scalar(select(func.count()).select_from(AuditInstallation)) == 1


@pytest.mark.requirement("21CFR11.10(e)", "Annex11-9")
def test_concurrent_writers_never_fork_or_leave_gaps(fresh_db):
    """8 threads × 15 appends, one entry per transaction: gap-free, no fork."""
    errors = []

    def writer(n):
        try:
            for i in range(15):
                with fresh_db.sessions.begin() as s:
                    append(s, Actor("user", str(n), f"Writer {n}"), "w", "t", f"{n}-{i}")
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with fresh_db.sessions.begin() as s:
        rows = assert_chain_ok(s)
        assert len(rows) == 120
        assert s.scalar(text("SELECT COUNT(DISTINCT prev_hash) FROM audit_entry")) == 120
