"""Tampering done directly in the database (raw SQL, triggers disabled): detected and located."""
from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from audit import Actor
from audit.canonical import entry_bytes, link_hash
from audit.chain import append
from audit.checkpoints import load_signing_key
from audit.verify import verify_chain
from engine.db import is_postgres
from web.checkpoint_runs import checkpoint


ALICE = Actor("user", "1", "Alice Initiator")
TABLES = ("audit_entry", "audit_checkpoint")


@pytest.fixture(scope="module")
def chain_db(db_server, template_db, tmp_path_factory):
    """One database for the module: 30 entries, checkpoints at 10 and 20 (DB + outside file)."""
    import uuid
    name = f"{db_server.prefix}_tamper_{uuid.uuid4().hex[:6]}"
    db = db_server.clone_database(template_db, name)
    tmp = tmp_path_factory.mktemp("tamper")
    db.key, db.cp_file = load_signing_key(tmp / "checkpoint.pem"), tmp / "checkpoints.jsonl"
    for i in range(1, 31):
        with db.sessions.begin() as s:
            append(s, ALICE, "param.changed", "param", str(i % 4), reason=f"ECO-{i}",
                   before={"max": i}, after={"max": i + 0.5})
        if i in (10, 20):
            checkpoint(db.sessions, db.key, [db.cp_file])
    yield db
    db.dispose()
    db_server.drop(name)


class Tamperer:
    """A connection inside a transaction that is rolled back after the test: raw SQL as a
    database owner would run it, with the append-only triggers out of the way."""

    def __init__(self, db, conn):
        self.db, self.conn = db, conn
        for table in TABLES:
            if is_postgres(db.engine):
                conn.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
            else:
                conn.execute(text(f"DROP TRIGGER IF EXISTS {table}_no_update"))
                conn.execute(text(f"DROP TRIGGER IF EXISTS {table}_no_delete"))

    def __call__(self, *statements, params=None):
        for statement in statements:
            self.conn.execute(text(statement), params or {})

    def verify(self):
        return verify_chain(self.conn, public_key=self.db.key, checkpoint_files=[self.db.cp_file])

    def rows(self):
        return self.conn.execute(text(
            "SELECT seq, event_id, recorded_at, actor_kind, actor_id, actor_name, action, object_type,"
            " object_id, reason, before, after, payload, prev_hash, hash FROM audit_entry ORDER BY seq")).all()

    def recompute_all(self):
        """An insider's full recomputation: every hash re-derived after a change."""
        prev = self.conn.execute(text("SELECT genesis_hash FROM audit_installation")).scalar()
        for row in self.rows():
            new = link_hash(prev, entry_bytes(*row[:13]))
            self.conn.execute(text("UPDATE audit_entry SET prev_hash = :p, hash = :h WHERE seq = :s"),
                              {"p": prev, "h": new, "s": row.seq})
            prev = new


@pytest.fixture()
def tamper(chain_db):
    with chain_db.owner_engine.connect() as conn:
        trans = conn.begin()
        yield Tamperer(chain_db, conn)
        trans.rollback()


@pytest.fixture()
def conn(chain_db):
    with chain_db.owner_engine.connect() as conn:
        trans = conn.begin()
        yield conn
        trans.rollback()


def first(result):
    p = result.first_problem
    return (p.seq, p.kind)


@pytest.mark.requirement("21CFR11.10(a)", "21CFR11.10(e)")
def test_an_untouched_chain_verifies_with_count_head_and_checkpoints(tamper):
    result = tamper.verify()
    assert result.ok, result.problems
    assert (result.count, result.last_seq, result.checkpoints_verified) == (30, 30, 2)
    assert result.head_hash == tamper.rows()[-1].hash
    assert any("21..30 are not covered" in n for n in result.notes)


@pytest.mark.requirement("21CFR11.10(a)", "21CFR11.10(e)")
def test_modified_field_is_located(tamper):
    tamper("UPDATE audit_entry SET reason = 'ECO-7 (corrected)' WHERE seq = 7")
    assert first(tamper.verify()) == (7, "hash")


@pytest.mark.requirement("21CFR11.10(a)", "21CFR11.10(e)")
def test_modified_json_value_is_located(tamper):
    tamper("UPDATE audit_entry SET after = :v WHERE seq = 23", params={"v": '{"max":999}'})
    assert first(tamper.verify()) == (23, "hash")


@pytest.mark.requirement("21CFR11.10(a)", "21CFR11.10(e)")
def test_deleted_entry_is_located(tamper):
    tamper("DELETE FROM audit_entry WHERE seq = 12")
    result = tamper.verify()
    assert first(result) == (12, "gap")
    assert {(p.seq, p.kind) for p in result.problems} >= {(12, "gap"), (13, "link")}


@pytest.mark.requirement("21CFR11.10(a)", "21CFR11.10(e)")
def test_forged_entry_inserted_at_the_head_is_located(tamper):
    head = tamper.rows()[-1]
    tamper("INSERT INTO audit_entry (seq, event_id, recorded_at, actor_kind, actor_id, actor_name, "
                  "action, object_type, object_id, prev_hash, hash) VALUES (31, 'forged-event', "
                  "'2026-11-26T10:00:00.000000Z', 'user', '1', 'Alice Initiator', 'lot.released', 'lot', "
                  "'L-9', :prev, :hash)", params={"prev": head.hash, "hash": "0" * 64})
    assert first(tamper.verify()) == (31, "hash")


@pytest.mark.requirement("21CFR11.10(a)", "21CFR11.10(e)")
def test_forged_entry_inserted_in_the_middle_is_located(tamper):
    before = tamper.rows()[13]  # seq 14
    forged = dict(seq=15, event_id="forged", recorded_at=before.recorded_at, actor_kind="user",
                  actor_id="1", actor_name="Alice Initiator", action="lot.released", object_type="lot",
                  object_id="L-9", reason=None, before=None, after=None, payload=None)
    forged_hash = link_hash(before.hash, entry_bytes(**forged))
    # UNIQUE(prev_hash) refuses a second entry linking to seq 14, so the insider also relinks
    # the displaced entry to the forged one.
    tamper("UPDATE audit_entry SET seq = seq + 1000 WHERE seq >= 15",
           "UPDATE audit_entry SET seq = seq - 999 WHERE seq >= 1000",
           "UPDATE audit_entry SET prev_hash = :hash WHERE seq = 16",
           "INSERT INTO audit_entry (seq, event_id, recorded_at, actor_kind, actor_id, actor_name, action,"
           " object_type, object_id, prev_hash, hash) VALUES (15, 'forged', :at, 'user', '1',"
           " 'Alice Initiator', 'lot.released', 'lot', 'L-9', :prev, :hash)",
           params={"at": before.recorded_at, "prev": before.hash, "hash": forged_hash})
    result = tamper.verify()
    assert first(result) == (16, "hash")  # the displaced entry no longer matches its hash
    assert (20, "checkpoint") in {(p.seq, p.kind) for p in result.problems}


@pytest.mark.requirement("21CFR11.10(a)", "21CFR11.10(e)")
def test_swapped_entries_are_located(tamper):
    tamper("UPDATE audit_entry SET seq = 1005 WHERE seq = 5",
           "UPDATE audit_entry SET seq = 5 WHERE seq = 6",
           "UPDATE audit_entry SET seq = 6 WHERE seq = 1005")
    result = tamper.verify()
    assert first(result)[0] == 5 and {p.kind for p in result.problems} >= {"link", "hash"}


@pytest.mark.requirement("21CFR11.10(a)", "21CFR11.10(e)")
def test_truncated_tail_is_detected_by_the_checkpoint(tamper):
    tamper("DELETE FROM audit_entry WHERE seq > 17")
    result = tamper.verify()
    assert first(result) == (18, "truncated")
    assert "20" in result.first_problem.detail


@pytest.mark.requirement("21CFR11.10(a)", "21CFR11.10(e)")
def test_truncating_only_the_unsealed_tail_is_the_documented_limit(tamper):
    """Entries after the last checkpoint are protected by the chain only (docs/audit.md)."""
    tamper("DELETE FROM audit_entry WHERE seq > 25")
    result = tamper.verify()
    assert result.ok and result.count == 25


@pytest.mark.requirement("21CFR11.10(a)", "21CFR11.10(e)")
def test_full_recomputation_after_a_change_is_caught_by_the_checkpoint(tamper):
    tamper("UPDATE audit_entry SET reason = 'rewritten' WHERE seq = 15")
    tamper.recompute_all()
    result = tamper.verify()
    assert first(result) == (20, "checkpoint")  # located between checkpoints 10 and 20
    assert all(p.kind == "checkpoint" for p in result.problems)


@pytest.mark.requirement("21CFR11.10(a)", "21CFR11.10(e)")
def test_recomputation_plus_rewritten_db_checkpoints_is_caught_by_signature_and_file(tamper):
    tamper("UPDATE audit_entry SET reason = 'rewritten' WHERE seq = 15")
    head20 = None
    tamper.recompute_all()
    head20 = tamper.rows()[19].hash
    tamper("UPDATE audit_checkpoint SET head_hash = :h WHERE seq = 20", params={"h": head20})
    result = tamper.verify()
    kinds = {(p.seq, p.kind) for p in result.problems}
    assert (20, "checkpoint_signature") in kinds and (20, "checkpoint_missing") in kinds
    assert (20, "checkpoint") in kinds  # the file's copy still disagrees with the chain


@pytest.mark.requirement("21CFR11.10(a)", "21CFR11.10(e)")
def test_deleting_db_checkpoints_and_recomputing_is_caught_by_the_outside_file(tamper):
    tamper("UPDATE audit_entry SET reason = 'rewritten' WHERE seq = 3",
           "DELETE FROM audit_checkpoint")
    tamper.recompute_all()
    result = tamper.verify()
    kinds = {(p.seq, p.kind) for p in result.problems}
    assert (10, "checkpoint") in kinds and (10, "checkpoint_missing") in kinds
    assert first(result)[0] == 10


def refused(conn, *statements):
    """Each statement fails (inside its own savepoint) with the append-only error."""
    for statement in statements:
        with pytest.raises(DatabaseError, match="(?i)append-only"):
            with conn.begin_nested():
                conn.execute(text(statement))


@pytest.mark.requirement("21CFR11.10(a)", "21CFR11.10(e)")
def test_append_only_triggers_refuse_update_and_delete(conn, chain_db):
    refused(conn, "UPDATE audit_entry SET reason = 'x' WHERE seq = 1",
            "DELETE FROM audit_entry WHERE seq = 30",
            "UPDATE audit_checkpoint SET head_hash = 'x'",
            "UPDATE audit_installation SET created_at = 'x'")
    assert verify_chain(conn, public_key=chain_db.key).ok


@pytest.mark.requirement("21CFR11.10(a)", "21CFR11.10(e)")
@pytest.mark.postgres_only
def test_postgres_triggers_survive_replica_mode_and_refuse_truncate(conn, chain_db):
    if not is_postgres(chain_db.engine):
        pytest.skip("PostgreSQL only")
    refused(conn, "TRUNCATE audit_entry CASCADE", "TRUNCATE audit_checkpoint", "TRUNCATE signature CASCADE")
    conn.execute(text("SET LOCAL session_replication_role = replica"))
    refused(conn, "DELETE FROM audit_entry WHERE seq = 30", "UPDATE audit_entry SET hash = 'x'")
    assert verify_chain(conn, public_key=chain_db.key).ok


@pytest.mark.requirement("21CFR11.10(a)", "21CFR11.10(e)")
@pytest.mark.postgres_only
def test_postgres_app_role_with_select_insert_only_cannot_update(conn, chain_db):
    """The documented grant: the application role has SELECT and INSERT on audit tables only."""
    if not is_postgres(chain_db.engine):
        pytest.skip("PostgreSQL only")
    import uuid
    role = f"st_app_{uuid.uuid4().hex[:8]}"
    # CREATE ROLE is transactional too: rolled back with the test's transaction.
    conn.execute(text(f"CREATE ROLE {role} NOLOGIN"))
    conn.execute(text(f"GRANT SELECT, INSERT ON audit_entry TO {role}"))
    conn.execute(text(f"SET LOCAL ROLE {role}"))
    assert conn.execute(text("SELECT count(*) FROM audit_entry")).scalar() == 30
    for statement in ("UPDATE audit_entry SET reason = 'x' WHERE seq = 1", "DELETE FROM audit_entry",
                      "TRUNCATE audit_entry", "ALTER TABLE audit_entry DISABLE TRIGGER USER"):
        with pytest.raises(DatabaseError, match="permission denied|must be owner"):
            with conn.begin_nested():
                conn.execute(text(statement))
