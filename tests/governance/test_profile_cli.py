"""Sharing profiles from the command line (#18): list the released revisions, save a draft
(checked, diffed), and propose it through change control; packages keep using the released one."""
from __future__ import annotations

import datetime as dt

from click.testing import CliRunner
from flask.cli import ScriptInfo
from pyrage import x25519
from sqlalchemy import select

from audit import SYSTEM
from audit.models import Signature
from engine.governance import profile_revisions
from engine.governance.profiles import shipped_profiles
from engine.processes.models import ChangeRequest
from engine.workflows import deploy_all_shipped
from tests.ops import workload as wl
from web.app import create_app
from web.cli import cli


def test_profile_draft_diff_and_submission_from_the_cli(demo_db, tmp_path, monkeypatch):
    with demo_db.sessions.begin() as s:
        assert not deploy_all_shipped(s, SYSTEM).problems  # the change-control process
    app = create_app({"TESTING": True}, settings=demo_db.settings())
    clock = wl.Clock(dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=2))
    monkeypatch.setitem(app.extensions, "sealtrail.clock", clock)
    run = lambda a, i=None: CliRunner().invoke(cli, a, obj=ScriptInfo(create_app=lambda: app), input=i)  # noqa: E731
    edited = shipped_profiles()["supplier"].decode("utf-8").replace('"certificate_ref", ', "")
    (tmp_path / "supplier.toml").write_text(edited, encoding="utf-8")
    (tmp_path / "bad.toml").write_text(edited.replace('root = "purchased"', 'root = "bought"'), encoding="utf-8")
    recipient = x25519.Identity.generate()
    (tmp_path / "r.pub").write_text(f"{recipient.to_public()}\n", encoding="utf-8")
    try:
        listed = run(["share", "profiles"])
        assert listed.exit_code == 0 and "supplier rev 1" in listed.output and "notified-body rev 1" in listed.output
        bad = run(["share", "profile-draft", "supplier", "--file", str(tmp_path / "bad.toml"), "--reason", "x",
                   "--by", "zhao.min"])
        assert bad.exit_code == 1 and "root must be purchased or made" in bad.output
        saved = run(["share", "profile-draft", "supplier", "--file", str(tmp_path / "supplier.toml"),
                     "--reason", "certificates go through the supplier portal", "--by", "zhao.min"])
        assert saved.exit_code == 0, saved.output
        assert "sharing profile supplier rev 2 saved as draft" in saved.output
        assert "table supplier_lots: drops certificate_ref" in saved.output
        diff = run(["share", "profile-show", "supplier", "--diff"])
        assert diff.exit_code == 0 and diff.output.startswith("--- rev 1\n+++ rev 2")
        assert any(line.startswith("-") and "certificate_ref" in line for line in diff.output.splitlines())
        # The draft is not used: a package made now carries revision 1 and its certificate column.
        qa = demo_db.demo.credentials()["zhao.min"]
        made = run(["share", "create", "--profile", "supplier", "--lot", "RCV-2609-001", "--recipient-key",
                    str(tmp_path / "r.pub"), "-o", str(tmp_path / "p.zip"), "--reason", "review", "--by", "zhao.min"],
                   f"{qa.password}\n{wl.code(qa.totp_secret, clock)}\n")
        assert made.exit_code == 0 and "(supplier rev 1)" in made.output, made.output
        clock.step()
        refused = run(["share", "profile-submit", "supplier", "--comment", "x", "--by", "zhao.min"], "x\n0\n")
        assert refused.exit_code == 1 and "needs the role process_engineer" in refused.output
        pe = demo_db.demo.credentials()["wang.fang"]
        submitted = run(["share", "profile-submit", "supplier", "--comment", "certificates via the portal",
                         "--by", "wang.fang"], f"{pe.password}\n{wl.code(pe.totp_secret, clock)}\n")
        assert submitted.exit_code == 0, submitted.output
    finally:
        app.extensions["sealtrail.engine"].dispose()
    with demo_db.sessions() as s:
        draft = profile_revisions.open_revision(s, "supplier")
        change = s.scalars(select(ChangeRequest).where(ChangeRequest.number == draft.change_ref)).one()
        assert draft.status == "in_review" and change.status == "submitted"
        assert profile_revisions.find_released(s, "supplier").revision == 1
        assert s.scalars(select(Signature.username).where(Signature.username == "wang.fang")).first()
