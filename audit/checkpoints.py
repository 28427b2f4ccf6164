"""Signed checkpoints: the chain head (seq, hash, time) signed with the installation's Ed25519 key.

The private key lives in a file outside the database (``Settings.checkpoint_key_path``), so a
database administrator who rewrites the chain cannot produce a valid checkpoint for it. Each
checkpoint is stored in ``audit_checkpoint`` *and* appended to one or more append-only files
(the local checkpoint file and, optionally, an external location such as a WORM share), so a
database administrator cannot rewrite both.

What checkpoints protect, honestly: truncation of the tail and a full recomputation of the chain
are detected *up to the last checkpoint*. Entries appended after the last checkpoint are
protected only by the hash chain (an insider who rewrites them and recomputes the links is not
detected until they are covered by a checkpoint whose copy lives outside the database).
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import logging
import os
from collections.abc import Iterable
from pathlib import Path

import rfc8785
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from audit.canonical import FORMAT_VERSION, iso_utc
from audit.chain import ensure_installation, find_installation, head, lock_chain
from audit.errors import CheckpointError
from audit.models import AuditCheckpoint
from audit.policy import parse_time

CHECKPOINT_DOMAIN = "sealtrail-audit-checkpoint"
log = logging.getLogger("sealtrail.audit")


def load_signing_key(path: str | os.PathLike, *, create: bool = True) -> Ed25519PrivateKey:
    """The Ed25519 private key in PEM file ``path``; generated (mode 0600) if missing and ``create``."""
    path = Path(path)
    if not path.exists():
        if not create:
            raise CheckpointError(f"checkpoint key file {path} does not exist")
        key = Ed25519PrivateKey.generate()
        path.parent.mkdir(parents=True, exist_ok=True)
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # created concurrently: use that one
            return load_signing_key(path, create=False)
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
        return key
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError) as exc:
        raise CheckpointError(f"checkpoint key file {path} is not a PEM private key") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise CheckpointError(f"checkpoint key file {path} does not hold an Ed25519 key")
    return key


def signing_key_for(session: Session, path: str | os.PathLike) -> Ed25519PrivateKey:
    """The checkpoint key in ``path``; generated only for a database with no trail yet.

    A new key for a database that already has an installation or checkpoints would print a
    fingerprint inspectors were never given and sign over a history the old key vouched for:
    refuse, naming the file, instead of generating one silently.
    """
    path = Path(path)
    if path.exists():
        return load_signing_key(path, create=False)
    if find_installation(session) is not None or latest_checkpoint(session) is not None:
        raise CheckpointError(
            f"no checkpoint key at {path}, but this database already has an audit trail: restore "
            "the installation's key file there (or point SEALTRAIL_CHECKPOINT_KEY_FILE at it); "
            "a new key is never generated for an existing trail")
    return load_signing_key(path, create=True)


def public_key_pem(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """The public half as PEM (SubjectPublicKeyInfo), for exports and inspectors."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(serialization.Encoding.PEM,
                               serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")


def key_id(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """``SHA256:<hex>`` fingerprint of the raw 32-byte public key."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "SHA256:" + hashlib.sha256(raw).hexdigest()


def checkpoint_document(row) -> dict:
    """The signed content of a checkpoint (row or mapping with the same fields)."""
    get = row.get if isinstance(row, dict) else lambda name: getattr(row, name)
    return {"created_at": get("created_at"), "domain": CHECKPOINT_DOMAIN,
            "genesis_hash": get("genesis_hash"), "head_hash": get("head_hash"),
            "installation_id": get("installation_id"), "key_id": get("key_id"),
            "seq": get("seq"), "v": FORMAT_VERSION}


def checkpoint_json(row: AuditCheckpoint) -> dict:
    """A checkpoint as exported and written to checkpoint files: document plus signature."""
    return checkpoint_document(row) | {"signature": row.signature}


def create_checkpoint(session: Session, key: Ed25519PrivateKey, *,
                      at: dt.datetime | None = None) -> AuditCheckpoint:
    """Sign the current head in the caller's transaction (returns the existing one if unchanged).

    ``at`` is the checkpoint's time when the caller keeps its own clock (default: now, UTC)."""
    lock_chain(session)  # the head must not move between reading and signing it
    current = head(session)
    if current is None:
        raise CheckpointError("the audit chain is empty: nothing to checkpoint")
    latest = latest_checkpoint(session)
    if latest is not None and latest.seq == current[0]:
        return latest
    installation = ensure_installation(session)
    row = AuditCheckpoint(seq=current[0], head_hash=current[1], created_at=iso_utc(at or dt.datetime.now(dt.timezone.utc)),
                          installation_id=installation.installation_id,
                          genesis_hash=installation.genesis_hash, key_id=key_id(key), signature="")
    row.signature = base64.b64encode(key.sign(rfc8785.dumps(checkpoint_document(row)))).decode("ascii")
    session.add(row)
    session.flush()
    return row


def latest_checkpoint(session: Session) -> AuditCheckpoint | None:
    """The checkpoint with the highest sequence number."""
    return session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.seq.desc()).limit(1)).first()


def checkpoint_due(session: Session, every: int) -> bool:
    """True when at least ``every`` entries were appended since the last checkpoint."""
    current = head(session)
    if current is None:
        return False
    latest = latest_checkpoint(session)
    return current[0] - (latest.seq if latest else 0) >= every


def checkpoint_stale(session: Session, max_age_seconds: float, now: dt.datetime) -> bool:
    """True when entries follow the newest checkpoint and it is ``max_age_seconds`` old or more.

    A plant that writes a few entries a day would otherwise leave them unsealed for weeks (the
    count-based checkpoint comes every ``checkpoint_every`` entries): a DELETE of the tail would go
    unseen. With no checkpoint yet, any entry makes one due.
    """
    current = head(session)
    if current is None:
        return False
    latest = latest_checkpoint(session)
    if latest is None:
        return True
    if latest.seq >= current[0]:
        return False
    return (now - parse_time(latest.created_at)).total_seconds() >= max_age_seconds


def write_checkpoint_files(session: Session, paths: Iterable[str | os.PathLike]) -> int:
    """Append to each file every committed checkpoint newer than the file's last line.

    Call after the checkpoint's transaction committed. Files are opened O_APPEND and fsynced;
    an unreadable last line is refused (never "repaired"). Returns lines written in total.
    """
    written = 0
    for path in paths:
        path = Path(path)
        last = last_file_seq(path)
        rows = session.scalars(select(AuditCheckpoint).where(AuditCheckpoint.seq > last)
                               .order_by(AuditCheckpoint.seq)).all()
        if not rows:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        data = "".join(json.dumps(checkpoint_json(r), sort_keys=True) + "\n" for r in rows).encode()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        written += len(rows)
    return written


def last_file_seq(path: Path) -> int:
    """Sequence number on the last line of a checkpoint file (0 if none)."""
    if not path.exists() or path.stat().st_size == 0:
        return 0
    with path.open("rb") as fh:
        fh.seek(max(0, path.stat().st_size - 4096))
        lines = fh.read().splitlines()
    try:
        return int(json.loads(lines[-1])["seq"])
    except (ValueError, KeyError, IndexError) as exc:
        raise CheckpointError(f"the last line of checkpoint file {path} is unreadable; "
                              "inspect the file, it is never rewritten automatically") from exc


def read_checkpoint_file(path: str | os.PathLike) -> list[dict]:
    """Every checkpoint in an append-only checkpoint file (a malformed line is reported, not skipped)."""
    out = []
    with Path(path).open("r", encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            try:
                out.append(json.loads(line))
            except ValueError as exc:
                raise CheckpointError(f"{path}:{number}: not a JSON checkpoint line") from exc
    return out
