"""The ``sealtrail`` command: every command has help; users and demo commands work end to end."""
import re

import pytest
from click.testing import CliRunner
from flask.cli import ScriptInfo

from engine.config import load_settings
from tests.conftest import settings_for
from web.app import create_app
from web.cli import cli

CORE = ("init", "serve", "demo", "users")


def _invoke(args, url=None, **kw):
    """Run the CLI against ``url``; the apps it creates have their engines disposed afterwards."""
    apps = []

    def factory():
        settings = settings_for(url) if url else load_settings()
        apps.append(create_app(settings=settings))
        return apps[-1]

    try:
        return CliRunner().invoke(cli, args, obj=ScriptInfo(create_app=factory), **kw)
    finally:
        for app in apps:
            app.extensions["sealtrail.engine"].dispose()


def _run(args, url=None):
    return _invoke(args, url, catch_exceptions=False)


def test_help_lists_commands_each_with_help_text():
    result = _run(["--help"])
    assert result.exit_code == 0
    listed = dict(re.findall(r"^  ([a-z][\w-]+)\s+(.+)$", result.output.split("Commands:")[1], re.M))
    for name in CORE:
        assert name in listed
    assert all(text.strip() for text in listed.values())
    for name in listed:
        sub = _run([name, "--help"])
        assert sub.exit_code == 0 and "Usage:" in sub.output
        body = sub.output.split("Options:")[0].split("\n", 2)[-1]
        assert body.strip(), f"{name} has no help text"


def test_help_and_version_are_sealtrails_own():
    """Only Sealtrail's commands and options: no Flask -e/-A/--debug, no commands other packages plug in."""
    result = _run(["--help"])
    options = result.output.split("Options:")[1].split("Commands:")[0]
    assert re.findall(r"^  (-[-\w]+)", options, re.M) == ["--version", "--help"]
    listed = re.findall(r"^  ([a-z][\w-]+)\s", result.output.split("Commands:")[1], re.M)
    assert "openapi" not in listed and "limiter" not in listed and "run" not in listed
    version = _run(["--version"])
    assert version.exit_code == 0
    assert re.fullmatch(r"sealtrail (\d+\.\d+\.\d+\S*|unknown \(not installed\))\n", version.output)
    assert "Flask" not in version.output


@pytest.mark.parametrize("sub", ["create", "list", "reset-password", "disable", "enable"])
def test_users_subcommands_have_help(sub):
    result = _run(["users", sub, "--help"])
    assert result.exit_code == 0
    assert result.output.split("Options:")[0].count("\n") > 2


def test_users_create_list_reset_disable(fresh_db):
    url = fresh_db.url
    out = _run(["users", "create", "wang.fang", "--name", "王芳 / Wang Fang", "--role", "process_engineer",
                "--role", "qa_engineer"], url)
    assert out.exit_code == 0, out.output
    assert "temporary password (shown once): Tmp-" in out.output
    listed = _run(["users", "list"], url).output
    assert "wang.fang" in listed and "王芳 / Wang Fang" in listed and "process_engineer, qa_engineer" in listed
    assert "must change password" in listed
    dup = _invoke(["users", "create", "wang.fang", "--name", "Other"], url)
    assert dup.exit_code != 0 and "never reused" in dup.output
    reset = _run(["users", "reset-password", "wang.fang", "--reason", "forgotten"], url)
    assert reset.exit_code == 0 and "temporary password for wang.fang" in reset.output
    assert _run(["users", "disable", "wang.fang", "--reason", "left the company"], url).exit_code == 0
    assert "DISABLED" in _run(["users", "list"], url).output
    again = _invoke(["users", "create", "wang.fang", "--name", "New person"], url)
    assert again.exit_code != 0 and "never reused" in again.output
    bad = _invoke(["users", "disable", "nobody", "--reason", "x"], url)
    assert bad.exit_code != 0 and "does not exist" in bad.output


@pytest.mark.slow
def test_demo_load_only_twice_is_idempotent(fresh_db):
    first = _run(["demo", "--load-only"], fresh_db.url)
    assert first.exit_code == 0, first.output
    assert "DEMO ACCOUNTS" in first.output and "zhao.min" in first.output
    second = _run(["demo", "--load-only"], fresh_db.url)
    assert second.exit_code == 0
    assert "already loaded" in second.output and "DEMO ACCOUNTS" not in second.output


def _credentials(output: str, username: str) -> tuple[str, str]:
    """(password, TOTP secret) of a demo account from the credentials `demo` printed once."""
    line = next(l for l in output.splitlines() if l.strip().startswith(username + " "))
    password, secret = line.split()[1:3]
    return password, secret


def test_after_a_signed_deploy_demo_and_init_create_no_new_version(fresh_db):
    import datetime as dt

    import pyotp
    from sqlalchemy import func, select

    from audit.policy import SigningPolicy
    from audit.signatures import sign
    from engine.users import accounts
    from engine.workflows import Document, deploy, list_versions
    from engine.workflows.deploy import shipped_bpmn_dir
    from engine.workflows.models import ProcessVersion

    loaded = _run(["demo", "--load-only"], fresh_db.url)
    password, secret = _credentials(loaded.output, "wang.fang")
    edited = (shipped_bpmn_dir() / "deviation.bpmn").read_text().replace(' name="', ' name="Plant ', 1)
    with fresh_db.sessions.begin() as s:  # what the editor's deploy does: deploy + sign, one transaction
        engineer = accounts.find_user(s, "wang.fang")
        [v2] = deploy(s, accounts.actor_for(engineer), [Document("deviation.bpmn", edited.encode())],
                      comment="plant-specific triage").deployed
        later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=90)  # past the steps demo used
        sign(s, engineer, password=password, totp_code=pyotp.TOTP(secret).at(later), meaning="approved",
             record_type="process_version", record_id=f"deviation:v{v2.version}",
             record={"process_id": "deviation", "version": v2.version, "content_sha256": v2.content_sha256,
                     "comment": "plant-specific triage"},
             policy=SigningPolicy.from_settings(fresh_db.settings(), clock=lambda: later))
        before = s.scalar(select(func.count()).select_from(ProcessVersion))
    for args in (["demo", "--load-only"], ["init"]):
        result = _run(args, fresh_db.url)
        assert result.exit_code == 0, result.output
        assert "newer shipped diagram" not in result.output  # the shipped file is what v1 was
    with fresh_db.sessions.begin() as s:
        assert s.scalar(select(func.count()).select_from(ProcessVersion)) == before
        assert list_versions(s, "deviation")[0].version == v2.version == 2


def test_init_installs_the_shipped_sharing_profiles_once(fresh_db):
    from audit import SYSTEM
    from engine.governance import profile_revisions
    from engine.governance.profiles import shipped_profiles

    first = _run(["init"], fresh_db.url)
    assert first.exit_code == 0 and "sharing profiles installed: notified-body, supplier" in first.output
    with fresh_db.sessions.begin() as s:
        assert profile_revisions.released_profile(s, "supplier").sha256 == \
            profile_revisions.find_released(s, "supplier").sha256
        text = shipped_profiles()["supplier"].decode("utf-8").replace('"certificate_ref", ', "")
        profile_revisions.save_draft(s, SYSTEM, "supplier", text, reason="plant's own wording")
    again = _run(["init"], fresh_db.url)
    assert again.exit_code == 0 and "sharing profiles installed: none" in again.output
    with fresh_db.sessions() as s:
        assert [r.revision for r in profile_revisions.history(s, "supplier")] == [2, 1]  # the draft kept
