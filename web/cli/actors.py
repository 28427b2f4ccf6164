"""Who a CLI command records as the actor, and how a person signs a regulated change from it.

A command that names a person (``--by``) must name an existing, active user holding a role the
change needs; the change is then made as that user and signed with their password and TOTP code
in the same transaction, exactly as on the pages (21 CFR 11.50/11.200). Commands that name no
person record the system as the actor, never a made-up user.
"""
from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import click
from flask import current_app

from audit.errors import SignatureError
from audit.policy import SigningPolicy
from audit.signatures import sign
from engine.errors import SealtrailError
from engine.users import accounts
from engine.users.directory import LdapDirectory, password_verifier
from engine.users.models import User
from web.db import signing_transaction


def acting_user(session, username: str, roles: Iterable[str]) -> User:
    """The active user ``username`` holding one of ``roles``; a clear CLI error otherwise."""
    roles = tuple(roles)
    user = accounts.find_user(session, username or "")
    if user is None:
        raise click.ClickException(f"--by {username}: no such user (name an existing user account)")
    if not user.active:
        raise click.ClickException(f"--by {username}: the account is disabled")
    if not set(user.roles) & set(roles):
        raise click.ClickException(f"--by {username}: this change needs the role "
                                   f"{' or '.join(roles)}; {username} has {', '.join(sorted(user.roles)) or 'none'}")
    return user


@dataclass(frozen=True)
class Credentials:
    password: str
    totp_code: str


def read_credentials(username: str) -> Credentials:
    """Password and TOTP code: prompted (hidden) on a terminal, else two lines on stdin."""
    stdin = sys.stdin  # CliRunner replaces it with the given input
    if stdin.isatty():
        password = click.prompt(f"Password of {username}", hide_input=True, err=True)
        code = click.prompt(f"Authenticator code of {username}", err=True)
    else:  # scripts: printf '%s\n%s\n' "$PASSWORD" "$CODE" | sealtrail ...
        password, code = stdin.readline().rstrip("\r\n"), stdin.readline().strip()
    if not password or not code:
        raise click.ClickException(f"{username} must sign this change: give the password and the "
                                   "authenticator code (prompted, or two lines on stdin)")
    return Credentials(password, code)


def cli_signing_policy() -> SigningPolicy:
    """The signing policy of the app's settings (and its directory); tests inject the clock."""
    clock = current_app.extensions.get("sealtrail.clock")  # tests inject one; default: the server's
    settings = current_app.extensions["sealtrail.settings"]
    return SigningPolicy.from_settings(settings, password_verifier=password_verifier(
        LdapDirectory.from_settings(settings)), **({"clock": clock} if clock else {}))


def signed_change(by: str, roles: Iterable[str], change: Callable, *, record_type: str,
                  meaning: str = "approved", reason: str | None = None):
    """Make ``change(session, user)`` as ``by`` and sign it, in one transaction.

    ``change`` returns ``(result, record_id, record)``: the signed content is ``record``. A
    refused signature rolls the change back (and is counted toward the user's lockout).
    """
    sessions = current_app.extensions["sealtrail.sessions"]
    policy = cli_signing_policy()
    with sessions() as session:  # refuse a wrong --by before asking for a password
        acting_user(session, by, roles)
    credentials = read_credentials(by)
    try:
        with signing_transaction(sessions, policy) as session:
            user = acting_user(session, by, roles)
            result, record_id, record = change(session, user)
            sign(session, user, password=credentials.password, totp_code=credentials.totp_code,
                 meaning=meaning, record_type=record_type, record_id=record_id, record=record,
                 policy=policy, comment=reason)
    except SignatureError as exc:
        raise click.ClickException(f"not changed: {exc}") from exc
    except SealtrailError as exc:
        raise click.ClickException(exc.message) from exc
    return result


def actor_of(user: User):
    """The audit actor for a user (the same id the signature records)."""
    return accounts.actor_for(user)
