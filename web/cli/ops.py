"""Operations commands: production serving, backup and verified restore, the validation report."""
from __future__ import annotations

import json
import os

import click
from flask import current_app
from flask.cli import with_appcontext

from engine import health


def register(cli: click.Group) -> None:
    cli.add_command(ready)


def _settings():
    return current_app.extensions["sealtrail.settings"]


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the checks as JSON.")
@with_appcontext
def ready(as_json: bool) -> None:
    """Check readiness (database reachable, schema at head); exit 1 when not ready."""
    result = health.check_readiness(current_app.extensions["sealtrail.engine"])
    if as_json:
        click.echo(json.dumps(result.as_dict(), indent=2))
    else:
        for check in result.checks:
            click.echo(f"{'ok  ' if check.ok else 'FAIL'} {check.name}: {check.detail}")
    if not result.ready:
        raise SystemExit(1)


def serve_production(*, host: str, port: int, workers: int | None, threads: int, timeout: int,
                     proxies: int, check: bool) -> None:
    """Run gunicorn (called by ``sealtrail serve --production``)."""
    from web import production

    settings = _settings()
    db_engine = current_app.extensions["sealtrail.engine"]
    if check:
        result = health.check_readiness(db_engine)
        if not result.ready:
            problems = "; ".join(f"{c.name}: {c.detail}" for c in result.checks if not c.ok)
            raise click.ClickException(f"not ready, refusing to serve: {problems}")
    # The workers are forked from this process: they must not inherit its pooled sockets.
    db_engine.dispose()
    if not (os.environ.get("SEALTRAIL_SECRET_KEY") or os.environ.get("SEALTRAIL_SECRET_KEY_FILE")):
        click.echo(f"warning: secrets are read from {settings.var_dir}; with several app servers, "
                   "set SEALTRAIL_SECRET_KEY(_FILE), SEALTRAIL_TOTP_KEY(_FILE) and "
                   "SEALTRAIL_CHECKPOINT_KEY_FILE to the same values on every server", err=True)
    if settings.database_url.startswith("sqlite"):
        click.echo("warning: SQLite serves one machine only; production runs on PostgreSQL",
                   err=True)
    options = production.gunicorn_options(
        bind=f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
        workers=workers or production.default_workers(), threads=threads, timeout=timeout,
        log_level=settings.log_level)
    production.run(options, proxies=proxies)
