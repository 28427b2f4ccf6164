"""Export bundles an inspector verifies offline with ``python audit/verify_bundle.py BUNDLE``.

A bundle (a directory, or a .zip when the destination ends in ``.zip``) holds:
``manifest.json`` (installation, genesis, selection, counts, file digests), ``entries.jsonl``
(one entry per line, JSON values as data), ``checkpoints.jsonl`` (signed checkpoints),
``public_key.pem`` (Ed25519 key of the checkpoints) and ``README.txt``.

A sequence or time range is widened to whole checkpoint intervals — from just after the
checkpoint before it to the checkpoint after it — so both ends of the exported span are anchored
by signatures. ``sealtrail audit export`` makes a checkpoint first, so the head is covered too.
An object export (``--object TYPE:ID``) holds only that object's entries: each one is checked
against its own hash offline; continuity between them is checked on the system.
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import rfc8785
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from audit.canonical import iso_utc
from audit.chain import head
from audit.checkpoints import checkpoint_json, create_checkpoint, public_key_pem
from audit.errors import AuditError
from audit.models import AuditCheckpoint, AuditEntry, AuditInstallation
from audit.verify_bundle import BUNDLE_FORMAT

README = """Sealtrail audit-trail export
===========================

Verify offline (Python 3.9+, no installation needed; `pip install cryptography` adds the
Ed25519 signature check):

    python verify_bundle.py THIS_BUNDLE

verify_bundle.py ships in the Sealtrail source as audit/verify_bundle.py. Compare the public-key
fingerprint it prints with the fingerprint the manufacturer registered for this installation.
Files: manifest.json (+ manifest.sig), entries.jsonl (one entry per line), checkpoints.jsonl, public_key.pem.
"""


class ExportError(AuditError):
    """The requested export cannot be produced (bad selection, destination exists)."""


@dataclass(frozen=True)
class ExportSummary:
    path: Path
    entries: int
    first_seq: int | None
    last_seq: int | None
    checkpoints: int


def export_sealed(session: Session, dest, *, key, **selection) -> ExportSummary:
    """The export ``sealtrail audit export`` and the auditor's download both make: sign the head
    first (a checkpoint, in the caller's transaction) so the newest entries are anchored, then
    write the bundle with a signed manifest. Append the checkpoint to the checkpoint files after
    the commit (``audit.checkpoints.write_checkpoint_files``)."""
    if head(session) is not None:
        create_checkpoint(session, key)
    return export_bundle(session, dest, public_key_pem=public_key_pem(key), signing_key=key, **selection)


def export_bundle(session: Session, dest, *, public_key_pem: str, signing_key=None, seq_from: int | None = None,
                  seq_to: int | None = None, time_from: dt.datetime | None = None,
                  time_to: dt.datetime | None = None, obj: tuple[str, str] | None = None) -> ExportSummary:
    """Write a bundle of the selected entries to ``dest`` (must not exist yet).

    With ``signing_key`` (the installation's Ed25519 key) the manifest is signed too
    (``manifest.sig``), so its selection and counts cannot be altered in transit.
    """
    dest = Path(dest)
    if dest.exists():
        raise ExportError(f"{dest} already exists; choose a new destination")
    installation = session.get(AuditInstallation, 1)
    if installation is None:
        raise ExportError("the audit trail is empty: nothing to export")
    if obj is not None and any(v is not None for v in (seq_from, seq_to, time_from, time_to)):
        raise ExportError("choose either a range (--from/--to) or an object (--object), not both")
    if obj is not None:
        where = [AuditEntry.object_type == obj[0], AuditEntry.object_id == str(obj[1])]
        cp_where = []
        selection = {"kind": "object", "object_type": obj[0], "object_id": str(obj[1])}
    else:
        lo, hi = _seq_bounds(session, seq_from, seq_to, time_from, time_to)
        where = [AuditEntry.seq >= lo, AuditEntry.seq <= hi]
        cp_where = [AuditCheckpoint.seq >= lo - 1, AuditCheckpoint.seq <= hi]
        selection = {"kind": "range", "requested": {"from": _s(seq_from or time_from), "to": _s(seq_to or time_to)},
                     "first_seq": lo, "last_seq": hi}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "bundle"
        work.mkdir()
        count, first, last = _write_entries(session, work / "entries.jsonl", where)
        cps = session.scalars(select(AuditCheckpoint).where(*cp_where).order_by(AuditCheckpoint.seq)).all()
        _write_lines(work / "checkpoints.jsonl", (checkpoint_json(c) for c in cps))
        (work / "public_key.pem").write_text(public_key_pem)
        (work / "README.txt").write_text(README)
        manifest = {"format": BUNDLE_FORMAT, "version": 1, "created_at": iso_utc(dt.datetime.now(dt.timezone.utc)),
                    "installation_id": installation.installation_id,
                    "installation_created_at": installation.created_at,
                    "genesis_hash": installation.genesis_hash, "selection": selection,
                    "entry_count": count, "first_seq": first, "last_seq": last,
                    "files": {name: _sha256(work / name) for name in
                              ("entries.jsonl", "checkpoints.jsonl", "public_key.pem")}}
        (work / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        if signing_key is not None:
            signature = signing_key.sign(rfc8785.dumps(manifest))
            (work / "manifest.sig").write_text(base64.b64encode(signature).decode("ascii") + "\n")
        _place(work, dest)
    return ExportSummary(dest, count, first, last, len(cps))


def _seq_bounds(session, seq_from, seq_to, time_from, time_to) -> tuple[int, int]:
    """The selected seq range widened to checkpoint intervals."""
    head = session.scalar(select(func.max(AuditEntry.seq))) or 0
    lo, hi = seq_from or 1, seq_to or head
    if time_from is not None:
        lo = max(lo, session.scalar(select(func.min(AuditEntry.seq)).where(
            AuditEntry.recorded_at >= iso_utc(time_from))) or head + 1)
    if time_to is not None:
        hi = min(hi, session.scalar(select(func.max(AuditEntry.seq)).where(
            AuditEntry.recorded_at < iso_utc(time_to))) or 0)
    if lo > hi or head == 0:
        raise ExportError(f"the selection holds no entries (seq {lo}..{hi}, head {head})")
    before = session.scalar(select(func.max(AuditCheckpoint.seq)).where(AuditCheckpoint.seq < lo))
    after = session.scalar(select(func.min(AuditCheckpoint.seq)).where(AuditCheckpoint.seq >= hi))
    return (before or 0) + 1, min(after or head, head)


def _write_entries(session, path: Path, where) -> tuple[int, int | None, int | None]:
    stmt = select(AuditEntry.__table__).where(*where).order_by(AuditEntry.seq)
    count, first, last = 0, None, None
    with path.open("w", encoding="utf-8") as fh:
        for row in session.connection().execute(stmt, execution_options={"yield_per": 5000}):
            line = json.dumps(entry_record(row), ensure_ascii=False, separators=(",", ":"))
            # U+2028/U+2029 are valid raw in JSON but split lines in many tools: escape them.
            fh.write(line.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029") + "\n")
            count, first, last = count + 1, first or row.seq, row.seq
    return count, first, last


def entry_record(row) -> dict:
    """An entry as exported: JSON values as data, the actor as an object, both hashes."""
    def value(text):
        return None if text is None else json.loads(text)
    return {"seq": row.seq, "event_id": row.event_id, "recorded_at": row.recorded_at,
            "actor": {"kind": row.actor_kind, "id": row.actor_id, "name": row.actor_name},
            "action": row.action, "object_type": row.object_type, "object_id": row.object_id,
            "reason": row.reason, "before": value(row.before), "after": value(row.after),
            "payload": value(row.payload), "prev_hash": row.prev_hash, "hash": row.hash}


def _write_lines(path: Path, records) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for record in records:
            fh.write(json.dumps(record, sort_keys=True) + "\n")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _place(work: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.suffix == ".zip":
        with zipfile.ZipFile(dest, "x", compression=zipfile.ZIP_DEFLATED) as zf:
            for name in sorted(os.listdir(work)):
                zf.write(work / name, name)
    else:
        shutil.copytree(work, dest)


def _s(value) -> str | None:
    if value is None:
        return None
    return iso_utc(value) if isinstance(value, dt.datetime) else str(value)
