"""Built-in verification: the chain in the database (streamed, constant memory) and bundles.

``verify_chain`` walks every entry in sequence order with a raw DB-API cursor (server-side on
PostgreSQL) in large batches, recomputes each hash from the stored columns, checks the links, and checks the signed checkpoints stored in the
database and in the append-only checkpoint file(s) outside it. The walk itself is shared with the
standalone verifier (``audit/verify_bundle.py``); canonicalisation and signature checks here use
the project's libraries (rfc8785, cryptography) rather than the standalone file's own code.
"""
from __future__ import annotations

import base64
import hashlib
import uuid
from collections.abc import Iterable
from operator import itemgetter
from pathlib import Path

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from sqlalchemy import select
from sqlalchemy.orm import Session

from audit.canonical import FORMAT_VERSION, entry_bytes, genesis_hash
from audit.checkpoints import checkpoint_json, key_id, read_checkpoint_file
from audit.models import AuditCheckpoint, AuditEntry, AuditInstallation
from audit.policy import parse_time
from audit.verify_bundle import (ChainWalker, Problem, VerifyResult, check_checkpoints,
                                 verify_bundle as _verify_bundle)

__all__ = ["Problem", "VerifyResult", "verify_bundle", "verify_chain"]

_ENTRY_COLUMNS = (AuditEntry.seq, AuditEntry.event_id, AuditEntry.recorded_at, AuditEntry.actor_kind,
                  AuditEntry.actor_id, AuditEntry.actor_name, AuditEntry.action, AuditEntry.object_type,
                  AuditEntry.object_id, AuditEntry.reason, AuditEntry.before, AuditEntry.after,
                  AuditEntry.payload, AuditEntry.prev_hash, AuditEntry.hash)


def signature_checker(public_key: Ed25519PublicKey):
    """A ``(signature_b64, document) -> bool`` Ed25519 check over RFC 8785 bytes."""
    def check(signature_b64: str, document: dict) -> bool:
        try:
            public_key.verify(base64.b64decode(signature_b64, validate=True), rfc8785.dumps(document))
            return True
        except (InvalidSignature, ValueError, TypeError, rfc8785.CanonicalizationError):
            return False
    return check


def verify_chain(bind, *, public_key: Ed25519PublicKey | Ed25519PrivateKey | None = None,
                 checkpoint_files: Iterable = (), batch: int = 10_000) -> VerifyResult:
    """Verify the whole chain in the database ``bind`` (a Session or Connection).

    ``public_key`` checks checkpoint signatures (without it they are used but reported as
    unchecked); ``checkpoint_files`` are the append-only copies kept outside the database.
    """
    conn = bind.connection() if isinstance(bind, Session) else bind
    if isinstance(public_key, Ed25519PrivateKey):
        public_key = public_key.public_key()
    result = VerifyResult(signatures_checked=public_key is not None)
    installation = conn.execute(select(AuditInstallation.installation_id, AuditInstallation.created_at,
                                       AuditInstallation.genesis_hash)).first()
    if installation is None:
        genesis = None
    else:
        genesis = installation.genesis_hash
        if genesis != genesis_hash(installation.installation_id, installation.created_at):
            result.add(None, "genesis", "the installation's genesis hash does not derive from its id")
    checkpoints = _checkpoints(conn, result, installation, public_key, list(checkpoint_files))
    if genesis is None:
        first = conn.execute(select(AuditEntry.seq).limit(1)).first()
        if first is not None or checkpoints:
            result.add(1, "genesis", "entries or checkpoints exist but the installation row is missing")
        return result
    walker = ChainWalker(result, checkpoints, genesis)
    checkpoint_seqs = frozenset(c["seq"] for c in checkpoints)
    for rows in stream_messages(conn, batch):
        walk_batch(rows, walker, checkpoint_seqs, lambda id_: _python_hash(conn, id_))
    walker.finish(tail_must_be_sealed=False)
    if public_key is None:
        result.notes.append("checkpoint signatures were not checked (no public key given)")
    return result


# The hashed bytes of each entry, ``prev_hash || entry_bytes(...)``, assembled by the database
# from the stored columns with the same concatenation as ``audit.canonical.entry_bytes``: JSON
# string escaping is to_json (PostgreSQL) / json_quote (SQLite), which escape exactly the
# characters RFC 8785 escapes, the same way. It is only a fast path: an entry whose bytes do not
# hash to its stored hash is recomputed in Python from its columns before anything is reported,
# so a difference between the two can cost time but never change a verdict.
def _message_sql(quote: str, text_cast: str, to_bytes: str) -> str:
    def q(column: str) -> str:
        return f"{quote}({column})"

    body = (f"""prev_hash || '{{"action":' || {q("action")} || ',"actor":{{"id":' || {q("actor_id")}"""
            f""" || ',"kind":' || {q("actor_kind")} || ',"name":' || {q("actor_name")}"""
            f""" || '}},"after":' || COALESCE(after, 'null') || ',"before":' || COALESCE(before, 'null')"""
            f""" || ',"event_id":' || {q("event_id")} || ',"object_id":' || {q("object_id")}"""
            f""" || ',"object_type":' || {q("object_type")} || ',"payload":' || COALESCE(payload, 'null')"""
            f""" || ',"reason":' || COALESCE({q("reason")}, 'null') || ',"recorded_at":' || {q("recorded_at")}"""
            f""" || ',"seq":' || CAST(seq AS {text_cast}) || ',"v":{FORMAT_VERSION}}}'""")
    return (f"SELECT id, seq, prev_hash, hash, recorded_at, {to_bytes.format(body)} "
            "FROM audit_entry ORDER BY seq")


_MESSAGES = {
    "postgresql": _message_sql("pg_catalog.to_json", "TEXT", "pg_catalog.convert_to({}, 'UTF8')"),
    "sqlite": _message_sql("json_quote", "TEXT", "CAST({} AS BLOB)"),
}


def stream_messages(conn, batch: int = 10_000):
    """Batches of ``(id, seq, prev_hash, hash, recorded_at, message bytes)`` in sequence order,
    from a raw DB-API cursor (server-side on PostgreSQL: memory stays flat at any length)."""
    dialect = conn.dialect.name
    raw = conn.connection.driver_connection
    if dialect == "postgresql":
        # A named (server-side) cursor streams; binary results hand bytea over without hex decoding.
        cursor = raw.cursor(name=f"audit_verify_{uuid.uuid4().hex}", binary=True,
                            withhold=bool(getattr(raw, "autocommit", False)))
        cursor.itersize = batch
    else:
        cursor = raw.cursor()
        cursor.arraysize = batch
    try:
        cursor.execute(_MESSAGES.get(dialect, _MESSAGES["sqlite"]))
        while True:
            rows = cursor.fetchmany(batch)
            if not rows:
                break
            yield rows
    finally:
        cursor.close()


def walk_batch(rows, walker: ChainWalker, checkpoint_seqs: frozenset, recompute) -> None:
    """Check one batch of :func:`stream_messages` rows.

    The normal batch — consecutive seqs, each linking to the previous hash, each message hashing
    to its stored hash, time not going back, no checkpoint inside — is checked with a handful of
    whole-batch comparisons after one hashing pass; any other batch goes entry by entry through
    ``walker.feed`` (which reports), with ``recompute(id)`` giving the Python hash of an entry
    whose database-built bytes do not match."""
    sha256 = hashlib.sha256
    seqs, prevs, hashes, times = (list(map(column, rows)) for column in _COLUMNS)
    computed = [sha256(m).hexdigest() for m in map(_MESSAGE, rows)]
    first, n = seqs[0], len(seqs)
    if (computed == hashes and prevs[0] == walker.prev and prevs[1:] == hashes[:-1]
            and first == walker.next_seq and seqs == list(range(first, first + n))
            and times[0] >= walker.last_time and times == sorted(times)
            and checkpoint_seqs.isdisjoint(seqs)):
        walker.advance(n, first, seqs[-1], hashes[-1], first + n, times[-1])
        return
    for row, seq, prev_hash, stored, recorded_at, digest in zip(rows, seqs, prevs, hashes, times, computed):
        if digest != stored:
            digest = recompute(row[0])
        walker.feed(seq, prev_hash, stored, digest, recorded_at)


# Column getters of a stream_messages row (C-level: no per-row Python frame).
_COLUMNS = (itemgetter(1), itemgetter(2), itemgetter(3), itemgetter(4))
_MESSAGE = itemgetter(5)


def _python_hash(conn, id_) -> str:
    """The link hash of entry ``id_`` computed in Python from its stored columns."""
    row = conn.execute(select(*_ENTRY_COLUMNS).where(AuditEntry.id == id_)).first()
    return hashlib.sha256(row[13].encode() + entry_bytes(*row[:13])).hexdigest()


def checkpoint_freshness(session: Session, checkpoint_files: Iterable, now) -> dict:
    """The newest checkpoint (database or files), its age at ``now`` and the entries after it.

    The entries after it are compared with the database head, so a tail deleted back past the
    newest checkpoint counts no entries after it (the walk reports the missing range).
    """
    newest = session.execute(select(AuditCheckpoint.seq, AuditCheckpoint.created_at)
                             .order_by(AuditCheckpoint.seq.desc()).limit(1)).first()
    seq, created_at = (newest.seq, newest.created_at) if newest else (None, None)
    for path in checkpoint_files:
        if Path(path).exists():
            for cp in read_checkpoint_file(path)[-1:]:
                if isinstance(cp.get("seq"), int) and (seq is None or cp["seq"] > seq):
                    seq, created_at = cp["seq"], cp.get("created_at")
    head_seq = session.scalar(select(AuditEntry.seq).order_by(AuditEntry.seq.desc()).limit(1)) or 0
    age = None if created_at is None else (now - parse_time(created_at)).total_seconds()
    return {"seq": seq, "created_at": created_at, "age_seconds": age,
            "entries_after": max(0, head_seq - (seq or 0))}


def _checkpoints(conn, result: VerifyResult, installation, public_key, files: list) -> list:
    """Checkpoints from the database and the files; file ones missing from the DB are reported."""
    db_rows = [checkpoint_json(_Row(m)) for m in conn.execute(
        select(*AuditCheckpoint.__table__.c).order_by(AuditCheckpoint.seq)).mappings()]
    raw = list(db_rows)
    in_db = {(c["seq"], c["head_hash"], c["signature"]) for c in db_rows}
    for path in files:
        if not Path(path).exists():
            if db_rows:
                result.add(db_rows[0]["seq"], "checkpoint_missing",
                           f"checkpoint file {path} is missing (the database holds {len(db_rows)} checkpoint(s))")
            continue
        in_file = set()
        for cp in read_checkpoint_file(path):
            raw.append(cp)
            in_file.add((cp.get("seq"), cp.get("head_hash"), cp.get("signature")))
            if (cp.get("seq"), cp.get("head_hash"), cp.get("signature")) not in in_db:
                result.add(cp.get("seq"), "checkpoint_missing",
                           f"checkpoint in {path} is missing from (or altered in) the database")
        for cp in db_rows:  # every copy must hold every checkpoint: a gap means a copy was edited
            if (cp["seq"], cp["head_hash"], cp["signature"]) not in in_file:
                result.add(cp["seq"], "checkpoint_missing",
                           f"checkpoint at seq {cp['seq']} is missing from (or altered in) {path}")
    if installation is None:
        return raw
    return check_checkpoints(
        raw, result, installation_id=installation.installation_id, genesis=installation.genesis_hash,
        verify_signature=None if public_key is None else signature_checker(public_key),
        key_fingerprint=None if public_key is None else key_id(public_key))


class _Row:
    """Attribute access over a RowMapping (for checkpoint_json)."""

    def __init__(self, mapping):
        self._m = mapping

    def __getattr__(self, name):
        return self._m[name]


def _rfc8785_canonical(entry: dict) -> bytes:
    actor = entry["actor"]
    return rfc8785.dumps({"action": entry["action"],
                          "actor": {"id": actor["id"], "kind": actor["kind"], "name": actor["name"]},
                          "after": entry["after"], "before": entry["before"], "event_id": entry["event_id"],
                          "object_id": entry["object_id"], "object_type": entry["object_type"],
                          "payload": entry["payload"], "reason": entry["reason"],
                          "recorded_at": entry["recorded_at"], "seq": entry["seq"], "v": 1})


def _checker_from_pem(public_pem: bytes):
    key = load_pem_public_key(public_pem)
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("the bundle's public key is not Ed25519")
    return signature_checker(key)


def verify_bundle(path) -> VerifyResult:
    """Verify an export bundle with the built-in libraries (signatures always checked)."""
    return _verify_bundle(path, canonical=_rfc8785_canonical, signature_checker_factory=_checker_from_pem,
                          require_signatures=True)
