"""Backup → restore → automatic verification, on SQLite and PostgreSQL (Annex 11 §7)."""
from __future__ import annotations

import json
import shutil
import threading
import uuid

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select, text
from sqlalchemy.exc import OperationalError

from audit import SYSTEM, chain, checkpoints
from audit.models import AuditEntry
from engine import backup as bk
from engine.backup import manifest as mf
from engine.backup.state import database_state
from engine.db import make_engine, make_session_factory
from tests import conftest as shared
from tests.conftest import ON_POSTGRES
from web.checkpoint_runs import checkpoint

pytestmark = [
    pytest.mark.skipif(ON_POSTGRES and not shutil.which("pg_dump"),
                       reason="pg_dump/pg_restore not installed (apt-get install postgresql-client)"),
]


@pytest.fixture()
def key():
    return Ed25519PrivateKey.generate()


def _checkpointer(key):
    """Commit a signed audit checkpoint at the head (what `sealtrail backup` does first)."""
    def make(url):
        engine = make_engine(url)
        try:
            return checkpoints.checkpoint_json(
                checkpoint(make_session_factory(engine), key))
        finally:
            engine.dispose()
    return make


def _append(db, n: int, start: int = 0) -> None:
    with db.sessions.begin() as session:
        for i in range(start, start + n):
            chain.append(session, SYSTEM, "test.record", "lot", f"L-{i}",
                         after={"i": i, "note": "数据备份"})


@pytest.fixture()
def populated(fresh_db):
    _append(fresh_db, 25)
    return fresh_db


@pytest.fixture()
def empty_target(db_server):
    name = f"{db_server.prefix}_r{uuid.uuid4().hex[:8]}"
    url = db_server.create_empty(name)
    db = shared.TestDatabase(url)
    yield db
    db.dispose()
    db_server.drop(name)


def _entries(db) -> list[tuple]:
    with db.engine.connect() as conn:
        return [tuple(row) for row in conn.execute(
            select(AuditEntry.seq, AuditEntry.event_id, AuditEntry.hash, AuditEntry.after)
            .order_by(AuditEntry.seq))]


@pytest.mark.requirement("Annex11-7", "21CFR11.10(c)", "ISO13485-4.2.5")
def test_backup_restore_verify_roundtrip(populated, empty_target, key, tmp_path):
    path = bk.create_backup(populated.url, tmp_path, key, checkpoint=_checkpointer(key))
    manifest = json.loads((path / "manifest.json").read_text())
    assert manifest["checkpoint"]["seq"] == 25 and manifest["checkpoint"]["signature"]
    assert manifest["row_counts"]["audit_checkpoint"] == 1
    assert manifest["format"] == "sealtrail-backup/1"
    assert manifest["dialect"] == ("postgresql" if ON_POSTGRES else "sqlite")
    assert manifest["row_counts"]["audit_entry"] == 25
    assert manifest["audit_head"]["seq"] == 25
    assert manifest["migration_heads"]
    assert "password" not in manifest["source"]
    mf.check_signature(manifest, key.public_key())  # signed by the installation key

    report = bk.restore_backup(path, empty_target.url, key.public_key())
    assert report["ok"] and report["problems"] == []
    assert report["chain"]["ok"] and report["chain"]["checkpoints_verified"] == 1
    assert report["checkpoint"] == {"seq": 25, "matches": True}
    assert report["audit_head"] == manifest["audit_head"]
    assert _entries(empty_target) == _entries(populated)
    # the restored database is a working Sealtrail database: the chain continues from the head
    _append(empty_target, 1, start=100)
    assert _entries(empty_target)[-1][0] == 26


@pytest.mark.requirement("Annex11-7", "21CFR11.10(c)", "ISO13485-4.2.5")
def test_restore_refuses_a_database_that_is_not_empty(populated, fresh_db, key, tmp_path):
    path = bk.create_backup(populated.url, tmp_path, key)
    with fresh_db.engine.connect() as conn:
        before = database_state(conn)
    with pytest.raises(bk.RestoreRefused, match="not empty"):
        bk.restore_backup(path, fresh_db.url, key.public_key())
    with fresh_db.engine.connect() as conn:
        assert database_state(conn) == before  # nothing written


@pytest.mark.requirement("Annex11-7", "21CFR11.10(c)", "ISO13485-4.2.5")
def test_restore_refuses_an_altered_manifest(populated, empty_target, key, tmp_path):
    path = bk.create_backup(populated.url, tmp_path, key)
    manifest = json.loads((path / "manifest.json").read_text())
    manifest["row_counts"]["audit_entry"] = 24
    (path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(bk.RestoreRefused, match="manifest was altered"):
        bk.restore_backup(path, empty_target.url, key.public_key())


@pytest.mark.requirement("Annex11-7", "21CFR11.10(c)", "ISO13485-4.2.5")
def test_restore_refuses_a_damaged_data_file(populated, empty_target, key, tmp_path):
    path = bk.create_backup(populated.url, tmp_path, key)
    data = path / json.loads((path / "manifest.json").read_text())["data_file"]["name"]
    raw = bytearray(data.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    data.write_bytes(bytes(raw))
    with pytest.raises(bk.RestoreRefused, match="does not match the SHA-256"):
        bk.restore_backup(path, empty_target.url, key.public_key())


@pytest.mark.requirement("Annex11-7", "21CFR11.10(c)", "ISO13485-4.2.5")
def test_restore_refuses_a_manifest_signed_by_another_key(populated, empty_target, key, tmp_path):
    path = bk.create_backup(populated.url, tmp_path, Ed25519PrivateKey.generate())
    with pytest.raises(bk.RestoreRefused, match="not by the trusted key"):
        bk.restore_backup(path, empty_target.url, key.public_key())


@pytest.mark.requirement("Annex11-7", "21CFR11.10(c)", "ISO13485-4.2.5")
def test_verification_catches_missing_rows_and_a_different_head(populated, key, tmp_path):
    path = bk.create_backup(populated.url, tmp_path, key)
    manifest = json.loads((path / "manifest.json").read_text())
    assert bk.verify_database(populated.url, manifest)["ok"]
    _append(populated, 2, start=50)  # the live database moved on after the backup
    problems = bk.verify_database(populated.url, manifest)["problems"]
    assert any("audit_entry: 27 rows, manifest says 25" in p for p in problems)
    assert any(p.startswith("audit head") for p in problems)


@pytest.mark.requirement("Annex11-7", "21CFR11.10(c)", "ISO13485-4.2.5")
def test_backup_taken_while_writers_append_is_one_consistent_snapshot(populated, empty_target,
                                                                     key, tmp_path):
    stop = threading.Event()
    written = []

    def writer():
        i = 1000
        while not stop.is_set():
            _append(populated, 1, start=i)
            written.append(i)
            i += 1

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        while len(written) < 5:
            stop.wait(0.01)
        path = bk.create_backup(populated.url, tmp_path, key)
        after = len(written)
    finally:
        stop.set()
        thread.join()
    manifest = json.loads((path / "manifest.json").read_text())
    assert 25 < manifest["audit_head"]["seq"] <= 25 + after + 1
    report = bk.restore_backup(path, empty_target.url, key.public_key())
    assert report["ok"], report["problems"]
    assert report["audit_head"] == manifest["audit_head"]


@pytest.mark.requirement("Annex11-7", "21CFR11.10(c)", "ISO13485-4.2.5")
def test_a_failed_backup_leaves_no_directory_that_looks_complete(tmp_path, key):
    missing = ("postgresql+psycopg://postgres@127.0.0.1:9/nowhere" if ON_POSTGRES
               else f"sqlite:///{tmp_path / 'absent.db'}")
    expected = (OperationalError, "connection") if ON_POSTGRES else (bk.BackupError, "no SQLite database at")
    with pytest.raises(expected[0], match=expected[1]):
        bk.create_backup(missing, tmp_path / "out", key)
    assert list((tmp_path / "out").glob("sealtrail-*")) == []


@pytest.mark.requirement("Annex11-7", "21CFR11.10(c)", "ISO13485-4.2.5")
def test_restore_refuses_to_pass_a_database_whose_chain_was_rewritten(populated, empty_target,
                                                                      key, tmp_path):
    """An insider rewrote an entry and re-signed the manifest without the checkpoint key: the
    checkpoint signed at backup time no longer matches, so verification fails (exit 2)."""
    path = bk.create_backup(populated.url, tmp_path, key, checkpoint=_checkpointer(key))
    manifest = json.loads((path / "manifest.json").read_text())
    forged = dict(manifest, checkpoint=dict(manifest["checkpoint"], head_hash="0" * 64))
    from engine.backup import manifest as mf_module

    mf_module.write(path, mf_module.sign({k: v for k, v in forged.items() if k != "signature"},
                                         key))
    with pytest.raises(bk.RestoreVerificationFailed, match="checkpoint at seq 25"):
        bk.restore_backup(path, empty_target.url, key.public_key())


@pytest.mark.requirement("Annex11-7", "21CFR11.10(c)", "ISO13485-4.2.5")
def test_backup_and_restore_commands(populated, empty_target, tmp_path):
    """`sealtrail backup` then `sealtrail restore` as an operator runs them."""
    from click.testing import CliRunner
    from flask.cli import ScriptInfo

    from web.app import create_app
    from web.cli import cli

    def run(url, args):
        app = create_app(settings=shared.TestDatabase(url).settings())
        try:
            return CliRunner().invoke(cli, args, obj=ScriptInfo(create_app=lambda: app),
                                      catch_exceptions=False)
        finally:
            app.extensions["sealtrail.engine"].dispose()

    out = run(populated.url, ["backup", "--output", str(tmp_path / "b")])
    assert out.exit_code == 0, out.output
    assert "audit head #" in out.output
    backup_dir = next((tmp_path / "b").iterdir())
    out = run(empty_target.url, ["restore", str(backup_dir)])
    assert out.exit_code == 0, out.output
    assert "row counts match the manifest" in out.output
    assert "audit chain verifies: OK" in out.output and "matches the chain" in out.output
    again = run(empty_target.url, ["restore", str(backup_dir)])
    assert again.exit_code == 1 and "not empty" in again.output


def _alter_one_lot(url: str) -> None:
    """Change one lot's quantity in place: same row count, different content."""
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            lot_id = conn.execute(text("SELECT min(id) FROM lots")).scalar_one()
            conn.execute(text("UPDATE lots SET quantity_planned = quantity_planned + 1 WHERE id = :id"),
                         {"id": lot_id})
    finally:
        engine.dispose()


@pytest.mark.requirement("Annex11-7", "21CFR11.10(c)", "ISO13485-4.2.5")
def test_the_manifest_carries_a_digest_of_every_table(demo_db, key, tmp_path):
    path = bk.create_backup(demo_db.url, tmp_path, key)
    manifest = json.loads((path / "manifest.json").read_text())
    assert set(manifest["table_digests"]) == set(manifest["row_counts"])
    assert all(len(d) == 64 for d in manifest["table_digests"].values())
    assert bk.verify_database(demo_db.url, manifest)["ok"]


@pytest.mark.requirement("Annex11-7", "21CFR11.10(c)", "ISO13485-4.2.5")
def test_a_restore_that_alters_one_lot_row_fails_naming_the_table(demo_db, empty_target, key, tmp_path,
                                                                   monkeypatch):
    path = bk.create_backup(demo_db.url, tmp_path, key)
    real_verify = bk.run._verify_or_raise

    def corrupting_restore(url, manifest, public_key):  # the data arrived, one lot row did not
        _alter_one_lot(url)
        return real_verify(url, manifest, public_key)

    monkeypatch.setattr(bk.run, "_verify_or_raise", corrupting_restore)
    with pytest.raises(bk.RestoreVerificationFailed) as failed:
        bk.restore_backup(path, empty_target.url, key.public_key())
    assert "table lots: rows differ from the backup's" in str(failed.value)  # counts agree: the digest caught it
    assert "manifest says" not in str(failed.value)


@pytest.mark.requirement("Annex11-7", "21CFR11.10(c)", "ISO13485-4.2.5")
@pytest.mark.skipif(ON_POSTGRES, reason="edits the SQLite data file of the backup")
def test_a_backup_whose_lot_row_was_altered_does_not_restore(demo_db, empty_target, key, tmp_path):
    """Even with the data file's hash refreshed and the manifest re-signed (a forger holding the
    key, as in the checkpoint test above), the per-table digest names the altered table."""
    path = bk.create_backup(demo_db.url, tmp_path, key)
    manifest = json.loads((path / "manifest.json").read_text())
    data = path / manifest["data_file"]["name"]
    _alter_one_lot(f"sqlite:///{data}")
    forged = dict(manifest, data_file=dict(manifest["data_file"], sha256=mf.file_sha256(data),
                                           bytes=data.stat().st_size))
    mf.write(path, mf.sign({k: v for k, v in forged.items() if k != "signature"}, key))
    with pytest.raises(bk.RestoreVerificationFailed, match="table lots: rows differ"):
        bk.restore_backup(path, empty_target.url, key.public_key())
