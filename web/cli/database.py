"""The database checks a command makes before it reads: it exists and its schema is migrated.

A missing or unmigrated database is a setup problem, not a crash: commands say what is wrong
and which command fixes it, in one line, with a non-zero exit (never a traceback).
"""
from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from engine import health


def describe(url: str) -> str:
    """The database URL without its password, for messages."""
    return make_url(url).render_as_string(hide_password=True)


def missing_sqlite_file(url: str) -> Path | None:
    """The SQLite file ``url`` names when it does not exist (connecting would create it empty)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    path = Path(parsed.database)
    return None if path.exists() else path


def require_ready() -> None:
    """Refuse (one line, exit 1) unless the database exists and is at the expected schema."""
    settings = current_app.extensions["sealtrail.settings"]
    missing = missing_sqlite_file(settings.database_url)
    if missing is not None:
        raise click.ClickException(f"no database at {missing}: run `sealtrail init` to create it "
                                   "(or set SEALTRAIL_DATABASE_URL to the installation's database)")
    result = health.check_readiness(current_app.extensions["sealtrail.engine"])
    if not result.ready:
        problems = "; ".join(c.detail for c in result.checks if not c.ok and not c.detail.startswith("not checked"))
        raise click.ClickException(f"database {describe(settings.database_url)} is not usable: {problems}")


def explain_database_error(exc: DBAPIError) -> str:
    """One line for a database error that escaped a command."""
    reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
    return (f"database error: {reason} — check that the database is reachable and migrated "
            "(`sealtrail ready` says which; `sealtrail init` creates or upgrades it)")
