"""Time-based and end-of-command checkpoints: a deleted tail is named, stale seals are reported,
every copy of the checkpoints (database, file, mirrors) must agree."""
from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask.cli import ScriptInfo
from sqlalchemy import func, select, text

from audit import Actor
from audit.chain import append
from audit.checkpoints import create_checkpoint, load_signing_key, write_checkpoint_files
from audit.models import AuditCheckpoint, AuditEntry
from engine.db import is_postgres
from web.cli.sealing import seal

ALICE = Actor("user", "1", "Alice Initiator")


@pytest.fixture()
def app(fresh_db, tmp_path):
    from web.app import create_app

    files = [str(tmp_path / "cp.jsonl"), str(tmp_path / "mirror" / "cp.jsonl")]
    settings = fresh_db.settings(extra={"checkpoint_files": files})
    app = create_app({"TESTING": True}, settings=settings)
    app.files = files
    yield app
    app.extensions["sealtrail.engine"].dispose()


def run(app, *args):
    from web.cli import cli

    return CliRunner().invoke(cli, list(args), obj=ScriptInfo(create_app=lambda: app))


def _fill(app, n):
    with app.extensions["sealtrail.sessions"].begin() as s:
        for i in range(n):
            append(s, ALICE, "item.created", "item", str(i), after={"i": i})


def _delete_tail(db, after_seq: int) -> None:
    """What a DBA bent on deleting the tail does, in raw SQL: triggers off, foreign keys (signatures
    and task rows point at entries) not enforced, DELETE."""
    if is_postgres(db.engine):
        with db.owner_engine.begin() as conn:  # a DBA, not the app role (which may not alter the table)
            conn.execute(text("ALTER TABLE audit_entry DISABLE TRIGGER USER"))
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            conn.execute(text("DELETE FROM audit_entry WHERE seq > :cut"), {"cut": after_seq})
        return
    db.engine.dispose()
    raw = sqlite3.connect(db.engine.url.database)  # the sqlite3 shell's defaults: no foreign keys
    with raw:
        raw.execute("DROP TRIGGER IF EXISTS audit_entry_no_delete")
        raw.execute("DELETE FROM audit_entry WHERE seq > ?", (after_seq,))
    raw.close()


@pytest.mark.requirement("21CFR11.10(e)", "Annex11-9")
def test_deleting_the_demo_tail_is_named_by_verify_with_no_command_in_between(app, fresh_db):
    loaded = run(app, "demo", "--load-only")
    assert loaded.exit_code == 0, loaded.output
    with fresh_db.sessions() as s:
        head = s.scalar(select(func.max(AuditEntry.seq)))
        assert s.scalar(select(func.max(AuditCheckpoint.seq))) == head  # the demo ends sealed
    _delete_tail(fresh_db, head - 5)
    result = run(app, "audit", "verify")
    assert result.exit_code == 1, result.output
    assert f"entries {head - 4}..{head} are missing" in result.output


@pytest.mark.requirement("21CFR11.10(e)", "Annex11-9")
def test_the_worker_seals_new_entries_when_the_newest_checkpoint_is_stale(app):
    _fill(app, 3)
    first = run(app, "worker", "--once")
    assert first.exit_code == 0 and "audit checkpoint at seq 3" in first.output  # none yet: due
    _fill(app, 2)
    again = run(app, "worker", "--once")  # the checkpoint is seconds old: not due
    assert again.exit_code == 0 and "audit checkpoint" not in again.output
    sessions, settings = app.extensions["sealtrail.sessions"], app.extensions["sealtrail.settings"]
    with sessions() as s:
        made = dt.datetime.fromisoformat(s.scalar(select(AuditCheckpoint.created_at)).replace("Z", "+00:00"))
    max_age = settings.checkpoint_max_age_seconds
    assert max_age == 600
    assert seal(sessions, settings, max_age_seconds=max_age, now=made + dt.timedelta(seconds=max_age - 1)) is None
    assert seal(sessions, settings, max_age_seconds=max_age, now=made + dt.timedelta(seconds=max_age)) == 5
    for path in app.files:
        assert [json.loads(line)["seq"] for line in _lines(path)] == [3, 5]
    assert seal(sessions, settings, max_age_seconds=0, now=made + dt.timedelta(days=1)) is None  # nothing new


@pytest.mark.requirement("21CFR11.10(e)", "Annex11-9")
def test_verify_reports_the_age_of_the_newest_checkpoint_and_strict_fails_when_stale(app):
    _fill(app, 2)
    sessions, settings = app.extensions["sealtrail.sessions"], app.extensions["sealtrail.settings"]
    long_ago = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=2)
    with sessions.begin() as s:
        create_checkpoint(s, load_signing_key(settings.checkpoint_key_path), at=long_ago)
    with sessions.begin() as s:
        write_checkpoint_files(s, app.files)
    fresh = run(app, "audit", "verify", "--strict")
    assert fresh.exit_code == 0, fresh.output
    assert "newest checkpoint: seq 2" in fresh.output and "2 h 0 min" in fresh.output
    assert "0 entries after it" in fresh.output and "warning" not in fresh.output
    _fill(app, 1)
    lax = run(app, "audit", "verify")
    assert lax.exit_code == 0 and "1 entries after it" in lax.output
    assert "warning: 1 entries are not covered by a checkpoint younger than 600 s" in lax.output
    strict = run(app, "audit", "verify", "--strict")
    assert strict.exit_code == 1 and "SEALTRAIL_CHECKPOINT_MAX_AGE" in strict.output
    as_json = json.loads(run(app, "audit", "verify", "--json").stdout)
    assert as_json["checkpoint_stale"] and as_json["newest_checkpoint"]["entries_after"] == 1


def _lines(path):
    return Path(path).read_text().splitlines()


@pytest.mark.requirement("21CFR11.10(e)", "Annex11-9")
@pytest.mark.parametrize("damage", ["drop_line", "alter_line", "remove_file"])
def test_a_checkpoint_missing_or_altered_in_one_copy_is_reported(app, damage):
    sessions, settings = app.extensions["sealtrail.sessions"], app.extensions["sealtrail.settings"]
    for n in (3, 2):
        _fill(app, n)
        seal(sessions, settings)
    assert run(app, "audit", "verify").exit_code == 0
    mirror = app.files[1]
    lines = _lines(mirror)
    assert [json.loads(line)["seq"] for line in lines] == [3, 5]
    if damage == "drop_line":
        Path(mirror).write_text(lines[1] + "\n")
    elif damage == "alter_line":
        doc = json.loads(lines[0]) | {"head_hash": "0" * 64}
        Path(mirror).write_text(json.dumps(doc, sort_keys=True) + "\n" + lines[1] + "\n")
    else:
        Path(mirror).unlink()
    result = run(app, "audit", "verify")
    assert result.exit_code == 1, result.output
    expected = {"drop_line": f"checkpoint at seq 3 is missing from (or altered in) {mirror}",
                "alter_line": f"checkpoint at seq 3 is missing from (or altered in) {mirror}",
                "remove_file": f"checkpoint file {mirror} is missing"}[damage]
    assert expected in result.output
    assert f"missing from (or altered in) {app.files[0]}" not in result.output  # the intact copy is fine
