"""``sealtrail audit verify | checkpoint | export | public-key`` and automatic checkpoints."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from flask.cli import ScriptInfo
from sqlalchemy import func, select, text

from audit import Actor
from audit import verify_bundle as standalone
from audit.chain import append
from audit.checkpoints import key_id, load_signing_key
from audit.models import AuditCheckpoint
from engine.db import is_postgres

ALICE = Actor("user", "1", "Alice Initiator")


@pytest.fixture()
def app(fresh_db, tmp_path):
    from web.app import create_app

    load_signing_key(tmp_path / "key.pem")  # what `sealtrail init` does for a new installation
    settings = fresh_db.settings(checkpoint_key_path=tmp_path / "key.pem", checkpoint_every=5,
                                 extra={"checkpoint_files": [str(tmp_path / "cp.jsonl"), str(tmp_path / "mirror" / "cp.jsonl")]})
    app = create_app({"TESTING": True}, settings=settings)
    yield app
    app.extensions["sealtrail.engine"].dispose()


def run(app, *args):
    from web.cli import cli

    return CliRunner().invoke(cli, list(args), obj=ScriptInfo(create_app=lambda: app))


def _fill(app, n):
    sessions = app.extensions["sealtrail.sessions"]
    for i in range(n):
        with sessions.begin() as s:
            append(s, ALICE, "item.created", "item", str(i % 2), after={"i": i})


def test_automatic_checkpoints_every_n_entries_in_db_and_files(app, tmp_path):
    _fill(app, 12)
    with app.extensions["sealtrail.sessions"]() as s:
        assert list(s.scalars(select(AuditCheckpoint.seq).order_by(AuditCheckpoint.seq))) == [5, 10]
    for path in (tmp_path / "cp.jsonl", tmp_path / "mirror" / "cp.jsonl"):
        assert [json.loads(l)["seq"] for l in path.read_text().splitlines()] == [5, 10]


def test_automatic_checkpoints_do_not_ask_the_database_before_one_can_be_due(app):
    """Between checkpoints a commit costs no extra transaction: the process knows the newest
    checkpoint's seq, and fewer than `every` entries past it no checkpoint can be due (#13)."""
    from sqlalchemy import event

    _fill(app, 5)  # the checkpoint at seq 5 is made (and remembered) after this commit
    engine = app.extensions["sealtrail.engine"]
    checkouts = []
    listener = lambda *_args: checkouts.append(1)  # noqa: E731
    event.listen(engine, "checkout", listener)
    try:
        _fill(app, 4)  # seq 6..9: nothing is due
        assert len(checkouts) == 4  # the four appends' own transactions, nothing after their commits
        _fill(app, 1)  # seq 10: due, checked and made in transactions of their own
        assert len(checkouts) > 5
    finally:
        event.remove(engine, "checkout", listener)
    with app.extensions["sealtrail.sessions"]() as s:
        assert list(s.scalars(select(AuditCheckpoint.seq).order_by(AuditCheckpoint.seq))) == [5, 10]


def test_verify_checkpoint_export_and_public_key(app, tmp_path):
    _fill(app, 7)
    ok = run(app, "audit", "verify")
    assert ok.exit_code == 0, ok.output
    assert "OK: 7 entries (seq 1..7)" in ok.output and "1 checkpoint(s) (Ed25519 signatures verified)" in ok.output
    cp = run(app, "audit", "checkpoint")
    assert cp.exit_code == 0 and "checkpoint at seq 7" in cp.output
    as_json = json.loads(run(app, "audit", "verify", "--json").output)
    assert as_json["ok"] and as_json["last_checkpoint_seq"] == 7
    exported = run(app, "audit", "export", str(tmp_path / "bundle.zip"))
    assert exported.exit_code == 0 and "exported 7 entries" in exported.output
    assert standalone.verify_bundle(tmp_path / "bundle.zip").ok
    assert run(app, "audit", "verify", "--bundle", str(tmp_path / "bundle.zip")).exit_code == 0
    one = run(app, "audit", "export", str(tmp_path / "item1"), "--object", "item:1")
    assert one.exit_code == 0 and "exported 3 entries" in one.output
    ranged = run(app, "audit", "export", str(tmp_path / "range"), "--from", "6", "--to", "6")
    assert ranged.exit_code == 0 and "seq 6..7" in ranged.output  # widened to checkpoints 5 and 7
    dated = run(app, "audit", "export", str(tmp_path / "today"), "--from", "2000-01-01", "--to", "2999-12-31")
    assert dated.exit_code == 0 and "exported 7 entries" in dated.output
    key = run(app, "audit", "public-key")
    assert "BEGIN PUBLIC KEY" in key.output and "fingerprint: SHA256:" in key.output


def test_bad_export_options_are_refused(app, tmp_path):
    _fill(app, 1)
    assert run(app, "audit", "export", str(tmp_path / "x"), "--object", "nocolon").exit_code == 2
    assert run(app, "audit", "export", str(tmp_path / "x"), "--from", "1", "--object", "a:b").exit_code == 2
    bad = run(app, "audit", "export", str(tmp_path / "x"), "--from", "yesterday")
    assert bad.exit_code == 2 and "neither a sequence number" in bad.output
    assert run(app, "audit", "export", str(tmp_path / "y"), "--from", "50").exit_code == 1


def test_verify_exits_1_and_locates_tampering(app, fresh_db):
    _fill(app, 6)
    with fresh_db.owner_engine.begin() as conn:  # tampering needs the owner's rights
        if is_postgres(fresh_db.engine):
            conn.execute(text("ALTER TABLE audit_entry DISABLE TRIGGER USER"))
        else:
            conn.execute(text("DROP TRIGGER audit_entry_no_update"))
        conn.execute(text("UPDATE audit_entry SET after = :v WHERE seq = 3"), {"v": '{"i":99}'})
    result = run(app, "audit", "verify")
    assert result.exit_code == 1 and "FAILED at seq 3: hash" in result.output


def test_checkpoint_of_an_empty_trail_is_a_clear_error(app):
    result = run(app, "audit", "checkpoint")
    assert result.exit_code == 1 and "empty" in result.output
    with app.extensions["sealtrail.sessions"]() as s:
        assert s.scalar(select(func.count()).select_from(AuditCheckpoint)) == 0


def _app_for(settings):
    from web.app import create_app

    return create_app({"TESTING": True}, settings=settings)


def test_no_key_is_generated_silently_for_an_existing_trail(fresh_db, tmp_path):
    settings = fresh_db.settings(checkpoint_key_path=tmp_path / "key.pem",
                                 extra={"checkpoint_files": [str(tmp_path / "cp.jsonl")]})
    app = _app_for(settings)
    try:
        _fill(app, 2)
        for command in (("audit", "public-key"), ("audit", "checkpoint"), ("audit", "export", str(tmp_path / "b"))):
            refused = run(app, *command)
            assert refused.exit_code == 1, (command, refused.output)
            assert "no checkpoint key at" in refused.output and "never generated" in refused.output
            assert "Traceback" not in refused.output and not (tmp_path / "key.pem").exists()
    finally:
        app.extensions["sealtrail.engine"].dispose()


def test_a_new_installation_gets_its_key_once_and_prints_the_same_fingerprint(fresh_db, tmp_path):
    app = _app_for(fresh_db.settings(checkpoint_key_path=tmp_path / "key.pem"))
    try:
        first = run(app, "audit", "public-key")
        assert first.exit_code == 0, first.output
        fingerprint = key_id(load_signing_key(tmp_path / "key.pem", create=False))
        assert f"fingerprint: {fingerprint}" in first.output
        _fill(app, 1)
        assert f"fingerprint: {fingerprint}" in run(app, "audit", "public-key").output
    finally:
        app.extensions["sealtrail.engine"].dispose()


@pytest.mark.parametrize("command", [("audit", "verify"), ("audit", "public-key"), ("audit", "checkpoint"),
                                     ("users", "list")])
def test_a_missing_or_unmigrated_database_is_one_clear_line(tmp_path, command):
    from engine.config import load_settings

    missing = tmp_path / "nowhere.db"
    app = _app_for(load_settings(database_url=f"sqlite:///{missing}", checkpoint_key_path=tmp_path / "k.pem"))
    try:
        result = run(app, *command)
        assert result.exit_code == 1 and "Traceback" not in result.output
        lines = [line for line in result.output.splitlines() if line.strip()]
        assert len(lines) == 1 and "sealtrail init" in lines[0], result.output
        assert not (tmp_path / "k.pem").exists()
        if command[0] == "audit":
            assert f"no database at {missing}" in lines[0] and not missing.exists()
        missing.touch()  # an empty file: exists, never migrated
        result = run(app, *command)
        assert result.exit_code == 1 and "Traceback" not in result.output and "sealtrail init" in result.output
    finally:
        app.extensions["sealtrail.engine"].dispose()
