"""API administration: ``tokens create/list/revoke``, ``alarm-rules list/add/set``, ``mqtt-bridge``."""
from __future__ import annotations

import json

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from engine.access import tokens as token_registry
from engine.errors import SealtrailError
from engine.ingest import baselines
from engine.ingest import rule_table
from engine.ingest import rules as alarm_rules
from engine.masterdata.models import Equipment
from web.cli.actors import actor_of, signed_change
from web.cli.mqtt import mqtt_bridge


def register(cli: click.Group) -> None:
    cli.add_command(tokens)
    cli.add_command(alarm_rules_group)
    cli.add_command(spc_group)

    cli.add_command(mqtt_bridge)


def _sessions():
    return current_app.extensions["sealtrail.sessions"]


ADMIN = ("admin",)
QA = ("qa_engineer", "qa_manager")  # the roles the API lets write alarm rules
SPC = ("process_engineer", "qa_engineer", "qa_manager")
_BY_HELP = "The user making (and signing) the change; password and authenticator code are prompted, or read as two lines from stdin."


def _token_record(token) -> dict:
    return {"public_id": token.public_id, "name": token.name, "scopes": token.scopes,
            "expires_at": token.expires_at.isoformat() if token.expires_at else None,
            "revoked_at": token.revoked_at.isoformat() if token.revoked_at else None,
            "revoke_reason": token.revoke_reason, "share_profile": token.share_profile,
            "share_recipient": token.share_recipient}


def _run(work):
    """Run ``work(session)`` in one transaction; domain errors become a clean CLI error."""
    try:
        with _sessions().begin() as session:
            return work(session)
    except SealtrailError as exc:
        raise click.ClickException(exc.message) from exc


@click.group()
def tokens() -> None:
    """API tokens for machines (MES, SCADA, LIMS): created by an admin, shown once, stored hashed."""


@tokens.command("create")
@click.option("--name", required=True, help="Who uses it, e.g. 'Line 1 SCADA'.")
@click.option("--scope", "scopes", multiple=True, required=True,
              type=click.Choice(token_registry.SCOPES), help="Repeat for several scopes.")
@click.option("--expires-days", type=int, default=None, help="Expire after this many days.")
@click.option("--profile", "share_profile", default=None,
              help="Bind the token to a sharing profile (`share profiles`): it reads only that profile's masked "
                   "view at /api/v1/shared (scope read only).")
@click.option("--recipient", "share_recipient", default=None,
              help="Whom a profile-bound token serves; for the supplier profile the supplier's name (its lots only).")
@click.option("--by", "by", required=True, help="The administrator creating it (username). " + _BY_HELP)
@with_appcontext
def create(name: str, scopes: tuple[str, ...], expires_days: int | None, share_profile: str | None,
           share_recipient: str | None, by: str) -> None:
    """Create a token (signed by an administrator) and print it once."""
    def change(session, user):
        issued = token_registry.create_token(session, actor_of(user), name=name, scopes=list(scopes),
                                             expires_in_days=expires_days, share_profile=share_profile,
                                             share_recipient=share_recipient)
        return issued, issued.token.public_id, _token_record(issued.token)

    issued = signed_change(by, ADMIN, change, record_type="api_token")
    bound = (f"; sharing profile {issued.token.share_profile} for {issued.token.share_recipient or 'any recipient'}"
             if issued.token.share_profile else "")
    click.echo(f"token {issued.token.public_id} ({issued.token.name}; {issued.token.scopes}{bound})")
    click.echo("Store it now; it is not shown again:")
    click.echo(issued.secret)


@tokens.command("list")
@with_appcontext
def list_() -> None:
    """List tokens (never their secrets)."""
    def rows(session):
        return [(t.public_id, t.name, t.scopes + (f" profile {t.share_profile}" if t.share_profile else ""),
                 t.created_at, t.created_by,
                 "revoked" if t.revoked_at else "active", t.last_used_at)
                for t in token_registry.list_tokens(session)]

    for public_id, name, scopes, created, by, state, used in _run(rows):
        last = f"last used {used:%Y-%m-%d %H:%M}" if used else "never used"
        click.echo(f"{public_id}  {state:<7}  {name}  [{scopes}]  created {created:%Y-%m-%d %H:%M} "
                   f"by {by}  {last}")


@tokens.command("revoke")
@click.argument("public_id")
@click.option("--reason", required=True)
@click.option("--by", "by", required=True, help="The administrator revoking it (username). " + _BY_HELP)
@with_appcontext
def revoke(public_id: str, reason: str, by: str) -> None:
    """Revoke a token at once (signed by an administrator)."""
    def change(session, user):
        token = token_registry.revoke_token(session, actor_of(user), public_id, reason=reason)
        return token, token.public_id, _token_record(token)

    signed_change(by, ADMIN, change, record_type="api_token", reason=reason)
    click.echo(f"token {public_id} revoked")


@click.group("alarm-rules")
def alarm_rules_group() -> None:
    """Alarm rules: per code/severity/equipment → ignore, log, deviation or hold (audited)."""


@alarm_rules_group.command("list")
@with_appcontext
def rules_list() -> None:
    """Show the rules in evaluation order."""
    def rows(session):
        return [alarm_rules._snapshot(r) | {"id": r.id} for r in alarm_rules.list_rules(session)]

    for row in _run(rows):
        click.echo(json.dumps(row, sort_keys=True))


@alarm_rules_group.command("table")
@click.option("--dmn", "dmn_path", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Also write the rules as a DMN 1.3 decision table (hit policy FIRST) to this file.")
@with_appcontext
def rules_table(dmn_path: str | None) -> None:
    """Show the active rules as a decision table (first match wins) and what its verification finds
    (a rule earlier rules shadow never acts). Exit 1 when there is a finding."""
    def read(session):
        rules = alarm_rules.list_rules(session)
        return ([(r.priority, r.name, r.code, r.line, r.equipment, r.min_severity, r.max_severity, r.action,
                  r.attach_window_minutes) for r in rules if r.active], rule_table.findings(rules),
                rule_table.decision_table(rules))

    rows, found, dmn = _run(read)
    click.echo("priority | name | code | line | equipment | severity → action | attach window (min)")
    for prio, name, code, line, equipment, lo, hi, action, window in rows:
        click.echo(f"{prio} | {name} | {code or '-'} | {line or '-'} | {equipment or '-'} | {lo}–{hi} → "
                   f"{action} | {window}")
    click.echo(f"otherwise → {alarm_rules.DEFAULT_ACTION}")
    if dmn_path:
        with open(dmn_path, "wb") as fh:
            fh.write(dmn)
    for reason in found:
        click.echo(f"finding: {reason}")
    if found:
        raise SystemExit(1)


def _warn_findings() -> None:
    for reason in _run(lambda session: rule_table.findings(alarm_rules.list_rules(session))):
        click.echo(f"warning: {reason}")


@alarm_rules_group.command("add")
@click.argument("rule_json")
@click.option("--reason", required=True)
@click.option("--by", "by", required=True, help="QA user making the change (username). " + _BY_HELP)
@with_appcontext
def rules_add(rule_json: str, reason: str, by: str) -> None:
    """Add a rule given as JSON, e.g. '{"name": "temp", "code": "TEMP_HIGH", "action": "deviation"}'."""
    data = _parse(rule_json)

    def change(session, user):
        rule = alarm_rules.create_rule(session, actor_of(user), data, reason=reason)
        return rule, str(rule.id), alarm_rules._snapshot(rule)

    rule = signed_change(by, QA, change, record_type="alarm_rule", reason=reason)
    click.echo(f"alarm rule {rule.id} created")
    _warn_findings()


@alarm_rules_group.command("set")
@click.argument("rule_id", type=int)
@click.argument("changes_json")
@click.option("--reason", required=True)
@click.option("--by", "by", required=True, help="QA user making the change (username). " + _BY_HELP)
@with_appcontext
def rules_set(rule_id: int, changes_json: str, reason: str, by: str) -> None:
    """Change fields of a rule, e.g. '{"action": "hold"}'."""
    data = _parse(changes_json)

    def change(session, user):
        rule = alarm_rules.update_rule(session, actor_of(user), rule_id, data, reason=reason)
        return rule, str(rule.id), alarm_rules._snapshot(rule)

    rule = signed_change(by, QA, change, record_type="alarm_rule", reason=reason)
    click.echo(f"alarm rule {rule.id} now at version {rule.version}")
    _warn_findings()


@click.group("spc")
def spc_group() -> None:
    """SPC baselines (centre line and sigma per parameter series)."""


@spc_group.command("baseline")
@click.option("--routing", required=True, help="Routing code.")
@click.option("--operation", required=True, help="Operation code.")
@click.option("--parameter", required=True, help="Parameter name.")
@click.option("--equipment", default=None, help="Equipment code (default: the series across equipment).")
@click.option("--last", type=int, default=25, show_default=True, help="Use the newest N values.")
@click.option("--rules", default="1 2 3 4", show_default=True, help="Western Electric rules to apply.")
@click.option("--reason", required=True)
@click.option("--by", "by", required=True, help="Process engineer or QA (username). " + _BY_HELP)
@with_appcontext
def spc_baseline(routing, operation, parameter, equipment, last, rules, reason, by) -> None:
    """Establish a baseline from the series' newest values (the previous one is superseded)."""

    def change(session, user):
        param = baselines.find_parameter(session, routing=routing, operation=operation, parameter=parameter)
        eq = None
        if equipment:
            eq = session.scalars(select(Equipment).where(Equipment.code == equipment)).one_or_none()
            if eq is None:
                raise click.ClickException(f"no equipment {equipment!r}")
        b = baselines.establish(session, actor_of(user), param, equipment=eq, last=last, rules=rules,
                                reason=reason)
        record = {"routing": routing, "operation": operation, "parameter": parameter, "equipment": equipment,
                  "mean": b.mean, "sigma": b.sigma, "unit": b.unit, "sample_size": b.sample_size, "rules": rules}
        return (f"baseline {b.id}: mean {b.mean:g} sigma {b.sigma:g} {b.unit} from {b.sample_size} values",
                str(b.id), record)

    click.echo(signed_change(by, SPC, change, record_type="spc_baseline", reason=reason))


def _parse(text: str) -> dict:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise click.BadParameter(f"not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise click.BadParameter("give a JSON object")
    return data
