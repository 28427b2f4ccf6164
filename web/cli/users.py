"""``users``: create, list, reset passwords of, disable and re-enable user accounts."""
from __future__ import annotations

import getpass
import secrets

import click
from flask import current_app
from flask.cli import with_appcontext

from audit import Actor
from engine.errors import SealtrailError
from engine.users import ROLES, accounts, directory


def register(cli: click.Group) -> None:
    cli.add_command(users)


def _cli_actor() -> Actor:
    who = getpass.getuser()
    return Actor(kind="system", id=f"cli:{who}", name=f"sealtrail CLI ({who})")


def _run(work):
    """Run ``work(session)`` in one transaction; domain errors become a clean CLI error."""
    try:
        with current_app.extensions["sealtrail.sessions"].begin() as session:
            return work(session)
    except SealtrailError as exc:
        raise click.ClickException(exc.message) from exc


def _temporary_password() -> str:
    return f"Tmp-{secrets.token_urlsafe(9)}"


@click.group()
def users() -> None:
    """Manage user accounts (names are never reused: disable, don't delete)."""


@users.command("create")
@click.argument("username")
@click.option("--name", "printed_name", required=True, help="Printed name shown on signatures, e.g. '王芳 / Wang Fang'.")
@click.option("--role", "roles", multiple=True, type=click.Choice(ROLES), help="A role (repeat for several).")
@click.option("--email", default=None, help="E-mail address.")
@click.option("--locale", type=click.Choice(["zh_CN", "en"]), default="zh_CN", show_default=True)
@click.option("--timezone", default="Asia/Shanghai", show_default=True, help="IANA time zone.")
@click.option("--password", default=None,
              help="Initial password (default: generate a temporary one, printed once).")
@with_appcontext
def create(username, printed_name, roles, email, locale, timezone, password) -> None:
    """Create a user; they must change the initial password at first sign-in."""
    initial = password or _temporary_password()
    user = _run(lambda s: accounts.create_user(
        s, _cli_actor(), username=username, printed_name=printed_name, password=initial, roles=roles, email=email,
        locale=locale, timezone=timezone, must_change_password=True))
    click.echo(f"created {user.username} ({user.printed_name}) roles: {', '.join(sorted(roles)) or '-'}")
    if password is None:
        click.echo(f"temporary password (shown once): {initial}")


@users.command("list")
@click.option("--active-only", is_flag=True, help="Leave out disabled users.")
@with_appcontext
def list_(active_only: bool) -> None:
    """List users with their roles and status."""
    rows = _run(lambda s: [(u.username, u.printed_name, ", ".join(sorted(u.roles)), u.active, u.must_change_password)
                           for u in accounts.list_users(s, include_inactive=not active_only)])
    if not rows:
        click.echo("no users")
        return
    width = max(len(r[0]) for r in rows)
    for username, name, roles, active, must_change in rows:
        flags = ("active" if active else "DISABLED") + (", must change password" if must_change else "")
        click.echo(f"{username.ljust(width)}  {name}  [{roles or '-'}]  {flags}")


@users.command("reset-password")
@click.argument("username")
@click.option("--reason", required=True, help="Why (recorded in the audit trail).")
@with_appcontext
def reset_password(username: str, reason: str) -> None:
    """Issue a temporary password (printed once); the user must change it at next sign-in."""
    temporary = _temporary_password()

    def work(s):
        user = accounts.get_user_by_name(s, username)
        accounts.reset_password(s, _cli_actor(), user, new_password=temporary, reason=reason)

    _run(work)
    click.echo(f"temporary password for {username} (shown once): {temporary}")


@users.command("disable")
@click.argument("username")
@click.option("--reason", required=True, help="Why (recorded in the audit trail).")
@with_appcontext
def disable(username: str, reason: str) -> None:
    """Disable a user: they can no longer sign in or sign; the name stays reserved."""
    _run(lambda s: accounts.disable_user(s, _cli_actor(), accounts.get_user_by_name(s, username), reason=reason))
    click.echo(f"disabled {username}")


@users.command("enable")
@click.argument("username")
@click.option("--reason", required=True, help="Why (recorded in the audit trail).")
@with_appcontext
def enable(username: str, reason: str) -> None:
    """Re-enable a disabled user (the same person)."""
    _run(lambda s: accounts.enable_user(s, _cli_actor(), accounts.get_user_by_name(s, username), reason=reason))
    click.echo(f"enabled {username}")


@users.command("map-group")
@click.argument("group_dn")
@click.argument("role", type=click.Choice(ROLES))
@with_appcontext
def map_group(group_dn: str, role: str) -> None:
    """Directory sign-in: members of GROUP_DN (an LDAP group DN, or a value of the OpenID Connect
    groups/roles claim) get ROLE at their next sign-in."""
    _run(lambda s: directory.map_group(s, _cli_actor(), group_dn, role))
    click.echo(f"{group_dn.strip().lower()} → {role}")


@users.command("unmap-group")
@click.argument("group_dn")
@click.argument("role", type=click.Choice(ROLES))
@click.option("--reason", required=True, help="Why (recorded in the audit trail).")
@with_appcontext
def unmap_group(group_dn: str, role: str, reason: str) -> None:
    """Directory sign-in: members of GROUP_DN lose ROLE at their next sign-in."""
    _run(lambda s: directory.unmap_group(s, _cli_actor(), group_dn, role, reason=reason))
    click.echo(f"{group_dn.strip().lower()} no longer → {role}")


@users.command("groups")
@with_appcontext
def groups() -> None:
    """List the directory group → role mappings."""
    for row in _run(directory.group_mappings):
        click.echo(f"{row.group_dn}\t{row.role}")
