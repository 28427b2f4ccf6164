"""Operations commands: production serving, backup and verified restore, the validation report."""
from __future__ import annotations

import json
import os
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import text

from audit.checkpoints import checkpoint_json, load_signing_key, signing_key_for
from audit.errors import CheckpointError
from engine import backup as bk
from engine import dbroles, health
from engine.backup import manifest as mf
from engine.config import checkpoint_files
from engine.db import make_engine, make_session_factory
from web import gunicorn_server
from web.checkpoint_runs import checkpoint
from web.cli.database import describe, missing_sqlite_file
from web.cli.sealing import end_with_checkpoint
from web.validation import run as validation


def register(cli: click.Group) -> None:
    cli.add_command(ready)
    cli.add_command(backup)
    cli.add_command(restore)
    cli.add_command(db_grants)
    cli.add_command(validation_report)


def _settings():
    return current_app.extensions["sealtrail.settings"]


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the checks as JSON.")
@with_appcontext
def ready(as_json: bool) -> None:
    """Check readiness (database reachable, schema at head); exit 1 when not ready."""
    settings = _settings()
    missing = missing_sqlite_file(settings.database_url)
    if missing is not None:  # connecting would create an empty file: report it instead
        result = health.Readiness([health.Check("database", False, f"no database at {missing}: run "
                                                "`sealtrail init`", 0.0)])
    else:
        result = health.check_readiness(current_app.extensions["sealtrail.engine"])
    where = {"var_dir": str(settings.var_dir), "database": describe(settings.database_url),
             "checkpoint_key": str(settings.checkpoint_key_path)}
    if as_json:
        click.echo(json.dumps(result.as_dict() | where, indent=2))
    else:
        for name, value in where.items():
            click.echo(f"     {name}: {value}")
        for check in result.checks:
            click.echo(f"{'ok  ' if check.ok else 'FAIL'} {check.name}: {check.detail}")
    if not result.ready:
        raise SystemExit(1)


def serve_production(*, host: str, port: int, workers: int | None, threads: int, timeout: int,
                     proxies: int, check: bool) -> None:
    """Run gunicorn (called by ``sealtrail serve --production``)."""
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
    options = gunicorn_server.gunicorn_options(
        bind=f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
        workers=workers or gunicorn_server.default_workers(), threads=threads, timeout=timeout,
        log_level=settings.log_level)
    gunicorn_server.run(options, proxies=proxies)



@click.command()
@click.option("--output", "output_dir", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="Directory to write the backup into (default: <var>/backups).")
@click.option("--no-checkpoint", is_flag=True,
              help="Do not sign a new audit checkpoint at the head before the backup.")
@with_appcontext
def backup(output_dir: Path | None, no_checkpoint: bool) -> None:
    """Back up the database: data file + signed manifest (row counts, audit head, checkpoint)."""
    settings = _settings()
    output_dir = output_dir or settings.var_dir / "backups"
    try:
        path = bk.create_backup(settings.database_url, output_dir, _signing_key(settings),
                                checkpoint=None if no_checkpoint else _checkpointer(settings))
    except bk.BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    manifest = json.loads((path / "manifest.json").read_text())
    counts = manifest["row_counts"]
    click.echo(f"backup written: {path}")
    click.echo(f"  {len(counts)} tables, {sum(counts.values())} rows; "
               f"audit head {_head_text(manifest['audit_head'])}")


@click.command()
@click.argument("backup_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--database-url", default=None,
              help="Target database (default: SEALTRAIL_DATABASE_URL). It must be empty.")
@click.option("--public-key", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="PEM public key the manifest must be signed with "
                                 "(default: the installation's checkpoint key).")
@click.option("--json", "as_json", is_flag=True, help="Print the verification report as JSON.")
@with_appcontext
def restore(backup_dir: Path, database_url: str | None, public_key: Path | None,
            as_json: bool) -> None:
    """Restore a backup into an EMPTY database, then verify chain, head and row counts.

    Exit status: 0 restored and verified; 1 refused (nothing written); 2 restored but the
    verification failed (do not use that database).
    """
    settings = _settings()
    target = database_url or settings.database_url
    try:
        trusted = (mf.load_public_key(public_key) if public_key
                   else load_signing_key(settings.checkpoint_key_path, create=False).public_key())
        report = bk.restore_backup(backup_dir, target, trusted)
    except bk.RestoreVerificationFailed as exc:
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(2) from exc
    except (bk.BackupError, CheckpointError, OSError) as exc:
        click.echo(f"error: restore refused: {exc}", err=True)
        raise SystemExit(1) from exc
    restored = make_engine(target)
    try:
        end_with_checkpoint(make_session_factory(restored))
    finally:
        restored.dispose()
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    click.echo(f"restored {backup_dir.name} and verified:")
    click.echo(f"  row counts match the manifest: {report['tables']} tables, {report['rows']} rows")
    click.echo(f"  audit head matches the manifest: {_head_text(report['audit_head'])}")
    click.echo(f"  audit chain verifies: {report['chain']['summary']}")
    if report["checkpoint"]:
        click.echo(f"  signed checkpoint at #{report['checkpoint']['seq']} matches the chain")


def _head_text(head: dict | None) -> str:
    return "(empty chain)" if head is None else f"#{head['seq']} {head['hash'][:16]}…"


def _signing_key(settings):
    """The installation's Ed25519 key (the audit checkpoint key): signs manifests and reports."""
    try:
        with current_app.extensions["sealtrail.sessions"]() as session, session.begin():
            return signing_key_for(session, settings.checkpoint_key_path)
    except CheckpointError as exc:
        raise click.ClickException(str(exc)) from exc


def _checkpointer(settings):
    """A callable that commits a signed audit checkpoint at the head of the chain at ``url``."""
    def make(url: str) -> dict | None:
        engine = make_engine(url)
        try:
            row = checkpoint(make_session_factory(engine), _signing_key(settings), checkpoint_files(settings))
        except CheckpointError:  # an empty chain has nothing to checkpoint
            return None
        finally:
            engine.dispose()
        return checkpoint_json(row)

    return make

@click.command("db-grants")
@click.option("--app-role", required=True, help="Role the app servers and workers connect as.")
@click.option("--readonly-role", default=None,
              help="Role for auditors and reports (SELECT only), e.g. on a streaming replica.")
@click.option("--apply", "apply_", is_flag=True,
              help="Execute the statements (connect as the schema owner); default: print them.")
@with_appcontext
def db_grants(app_role: str, readonly_role: str | None, apply_: bool) -> None:
    """PostgreSQL privileges per table: append-only tables get SELECT and INSERT only.

    Re-run after every `sealtrail init` that adds tables.
    """
    db_engine = current_app.extensions["sealtrail.engine"]
    if db_engine.dialect.name != "postgresql":
        raise click.ClickException("db-grants applies to PostgreSQL only (SQLite has no roles)")
    try:
        with db_engine.begin() as conn:
            if apply_:
                statements = dbroles.apply_grants(conn, app_role, readonly_role)
            else:
                statements = dbroles.grant_statements(conn, app_role, readonly_role)
    except dbroles.UndeclaredTable as exc:
        raise click.ClickException(str(exc)) from None
    for statement in statements:
        click.echo(statement + ";")
    if apply_:
        click.echo(f"-- applied {len(statements)} statements", err=True)


@click.command("validation-report")
@click.option("--output", "output_dir", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="Where to write the report (default: <var>/validation).")
@click.option("--source", type=click.Path(exists=True, file_okay=False, path_type=Path),
              default=None, help="Sealtrail source tree holding tests/ and docs/validation/.")
@click.option("--tests", "tests_path", default="tests", show_default=True,
              help="Test directory or file, relative to --source.")
@click.option("--test-database-url", default=None,
              help="Run the tests on this PostgreSQL server (default: SQLite, or "
                   "SEALTRAIL_TEST_DATABASE_URL).")
@click.option("--pytest-arg", "pytest_args", multiple=True,
              help="Extra argument for pytest (repeatable), e.g. --pytest-arg=-x.")
@click.option("--verify", "verify_path", type=click.Path(exists=True, path_type=Path),
              default=None, help="Check a written report (its SHA256SUMS file or directory).")
@with_appcontext
def validation_report(output_dir, source, tests_path, test_database_url, pytest_args,
                      verify_path) -> None:
    """Run the requirement-tagged tests; write a dated, signed traceability matrix (HTML/PDF/JSON)."""
    settings = _settings()
    key = _signing_key(settings)
    if verify_path:
        problems = validation.verify_written(verify_path, key.public_key())
        for problem in problems:
            click.echo(f"FAIL {problem}")
        if problems:
            raise SystemExit(1)
        click.echo("report intact: every file matches SHA256SUMS and the signatures verify")
        return
    try:
        matrix, files = validation.produce(
            source=source, tests_path=tests_path, output_dir=output_dir or settings.var_dir
            / "validation", private_key=key, test_database_url=test_database_url,
            pytest_args=list(pytest_args))
    except (ValueError, OSError) as exc:
        raise click.ClickException(str(exc)) from exc
    totals = matrix["totals"]
    click.echo(f"verdict: {matrix['verdict']} — {totals['pass']} pass, {totals['partial']} partly "
               f"demonstrated, {totals['fail']} fail, {totals['not run']} not run, "
               f"{totals['not covered']} not covered ({len(matrix['requirements'])} requirements)")
    if matrix["run_problem"]:
        click.echo(f"the test run is not valid evidence: {matrix['run_problem']}")
    for kind in ("html", "pdf", "json", "sums"):
        click.echo(f"  {files[kind]}")
    if matrix["verdict"] == "FAIL":
        raise SystemExit(1)
