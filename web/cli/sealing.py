"""Checkpoints the CLI writes: at the end of bulk commands, and by the worker when one is stale.

The engine/audit functions only flush; the transactions are owned here. A checkpoint is signed
in one transaction and appended to the checkpoint files (outside the database) after it
committed, so a file never holds a checkpoint the database rolled back.
"""
from __future__ import annotations

import datetime as dt

import click
from flask import current_app

from audit.chain import head
from audit.errors import CheckpointError
from audit.checkpoints import checkpoint_stale, create_checkpoint, signing_key_for, write_checkpoint_files
from engine.config import Settings, checkpoint_files


def seal(sessions, settings: Settings, *, max_age_seconds: float | None = None,
         now: dt.datetime | None = None) -> int | None:
    """Sign the chain head (with ``max_age_seconds``: only when the newest checkpoint is stale).

    Returns the checkpoint's seq, or None when nothing needed sealing (empty chain, or fresh).
    Raises ``CheckpointError`` when the installation's key is missing (never generated here for
    an existing trail).
    """
    now = now or dt.datetime.now(dt.timezone.utc)
    with sessions.begin() as session:
        if head(session) is None:
            return None
        if max_age_seconds is not None and not checkpoint_stale(session, max_age_seconds, now):
            return None
        key = signing_key_for(session, settings.checkpoint_key_path)
        seq = create_checkpoint(session, key, at=now).seq
    with sessions.begin() as session:
        write_checkpoint_files(session, checkpoint_files(settings))
    return seq


def end_with_checkpoint(sessions=None) -> int | None:
    """The checkpoint every bulk command (init, demo, import --apply, restore) ends with.

    A missing key is a warning here (the command's own work is committed), never a new key.
    """
    try:
        seq = seal(sessions or current_app.extensions["sealtrail.sessions"],
                   current_app.extensions["sealtrail.settings"])
    except CheckpointError as exc:
        click.echo(f"warning: audit checkpoint not written: {exc}", err=True)
        return None
    if seq is not None:
        click.echo(f"audit checkpoint at seq {seq}", err=True)  # stderr: stdout may be JSON
    return seq
