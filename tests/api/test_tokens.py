"""API tokens: shown once, stored hashed, scoped, revocable, audited; the CLI."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from flask.cli import ScriptInfo
from sqlalchemy import select

from audit.models import AuditEntry
from engine.access import tokens
from engine.access.models import ApiToken
from engine.errors import Unauthenticated, ValidationFailed
from tests.api.conftest import ADMIN

pytestmark = pytest.mark.requirement("21CFR11.10(h)")


def test_secret_is_returned_once_and_only_its_hash_is_stored(session):
    issued = tokens.create_token(session, ADMIN, name="Line 1 SCADA", scopes=["alarms:write"])
    secret_part = issued.secret.split("_", 2)[2]
    row = session.get(ApiToken, issued.token.id)
    stored = " ".join(str(getattr(row, c.key)) for c in ApiToken.__table__.columns)
    assert secret_part not in stored and issued.secret not in stored
    assert tokens.authenticate(session, issued.secret).id == row.id
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "api_token.created")).all()[-1]
    assert entry.actor_id == "admin" and secret_part not in (entry.after or "")


def test_scopes_are_validated(session):
    with pytest.raises(ValidationFailed, match="unknown scope"):
        tokens.create_token(session, ADMIN, name="x", scopes=["alarms:delete"])
    with pytest.raises(ValidationFailed, match="at least one scope"):
        tokens.create_token(session, ADMIN, name="x", scopes=[])


def test_expired_and_revoked_tokens_fail(session):
    issued = tokens.create_token(session, ADMIN, name="temp", scopes=["read"], expires_in_days=1)
    later = datetime.now(UTC) + timedelta(days=2)
    with pytest.raises(Unauthenticated, match="expired"):
        tokens.authenticate(session, issued.secret, now=later)
    tokens.revoke_token(session, ADMIN, issued.token.public_id, reason="rotated")
    with pytest.raises(Unauthenticated, match="revoked"):
        tokens.authenticate(session, issued.secret)
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "api_token.revoked")).all()[-1]
    assert entry.reason == "rotated" and entry.before and entry.after


def test_revoking_needs_a_reason(session):
    issued = tokens.create_token(session, ADMIN, name="temp", scopes=["read"])
    with pytest.raises(ValidationFailed, match="reason"):
        tokens.revoke_token(session, ADMIN, issued.token.public_id, reason=" ")


class _Runner:
    """Invoke the ``sealtrail`` command group against the test app."""

    def __init__(self, app):
        from web.cli import cli

        self.cli, self.app, self.runner = cli, app, CliRunner()

    def invoke(self, args):
        return self.runner.invoke(self.cli, args, obj=ScriptInfo(create_app=lambda: self.app))


def test_cli_create_list_revoke(app, api_db):
    runner = _Runner(app)
    created = runner.invoke(args=["tokens", "create", "--name", "LIMS", "--scope", "measurements:write",
                                  "--scope", "read", "--by", "admin"])
    assert created.exit_code == 0, created.output
    secret = created.output.strip().splitlines()[-1]
    assert secret.startswith("stk_")
    public_id = secret.split("_")[1]
    listed = runner.invoke(args=["tokens", "list"])
    assert public_id in listed.output and "active" in listed.output and secret not in listed.output
    revoked = runner.invoke(args=["tokens", "revoke", public_id, "--reason", "LIMS replaced", "--by", "admin"])
    assert revoked.exit_code == 0, revoked.output
    assert "revoked" in runner.invoke(args=["tokens", "list"]).output
    again = runner.invoke(args=["tokens", "revoke", public_id, "--reason", "x", "--by", "admin"])
    assert again.exit_code != 0 and "already revoked" in again.output
    bad = runner.invoke(args=["tokens", "create", "--name", "x", "--scope", "root", "--by", "admin"])
    assert bad.exit_code != 0


def test_cli_alarm_rules(app):
    runner = _Runner(app)
    added = runner.invoke(args=["alarm-rules", "add", '{"name": "cli rule", "code": "VAC_LOSS", "action": "log"}',
                                "--reason", "initial setup", "--by", "qa.lead"])
    assert added.exit_code == 0, added.output
    rule_id = int(added.output.split()[2])
    changed = runner.invoke(args=["alarm-rules", "set", str(rule_id), '{"action": "ignore"}',
                                  "--reason", "nuisance", "--by", "qa.lead"])
    assert changed.exit_code == 0 and "version 2" in changed.output
    bad = runner.invoke(args=["alarm-rules", "set", str(rule_id), '{"action": "explode"}',
                              "--reason", "x", "--by", "qa.lead"])
    assert bad.exit_code != 0 and "action" in bad.output
    assert '"cli rule"' in runner.invoke(args=["alarm-rules", "list"]).output


def test_cli_module_is_registered():
    from web.cli import cli

    assert {"tokens", "alarm-rules", "mqtt-bridge"} <= set(cli.commands)
