"""Sharing packages (issue #18): masked, encrypted to the recipient, signed, audited, verifiable offline."""
from __future__ import annotations

import datetime as dt
import io
import json
import zipfile

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask.cli import ScriptInfo
from pyrage import x25519
from sqlalchemy import select

from audit import verify_share
from audit.models import AuditEntry, Signature
from engine.errors import ValidationFailed
from engine.governance.profile_revisions import released_profile
from engine.governance.profiles import ProfileError, parse_profile
from engine.governance.sharing import create_share
from engine.users import actor_for
from engine.users.models import User
from tests.ops import workload as wl
from web.app import create_app
from web.cli import cli

NOW = dt.datetime(2026, 11, 20, 9, 30, tzinfo=dt.timezone.utc)
TUBING_RESIN_LOT = "RCV-2609-001"  # the demo's PVC compound, extruded into the tubing lots


@pytest.fixture(scope="module")
def recipient():
    return x25519.Identity.generate()


def _share(db, recipient, *, profile="supplier", selector=("lot", TUBING_RESIN_LOT), key=None):
    key = key or Ed25519PrivateKey.generate()
    with db.sessions.begin() as s:
        qa = s.scalars(select(User).where(User.username == "zhao.min")).one()
        return create_share(s, actor_for(qa), released_profile(s, profile), selector, recipient_key=str(recipient.to_public()),
                            reason="supplier quality review of Zhao Min's complaint", signing_key=key, now=NOW), key


def _open(package, identity) -> tuple[int, str, dict | None]:
    files = {n: zipfile.ZipFile(io.BytesIO(package)).read(n) for n in verify_share.MEMBERS}
    try:
        manifest, _ = verify_share.verify_manifest(files)
        return 0, "", verify_share.open_payload(files, manifest, str(identity))
    except verify_share.Failed as exc:
        return 1, exc.kind, None


def _names(db) -> set[str]:
    with db.sessions() as s:
        users = s.execute(select(User.username, User.printed_name)).all()
    names = set()
    for username, printed in users:
        names |= {username, printed, *(part.strip() for part in printed.split("/"))}
    return {n for n in names if n}


@pytest.mark.requirement("21CFR11.10(d)")
def test_a_supplier_package_holds_no_user_names_and_no_other_supplier(demo_db, recipient):
    package, _key = _share(demo_db, recipient)
    status, _kind, opened = _open(package.data, recipient)
    assert status == 0
    text = json.dumps(opened, ensure_ascii=False).casefold()
    leaked = sorted(n for n in _names(demo_db) if n.casefold() in text)
    assert leaked == []
    assert "[redacted]" not in json.dumps(opened["reason"]) and "P-" in opened["reason"]  # the name in the reason
    records = opened["records"]
    assert [s["supplier"] for s in records["supplier_lots"]] == ["Shandong Weigao Polymer"]
    for other in ("Henkel Loctite", "Ningbo Medplast", "Pall Medical", "Jiangxi Hongda", "Zhejiang Kindly"):
        assert other.casefold() not in text
    lots = {lot["lot_number"] for lot in records["lots"]}
    assert {TUBING_RESIN_LOT, "TUBE-2609-01", "TUBE-2610-01", "IS200-2609-001"} <= lots
    assert not lots & {"RCV-2609-002", "RCV-2609-009"}  # other suppliers' material
    assert records["parameter_measurements"] and all(
        "manifest" not in lot and "supplier_lot_number" not in lot for lot in records["lots"])
    # One operator, one pseudonym throughout the package; another package, other pseudonyms.
    executions = records["operation_executions"]
    assert all(e["operator_id"].startswith("P-") for e in executions)
    again, _ = _share(demo_db, recipient)
    _s, _k, reopened = _open(again.data, recipient)
    first = {e["id"]: e["operator_id"] for e in executions}
    second = {e["id"]: e["operator_id"] for e in reopened["records"]["operation_executions"]}
    assert len(set(first.values())) < len(first) and set(first.values()).isdisjoint(second.values())


def test_the_share_is_in_the_audit_trail(demo_db, recipient):
    package, key = _share(demo_db, recipient)
    with demo_db.sessions() as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "share.created")).one()
    assert entry.object_id == package.package_id and entry.actor_name.endswith("Zhao Min")
    after = json.loads(entry.after) if isinstance(entry.after, str) else entry.after
    assert after["recipient"] == str(recipient.to_public()) and after["profile"] == "supplier"
    assert after["payload_sha256"] == package.manifest["payload"]["sha256"]
    assert entry.reason.startswith("supplier quality review")


def _tampered(data: bytes, name: str, change) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            content = src.read(info.filename)
            dst.writestr(info.filename, change(content) if info.filename == name else content)
    return out.getvalue()


def test_a_tampered_package_fails_and_a_wrong_identity_cannot_open_it(demo_db, recipient):
    package, _ = _share(demo_db, recipient)
    flip = lambda b: b[:-40] + bytes([b[-40] ^ 1]) + b[-39:]  # noqa: E731
    assert _open(_tampered(package.data, "payload.age", flip), recipient)[:2] == (1, "payload")
    more = lambda b: b.replace(b'"lots": ', b'"lots": 1', 1) if b'"lots": ' in b else b + b" "  # noqa: E731
    assert _open(_tampered(package.data, "manifest.json", more), recipient)[:2] == (1, "signature")
    other, _ = _share(demo_db, recipient)  # a validly signed manifest of another package
    foreign_sig = zipfile.ZipFile(io.BytesIO(other.data)).read("manifest.sig")
    assert _open(_tampered(package.data, "manifest.sig", lambda _b: foreign_sig), recipient)[:2] == (1, "signature")
    assert _open(package.data, x25519.Identity.generate())[:2] == (1, "identity")


def test_verify_share_command(demo_db, recipient, tmp_path, capsys):
    package, key = _share(demo_db, recipient)
    (tmp_path / "pkg.zip").write_bytes(package.data)
    (tmp_path / "me.key").write_text(f"# created: for the test\n{recipient}\n", encoding="utf-8")
    (tmp_path / "other.key").write_text(f"{x25519.Identity.generate()}\n", encoding="utf-8")
    args = [str(tmp_path / "pkg.zip"), "--identity", str(tmp_path / "me.key"), "-o", str(tmp_path / "out.json")]
    assert verify_share.main(args) == 0
    assert "OK: package" in capsys.readouterr().out
    assert json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))["package_id"] == package.package_id
    assert verify_share.main([*args, "--expect-key", "SHA256:" + "0" * 64]) == 1
    assert verify_share.main([str(tmp_path / "pkg.zip"), "--identity", str(tmp_path / "other.key")]) == 1
    (tmp_path / "junk.zip").write_bytes(b"not a zip")
    assert verify_share.main([str(tmp_path / "junk.zip"), "--identity", str(tmp_path / "me.key")]) == 2


def test_profiles_are_checked_and_selectors_enforced(demo_db, recipient):
    with pytest.raises(ProfileError, match="no column"):
        parse_profile("x", b'name = "x"\nselectors = ["lot"]\n[tables.lots]\ncolumns = ["id", "colour"]\n')
    with pytest.raises(ProfileError, match="name must be"):
        parse_profile("x", b'name = "y"\nselectors = ["lot"]\n')
    with pytest.raises(ValidationFailed, match="purchased lot"):
        _share(demo_db, recipient, selector=("lot", "IS200-2609-001"))
    with pytest.raises(ValidationFailed, match="selected by lot"):
        _share(demo_db, recipient, selector=("period", "2026-01-01..2026-12-31"))
    with pytest.raises(ValidationFailed, match="age"):
        with demo_db.sessions.begin() as s:
            create_share(s, actor_for(s.get(User, 1)), released_profile(s, "supplier"), ("lot", TUBING_RESIN_LOT),
                         recipient_key="age1nope", reason="x", signing_key=Ed25519PrivateKey.generate(), now=NOW)


def test_notified_body_package_for_a_period(demo_db, recipient):
    from engine.processes.deviations import open_deviation

    with demo_db.sessions.begin() as s:
        li_na = s.scalars(select(User).where(User.username == "li.na")).one()
        deviation = open_deviation(s, actor_for(li_na), lot="IS200-2610-002", source="user", start_workflow=False,
                                   description="Li Na (li.na) found a kinked tube; 李娜 told zhao.min at once")
        day = deviation.raised_at.date().isoformat()
    package, _ = _share(demo_db, recipient, profile="notified-body", selector=("period", f"{day}..{day}"))
    _s, _k, opened = _open(package.data, recipient)
    records = opened["records"]
    assert [d["number"] for d in records["deviations"]] == [deviation.number]
    assert [lot["lot_number"] for lot in records["lots"]] == ["IS200-2610-002"]
    described = records["deviations"][0]["description"]
    assert "found a kinked tube" in described and described.count("P-") == 4
    text = json.dumps(opened, ensure_ascii=False).casefold()
    assert sorted(n for n in _names(demo_db) if n.casefold() in text) == []


def test_share_create_command_is_signed(demo_db, recipient, tmp_path, monkeypatch):
    app = create_app({"TESTING": True}, settings=demo_db.settings())
    # After the demo's enrolment (made on the wall clock when the template was loaded): a fresh time-step.
    clock = wl.Clock(dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=2))
    monkeypatch.setitem(app.extensions, "sealtrail.clock", clock)
    qa = demo_db.demo.credentials()["zhao.min"]
    (tmp_path / "r.pub").write_text(f"# public key\n{recipient.to_public()}\n", encoding="utf-8")
    args = ["share", "create", "--profile", "supplier", "--lot", TUBING_RESIN_LOT, "--recipient-key",
            str(tmp_path / "r.pub"), "-o", str(tmp_path / "p.zip"), "--reason", "annual supplier review",
            "--by", "zhao.min"]
    try:
        run = lambda a, i: CliRunner().invoke(cli, a, obj=ScriptInfo(create_app=lambda: app), input=i)  # noqa: E731
        result = run(args, f"{qa.password}\n{wl.code(qa.totp_secret, clock)}\n")
        assert result.exit_code == 0, result.output
        operator = next(u for u, c in demo_db.demo.credentials().items() if u == "li.na")
        clock.step()
        refused = run([*args[:-1], operator], "x\n000000\n")
        assert refused.exit_code == 1 and "needs the role" in refused.output
    finally:
        app.extensions["sealtrail.engine"].dispose()
    assert _open((tmp_path / "p.zip").read_bytes(), recipient)[0] == 0
    with demo_db.sessions() as s:
        signature = s.scalars(select(Signature).where(Signature.record_type == "share_package")).one()
    assert signature.username == "zhao.min" and signature.meaning == "approved"
