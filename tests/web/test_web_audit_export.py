"""The auditor's export download is the CLI's bundle and verifies offline (issue #20, item 6)."""
from __future__ import annotations

import io
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask.cli import ScriptInfo

from audit import Actor, chain

ROOT = Path(__file__).resolve().parents[2]


def _seed(db, n: int = 7):
    actor = Actor("user", "pat.engineer", "Pat Engineer")
    for i in range(n):
        with db.sessions.begin() as s:
            chain.append(s, actor, "item.update", "item", f"ITM-{i % 3}", reason="spec change",
                         before={"spec": f"M{i}"}, after={"spec": f"M{i + 1}"})


def _members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


@pytest.mark.requirement("21CFR11.10(b)")
def test_the_web_export_verifies_with_verify_bundle_and_matches_the_cli(app, client, fresh_db, personas, login,
                                                                        tmp_path):
    from web.cli import cli

    _seed(fresh_db)
    login(personas("auditor"))
    response = client.get("/audit/export")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    web_zip = tmp_path / "web.zip"
    web_zip.write_bytes(response.data)
    web = _members(response.data)
    assert set(web) == {"manifest.json", "manifest.sig", "entries.jsonl", "checkpoints.jsonl", "public_key.pem",
                        "README.txt"}
    checked = subprocess.run([sys.executable, str(ROOT / "audit" / "verify_bundle.py"), str(web_zip)],
                             capture_output=True, text=True, timeout=120)
    assert checked.returncode == 0, checked.stdout + checked.stderr

    cli_zip = tmp_path / "cli.zip"
    result = CliRunner().invoke(cli, ["audit", "export", str(cli_zip)], obj=ScriptInfo(create_app=lambda: app))
    assert result.exit_code == 0, result.output
    from_cli = _members(cli_zip.read_bytes())
    assert set(from_cli) == set(web)
    for name in ("entries.jsonl", "checkpoints.jsonl", "public_key.pem", "README.txt"):
        assert from_cli[name] == web[name], name


@pytest.mark.requirement("21CFR11.10(b)")
def test_an_object_export_from_the_page_verifies_too(app, client, fresh_db, personas, login, tmp_path):
    _seed(fresh_db)
    login(personas("qa"))
    response = client.get("/audit/export?object_type=item&object_id=ITM-1")
    assert response.status_code == 200
    bundle = tmp_path / "object.zip"
    bundle.write_bytes(response.data)
    checked = subprocess.run([sys.executable, str(ROOT / "audit" / "verify_bundle.py"), str(bundle)],
                             capture_output=True, text=True, timeout=120)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert _members(response.data)["entries.jsonl"].count(b"\n") == 2
