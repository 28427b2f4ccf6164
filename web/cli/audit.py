"""``sealtrail audit verify | checkpoint | export | public-key``: the inspector-facing commands."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from audit.checkpoints import key_id, load_signing_key, public_key_pem, signing_key_for, write_checkpoint_files
from audit.errors import AuditError
from audit.export import export_sealed
from audit.verify import checkpoint_freshness, verify_bundle, verify_chain
from engine.config import checkpoint_files
from web.checkpoint_runs import checkpoint
from web.cli.database import require_ready


def register(cli: click.Group) -> None:
    cli.add_command(audit)


@click.group()
def audit() -> None:
    """Verify, checkpoint and export the tamper-evident audit trail."""


def _settings():
    return current_app.extensions["sealtrail.settings"]


def _sessions():
    return current_app.extensions["sealtrail.sessions"]


@audit.command()
@click.option("--bundle", type=click.Path(exists=True, path_type=Path),
              help="Verify an export bundle instead of the database.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("--strict", is_flag=True,
              help="Also exit 1 when entries follow a checkpoint older than SEALTRAIL_CHECKPOINT_MAX_AGE.")
@with_appcontext
def verify(bundle: Path | None, as_json: bool, strict: bool) -> None:
    """Verify the whole chain (streamed) and the signed checkpoints; exit 1 if anything is wrong.

    The database head is compared with the newest checkpoint in the database and in every
    checkpoint file: entries deleted from the tail are named. The newest checkpoint's age is
    reported; entries waiting behind a checkpoint older than SEALTRAIL_CHECKPOINT_MAX_AGE are a
    warning (is `sealtrail worker` running?), an error with --strict.
    """
    freshness = None
    if bundle is not None:
        result = verify_bundle(bundle)
    else:
        require_ready()
        settings = _settings()
        key_path = settings.checkpoint_key_path
        key = load_signing_key(key_path, create=False) if Path(key_path).exists() else None
        if key is None:
            click.echo(f"warning: no checkpoint key at {key_path}: signatures cannot be checked", err=True)
        files = checkpoint_files(settings)
        with _sessions()() as session, session.begin():
            result = verify_chain(session, public_key=key, checkpoint_files=files)
            freshness = checkpoint_freshness(session, files, dt.datetime.now(dt.timezone.utc))
    stale = (freshness is not None and freshness["entries_after"] > 0
             and (freshness["age_seconds"] is None or freshness["age_seconds"] > settings.checkpoint_max_age_seconds))
    if as_json:
        click.echo(json.dumps({"ok": result.ok, "count": result.count, "first_seq": result.first_seq,
                               "last_seq": result.last_seq, "head_hash": result.head_hash,
                               "checkpoints_verified": result.checkpoints_verified,
                               "last_checkpoint_seq": result.last_checkpoint_seq,
                               "signatures_checked": result.signatures_checked,
                               "newest_checkpoint": freshness, "checkpoint_stale": stale,
                               "problems": [vars(p) for p in result.problems], "notes": result.notes},
                              indent=2))
    else:
        for note in result.notes:
            click.echo(f"note: {note}")
        for problem in result.problems:
            click.echo(f"problem: {problem}")
        click.echo(result.summary())
        if freshness is not None:
            click.echo(_freshness_text(freshness))
        if stale:
            click.echo(f"warning: {freshness['entries_after']} entries are not covered by a checkpoint younger "
                       f"than {settings.checkpoint_max_age_seconds} s (SEALTRAIL_CHECKPOINT_MAX_AGE): "
                       "is `sealtrail worker` running? A DELETE of them would not be detected.", err=True)
    if not result.ok or (strict and stale):
        raise SystemExit(1)


def _freshness_text(freshness: dict) -> str:
    if freshness["seq"] is None:
        return f"no checkpoint yet; {freshness['entries_after']} entries unsealed"
    age = int(freshness["age_seconds"])
    return (f"newest checkpoint: seq {freshness['seq']} at {freshness['created_at']} "
            f"({age // 3600} h {age % 3600 // 60} min {age % 60} s ago); "
            f"{freshness['entries_after']} entries after it")


@audit.command("checkpoint")
@with_appcontext
def make_checkpoint() -> None:
    """Sign the current head now (database + append-only checkpoint files)."""
    require_ready()
    settings = _settings()
    files = checkpoint_files(settings)
    try:
        row = checkpoint(_sessions(), installation_key(), files)
    except AuditError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"checkpoint at seq {row.seq}, head {row.head_hash}, key {row.key_id}")
    for path in files:
        click.echo(f"  written to {path}")


@audit.command()
@click.argument("dest", type=click.Path(path_type=Path))
@click.option("--from", "start", help="First seq, or a UTC date/time (2026-11-01 or 2026-11-01T08:00).")
@click.option("--to", "end", help="Last seq, or a UTC date/time (exclusive; a date means up to its end).")
@click.option("--object", "obj", metavar="TYPE:ID", help="Only the entries of one object.")
@with_appcontext
def export(dest: Path, start: str | None, end: str | None, obj: str | None) -> None:
    """Write an export bundle (DEST directory, or DEST.zip) for offline verification."""
    settings = _settings()
    selection = _selection(start, end, obj)
    require_ready()
    try:
        key = installation_key()
        with _sessions().begin() as session:
            summary = export_sealed(session, dest, key=key, **selection)  # seals the head first
        with _sessions().begin() as session:
            write_checkpoint_files(session, checkpoint_files(settings))
    except AuditError as exc:
        raise click.ClickException(str(exc)) from exc
    span = f"seq {summary.first_seq}..{summary.last_seq}" if summary.entries else "no entries"
    click.echo(f"exported {summary.entries} entries ({span}) and {summary.checkpoints} checkpoint(s) to {dest}")
    click.echo(f"verify offline: python audit/verify_bundle.py {dest}")


@audit.command("public-key")
@with_appcontext
def public_key() -> None:
    """Print the checkpoint public key and its fingerprint (to register with inspectors)."""
    require_ready()
    try:
        key = installation_key()
    except AuditError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"key file: {_settings().checkpoint_key_path}", err=True)
    click.echo(public_key_pem(key), nl=False)
    click.echo(f"fingerprint: {key_id(key)}")


def installation_key():
    """The checkpoint key; generated only while the database has no trail (else refused)."""
    with _sessions()() as session, session.begin():
        return signing_key_for(session, _settings().checkpoint_key_path)


def _selection(start: str | None, end: str | None, obj: str | None) -> dict:
    if obj is not None:
        if start or end:
            raise click.UsageError("use either --from/--to or --object, not both")
        kind, sep, ident = obj.partition(":")
        if not sep or not kind or not ident:
            raise click.UsageError("--object must be TYPE:ID, e.g. lot:L-2026-001")
        return {"obj": (kind, ident)}
    out = {}
    for name, value, is_end in (("from", start, False), ("to", end, True)):
        if value is None:
            continue
        if value.isdigit():
            out["seq_" + name] = int(value)
        else:
            out["time_" + name] = _moment(value, name, is_end)
    return out


def _moment(value: str, name: str, is_end: bool) -> dt.datetime:
    try:
        if len(value) == 10:
            day = dt.date.fromisoformat(value)
            moment = dt.datetime.combine(day, dt.time(), dt.timezone.utc)
            return moment + dt.timedelta(days=1) if is_end else moment
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise click.BadParameter(f"{value!r} is neither a sequence number nor an ISO date/time",
                                 param_hint=f"--{name}") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)
