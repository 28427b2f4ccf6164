"""Runs of signed audit checkpoints, each in transactions of its own: on command
(``sealtrail audit checkpoint``, before a backup or an export) and automatically after a commit
that appended entries. What a checkpoint is and how it is made is ``audit.checkpoints``; this
module only owns the units of work around it."""
from __future__ import annotations

import logging
import os
from collections.abc import Iterable

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import event

from audit.checkpoints import (checkpoint_due, create_checkpoint, latest_checkpoint, load_signing_key,
                               write_checkpoint_files)
from audit.models import AuditCheckpoint

log = logging.getLogger("sealtrail.audit")


def checkpoint(sessions, key: Ed25519PrivateKey, files: Iterable[str | os.PathLike] = (), *,
               every: int | None = None) -> AuditCheckpoint | None:
    """Make a checkpoint in its own transaction, then append it to ``files``.

    With ``every``, only when that many entries were appended since the last checkpoint
    (returns None otherwise). This is what ``sealtrail audit checkpoint`` and the automatic
    checkpointing after commits call.
    """
    with sessions.begin() as session:
        if every is not None and not checkpoint_due(session, every):
            return None
        row = create_checkpoint(session, key)
    with sessions.begin() as session:
        write_checkpoint_files(session, files)
    return row


def install_auto_checkpoints(sessions, key_path: str | os.PathLike,
                             files: Iterable[str | os.PathLike], every: int) -> None:
    """After each commit that appended entries, checkpoint when ``every`` entries accumulated.

    ``sessions`` is the application's sessionmaker; the checkpoint runs in a new transaction.
    The newest checkpoint seq this process has seen is remembered: checkpoints only move forward,
    so while the seq a commit wrote is fewer than ``every`` past it, no checkpoint can be due and
    the database is not asked (one check per ``every`` entries instead of one per commit).
    """
    files = list(files)
    seen = {"checkpoint_seq": 0}  # a lower bound of the newest checkpoint's seq

    def after_commit(session):
        appended = session.info.pop("audit_appended", None)
        if not appended or appended - seen["checkpoint_seq"] < every:
            return
        try:
            with sessions() as session:
                latest = latest_checkpoint(session)
                due = checkpoint_due(session, every)
            if latest is not None:
                seen["checkpoint_seq"] = max(seen["checkpoint_seq"], latest.seq)
            if due:  # never generates a key: `sealtrail init` does that for a new installation
                made = checkpoint(sessions, load_signing_key(key_path, create=False), files, every=every)
                if made is not None:
                    seen["checkpoint_seq"] = max(seen["checkpoint_seq"], made.seq)
        except Exception:  # the business commit already succeeded; never make it look failed
            log.critical("automatic audit checkpoint failed", exc_info=True)

    def after_rollback(session):
        session.info.pop("audit_appended", None)

    event.listen(sessions, "after_commit", after_commit)
    event.listen(sessions, "after_rollback", after_rollback)
