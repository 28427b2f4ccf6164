"""API tokens: shown once, stored hashed, scoped, revocable, audited; the CLI."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from flask.cli import ScriptInfo
import uuid

from sqlalchemy import func, select

from audit.models import AuditEntry, Signature
from audit.policy import SigningPolicy
from engine.access import tokens
from engine.access.models import ApiToken
from engine.errors import Unauthenticated, ValidationFailed
from tests.api.conftest import ADMIN
from tests.ops import workload as wl


@pytest.mark.requirement("21CFR11.10(h)")
def test_secret_is_returned_once_and_only_its_hash_is_stored(session):
    issued = tokens.create_token(session, ADMIN, name="Line 1 SCADA", scopes=["alarms:write"])
    secret_part = issued.secret.split("_", 2)[2]
    row = session.get(ApiToken, issued.token.id)
    stored = " ".join(str(getattr(row, c.key)) for c in ApiToken.__table__.columns)
    assert secret_part not in stored and issued.secret not in stored
    assert tokens.authenticate(session, issued.secret).id == row.id
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "api_token.created")).all()[-1]
    assert entry.actor_id == "admin" and secret_part not in (entry.after or "")


@pytest.mark.requirement("21CFR11.10(h)")
def test_scopes_are_validated(session):
    with pytest.raises(ValidationFailed, match="unknown scope"):
        tokens.create_token(session, ADMIN, name="x", scopes=["alarms:delete"])
    with pytest.raises(ValidationFailed, match="at least one scope"):
        tokens.create_token(session, ADMIN, name="x", scopes=[])


@pytest.mark.requirement("21CFR11.10(h)")
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


@pytest.mark.requirement("21CFR11.10(h)")
def test_revoking_needs_a_reason(session):
    issued = tokens.create_token(session, ADMIN, name="temp", scopes=["read"])
    with pytest.raises(ValidationFailed, match="reason"):
        tokens.revoke_token(session, ADMIN, issued.token.public_id, reason=" ")


class _Runner:
    """Invoke the ``sealtrail`` command group against the test app."""

    def __init__(self, app):
        from web.cli import cli

        self.cli, self.app, self.runner = cli, app, CliRunner()

    def invoke(self, args, input=None):
        return self.runner.invoke(self.cli, args, obj=ScriptInfo(create_app=lambda: self.app), input=input)


@pytest.fixture()
def signer(app, api_db, monkeypatch):
    """Real users with enrolled authenticators, and the clock the CLI signs with."""
    clock = wl.Clock()
    monkeypatch.setitem(app.extensions, "sealtrail.clock", clock)
    policy = SigningPolicy.from_settings(app.extensions["sealtrail.settings"], clock=clock)

    def make(roles: list[str]):
        name = f"u{uuid.uuid4().hex[:8]}"
        with api_db.sessions.begin() as s:
            user, secret = wl.create_user(s, name, roles, policy, clock)
            user_id = user.id
        clock.step()  # the enrollment used this time-step

        def credentials() -> str:
            """Password and the current code as two stdin lines; moves the clock to a fresh step."""
            lines = f"{wl.PASSWORD}\n{wl.code(secret, clock)}\n"
            clock.step()
            return lines
        return name, user_id, credentials
    return make


def _signatures_of(api_db, record_type: str, record_id: str) -> list[Signature]:
    with api_db.sessions() as s:
        return list(s.scalars(select(Signature).where(Signature.record_type == record_type,
                                                      Signature.record_id == record_id)))


@pytest.mark.requirement("21CFR11.10(h)", "21CFR11.50", "21CFR11.70")
def test_cli_create_list_revoke(app, api_db, signer):
    runner = _Runner(app)
    admin, admin_id, credentials = signer(["admin"])
    created = runner.invoke(args=["tokens", "create", "--name", "LIMS", "--scope", "measurements:write",
                                  "--scope", "read", "--by", admin], input=credentials())
    assert created.exit_code == 0, created.output
    secret = created.output.strip().splitlines()[-1]
    assert secret.startswith("stk_")
    public_id = secret.split("_")[1]
    [signature] = _signatures_of(api_db, "api_token", public_id)
    assert signature.user_id == str(admin_id) and signature.components == "password+totp"
    with api_db.sessions() as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "api_token.created")
                          .order_by(AuditEntry.seq.desc())).first()
        signed = s.get(AuditEntry, signature.audit_entry_id)
    assert entry.actor_kind == "user" and entry.actor_id == str(admin_id)
    assert signed.action == "signature.applied" and signed.payload_value["record_sha256"] == signature.record_sha256
    listed = runner.invoke(args=["tokens", "list"])
    assert public_id in listed.output and "active" in listed.output and secret not in listed.output
    revoked = runner.invoke(args=["tokens", "revoke", public_id, "--reason", "LIMS replaced", "--by", admin],
                            input=credentials())
    assert revoked.exit_code == 0, revoked.output
    assert "revoked" in runner.invoke(args=["tokens", "list"]).output
    assert len(_signatures_of(api_db, "api_token", public_id)) == 2
    again = runner.invoke(args=["tokens", "revoke", public_id, "--reason", "x", "--by", admin], input=credentials())
    assert again.exit_code != 0 and "already revoked" in again.output
    bad = runner.invoke(args=["tokens", "create", "--name", "x", "--scope", "root", "--by", admin], input=credentials())
    assert bad.exit_code != 0


@pytest.mark.requirement("21CFR11.10(g)", "21CFR11.100", "21CFR11.200")
@pytest.mark.parametrize("args", [
    ["tokens", "create", "--name", "x", "--scope", "read"],
    ["alarm-rules", "add", '{"name": "n", "code": "C", "action": "log"}', "--reason", "r"],
])
def test_cli_refuses_an_actor_who_does_not_exist_lacks_the_role_or_cannot_sign(app, api_db, signer, args):
    runner = _Runner(app)
    with api_db.sessions() as s:
        before = s.scalar(select(func.count()).select_from(AuditEntry))
    nobody = runner.invoke(args=[*args, "--by", "nobody.here"], input="x\n123456\n")
    assert nobody.exit_code == 1 and "--by nobody.here: no such user" in nobody.output
    operator, _, credentials = signer(["operator"])
    wrong_role = runner.invoke(args=[*args, "--by", operator], input=credentials())
    assert wrong_role.exit_code == 1 and "needs the role" in wrong_role.output
    allowed, _, credentials = signer(["admin", "qa_manager"])
    wrong_code = runner.invoke(args=[*args, "--by", allowed], input=f"{wl.PASSWORD}\n000000\n")
    assert wrong_code.exit_code == 1 and "not changed" in wrong_code.output
    unsigned = runner.invoke(args=[*args, "--by", allowed], input="")
    assert unsigned.exit_code == 1 and "must sign this change" in unsigned.output
    with api_db.sessions() as s:  # nothing but the refused signature's own security record
        actions = s.scalars(select(AuditEntry.action).where(AuditEntry.seq > before)).all()
    assert "api_token.created" not in actions and "alarm_rule.created" not in actions
    assert "nobody.here" not in str(actions)


@pytest.mark.requirement("21CFR11.10(g)", "21CFR11.70")
def test_cli_alarm_rules(app, api_db, signer):
    runner = _Runner(app)
    qa, qa_id, credentials = signer(["qa_manager"])
    added = runner.invoke(args=["alarm-rules", "add", '{"name": "cli rule", "code": "VAC_LOSS", "action": "log"}',
                                "--reason", "initial setup", "--by", qa], input=credentials())
    assert added.exit_code == 0, added.output
    rule_id = int(added.output.split()[2])
    [signature] = _signatures_of(api_db, "alarm_rule", str(rule_id))
    assert signature.user_id == str(qa_id) and signature.meaning == "approved"
    changed = runner.invoke(args=["alarm-rules", "set", str(rule_id), '{"action": "ignore"}',
                                  "--reason", "nuisance", "--by", qa], input=credentials())
    assert changed.exit_code == 0 and "version 2" in changed.output
    assert len(_signatures_of(api_db, "alarm_rule", str(rule_id))) == 2
    bad = runner.invoke(args=["alarm-rules", "set", str(rule_id), '{"action": "explode"}',
                              "--reason", "x", "--by", qa], input=credentials())
    assert bad.exit_code != 0 and "action" in bad.output
    assert '"cli rule"' in runner.invoke(args=["alarm-rules", "list"]).output
    table = runner.invoke(args=["alarm-rules", "table"]).output  # other tests' rules share this database
    assert "| cli rule | VAC_LOSS | - | - | 1–1000 → ignore | 480" in table and "otherwise → log" in table


def test_cli_module_is_registered():
    from web.cli import cli

    assert {"tokens", "alarm-rules", "mqtt-bridge"} <= set(cli.commands)
