"""Fast paths that must give exactly the slow path's bytes: the database assembling the bytes
``entry_bytes`` hashes (verification), and the C json encoder writing RFC 8785 (appending).

``audit.verify`` lets the database concatenate each entry's canonical bytes (a fast path whose
mismatches are re-checked in Python). These tests hold the fast path to byte equality on the
awkward text JSON escaping has to get right, on the dialect under test, and check that a
mismatch still reaches the Python hash instead of being reported on the database's word.
"""
from __future__ import annotations

import hashlib

import pytest
import rfc8785
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st
from sqlalchemy import select

from audit import Actor
from audit.canonical import canonical_text, normalize, row_bytes
from audit.chain import append
from audit.models import AuditEntry
from audit.verify import ChainWalker, VerifyResult, stream_messages, verify_chain, walk_batch


AWKWARD = ['plain', 'quote " inside', 'back\\slash', 'tab\there', 'new\nline', 'nul-free \x01\x1f ctl',
           '\b\f\r', 'DEL \x7f', 'é ü 中文', 'emoji 😀', 'line sep \u2028 \u2029', '</script>', "'single'",
           '\\u0000 literally', '']


def _messages(session) -> dict:
    conn = session.connection()
    return {row[1]: (row[2], row[5]) for rows in stream_messages(conn, 7) for row in rows}


@pytest.mark.requirement("21CFR11.10(e)", "Annex11-9")
def test_database_bytes_equal_python_bytes_on_awkward_text(session):
    for i, text_ in enumerate(AWKWARD):
        actor = Actor("user", f"id {text_}" if text_ else "id", f"Name {text_}" if text_ else "Name")
        append(session, actor, f"act {text_}".strip(), f"type {text_}".strip(), f"obj {text_}".strip(),
               reason=text_ or None, before={"k": text_} if text_ else None, after={text_: [i, 1.5, None]},
               payload={"nested": {"s": text_, "n": -0.0, "big": 2**53 - 1}})
    messages = _messages(session)
    rows = session.scalars(select(AuditEntry).order_by(AuditEntry.seq)).all()
    assert len(rows) == len(AWKWARD) == len(messages)
    for row in rows:
        prev_hash, message = messages[row.seq]
        assert bytes(message) == row.prev_hash.encode() + row_bytes(row), row.seq


@pytest.mark.requirement("21CFR11.10(e)", "Annex11-9")
@hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=st.lists(st.text(st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1,
                              max_size=10), min_size=4, max_size=4))
def test_database_bytes_equal_python_bytes_for_any_text(fresh_db, texts):
    """(The chain grows across examples; every example re-checks every entry.)"""
    texts = [f"x{t}" for t in texts]  # blank identity fields are refused before anything is hashed
    with fresh_db.sessions.begin() as s:
        append(s, Actor("user", texts[0], texts[1]), texts[2], "t", texts[3], reason=texts[0],
               payload={texts[1]: texts[2]})
    with fresh_db.sessions.begin() as s:
        messages = _messages(s)
        for row in s.scalars(select(AuditEntry)):
            assert bytes(messages[row.seq][1]) == row.prev_hash.encode() + row_bytes(row)


@pytest.mark.requirement("21CFR11.10(e)", "Annex11-9")
def test_a_batch_the_database_hashes_differently_is_rechecked_in_python(session):
    for i in range(5):
        append(session, Actor("user", "1", "A"), "a", "t", str(i))
    conn = session.connection()
    (rows,) = list(stream_messages(conn, 100))
    genesis = rows[0][2]
    rechecked = []

    def recompute(id_):
        rechecked.append(id_)
        row = session.get(AuditEntry, id_)
        return hashlib.sha256(row.prev_hash.encode() + row_bytes(row)).hexdigest()

    spoiled = [r if r[1] != 3 else r[:5] + (b"not the canonical bytes",) for r in rows]
    walker = ChainWalker(VerifyResult(), [], genesis)
    walk_batch(spoiled, walker, frozenset(), recompute)
    walker.finish(tail_must_be_sealed=False)
    assert walker.result.ok and walker.result.count == 5
    assert rechecked == [rows[2][0]]
    assert verify_chain(session).ok


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(st.characters(codec="utf-8"), max_size=6),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(st.characters(codec="utf-8"), max_size=4), children, max_size=4),
    max_leaves=12)


@pytest.mark.requirement("21CFR11.10(e)", "Annex11-9")
@hsettings(max_examples=500, deadline=None)
@given(value=_json_values)
def test_canonical_text_is_rfc8785_whichever_encoder_writes_it(value):
    """The C json encoder's fast path may only answer where it writes exactly RFC 8785."""
    assert canonical_text(value) == (None if value is None else rfc8785.dumps(normalize(value)).decode())


@pytest.mark.requirement("21CFR11.10(e)", "Annex11-9")
@pytest.mark.parametrize("value", [{"t": 175.0}, {"t": -0.0}, {"t": 1e-05}, {"t": 1e21}, {"t": 5e-324},
                                   {"\ue000": 1, "😀": 2}, {"n": 182.5, "s": "v1.0 é"}])
def test_canonical_text_on_numbers_and_keys_where_encoders_differ(value):
    assert canonical_text(value) == rfc8785.dumps(normalize(value)).decode()
