"""``delegations``: signed, time-boxed delegation of roles (create, list, revoke) (#18)."""
from __future__ import annotations

import datetime as dt

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from engine.delegations.acting import create_delegation, revoke_delegation
from engine.delegations.models import Delegation
from engine.errors import NotFound
from engine.users import accounts
from engine.users.models import ROLES
from web.cli.actors import actor_of, signed_change

_BY = ("The person signing (username): the delegator, or an administrator. Signs with password and "
       "authenticator code (prompted, or two lines on stdin).")


def register(cli: click.Group) -> None:
    cli.add_command(delegations_group)


def _now() -> dt.datetime:
    clock = current_app.extensions.get("sealtrail.clock")
    return clock() if clock else dt.datetime.now(dt.timezone.utc)


def _moment(text: str, field: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise click.BadParameter("give a date or time as YYYY-MM-DD[THH:MM[+ZZ:ZZ]] (UTC when no zone)",
                                 param_hint=field) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


def _may_sign_for(user, delegator_name: str) -> None:
    if user.username != delegator_name and "admin" not in user.roles:
        raise click.ClickException(f"--by {user.username}: only {delegator_name} or an administrator signs "
                                   "this delegation")


@click.group("delegations")
def delegations_group() -> None:
    """Delegation of roles from one person to another, signed and time-boxed."""


@delegations_group.command("create")
@click.option("--from", "delegator", required=True, help="Whose roles are delegated (username).")
@click.option("--to", "delegate", required=True, help="Who may act for them (username).")
@click.option("--role", "roles", multiple=True, required=True, type=click.Choice([r for r in ROLES if r != "admin"]))
@click.option("--process", "processes", multiple=True, help="Limit to these BPMN process ids (default: any).")
@click.option("--valid-from", required=True, help="Start, e.g. 2026-12-07 or 2026-12-07T08:00+08:00.")
@click.option("--valid-until", required=True, help="End (exclusive); at most 90 days after the start.")
@click.option("--reason", required=True)
@click.option("--by", "by", required=True, help=_BY)
@with_appcontext
def create(delegator: str, delegate: str, roles: tuple[str, ...], processes: tuple[str, ...], valid_from: str,
           valid_until: str, reason: str, by: str) -> None:
    """Let --to act in --role for --from between two moments (signed, audited)."""
    start, end = _moment(valid_from, "--valid-from"), _moment(valid_until, "--valid-until")

    def change(session, user):
        _may_sign_for(user, delegator)
        row = create_delegation(session, actor_of(user), delegator=accounts.get_user_by_name(session, delegator),
                                delegate=accounts.get_user_by_name(session, delegate), roles=list(roles),
                                process_ids=list(processes), valid_from=start, valid_until=end, reason=reason,
                                now=_now())
        record = {"delegation_id": row.id, "delegator": delegator, "delegate": delegate, "roles": row.roles,
                  "process_ids": row.process_ids, "valid_from": start.isoformat(), "valid_until": end.isoformat(),
                  "reason": row.reason}
        return record, str(row.id), record

    record = signed_change(by, ROLES, change, record_type="delegation", meaning="approved", reason=reason)
    click.echo(f"delegation {record['delegation_id']}: {delegate} acts as {', '.join(record['roles'])} for "
               f"{delegator} from {record['valid_from']} until {record['valid_until']}")


@delegations_group.command("list")
@with_appcontext
def list_() -> None:
    """Every delegation, newest first."""
    sessions = current_app.extensions["sealtrail.sessions"]
    with sessions() as session:
        for d in session.scalars(select(Delegation).order_by(Delegation.id.desc())):
            state = f"revoked {d.revoked_at.isoformat()}" if d.revoked_at else "signed"
            click.echo(f"{d.id}  {d.delegate.username} for {d.delegator.username}  {','.join(d.roles)}  "
                       f"{d.valid_from.isoformat()} .. {d.valid_until.isoformat()}  "
                       f"{','.join(d.process_ids) or 'any process'}  [{state}]  {d.reason}")


@delegations_group.command("revoke")
@click.argument("delegation_id", type=int)
@click.option("--reason", required=True)
@click.option("--by", "by", required=True, help=_BY)
@with_appcontext
def revoke(delegation_id: int, reason: str, by: str) -> None:
    """End a delegation now (signed, audited)."""
    def change(session, user):
        row = session.get(Delegation, delegation_id)
        if row is None:
            raise NotFound(f"no delegation {delegation_id}", field="delegation")
        _may_sign_for(user, row.delegator.username)
        revoke_delegation(session, actor_of(user), row, reason=reason, now=_now())
        record = {"delegation_id": row.id, "revoked_at": row.revoked_at.isoformat(), "reason": reason}
        return record, str(row.id), record

    signed_change(by, ROLES, change, record_type="delegation", meaning="approved", reason=reason)
    click.echo(f"delegation {delegation_id} revoked")
