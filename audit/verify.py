"""Built-in verification: the chain in the database (streamed, constant memory) and bundles.

``verify_chain`` walks every entry in sequence order with a server-side cursor, recomputes each
hash from the stored columns, checks the links, and checks the signed checkpoints stored in the
database and in the append-only checkpoint file(s) outside it. The walk itself is shared with the
standalone verifier (``audit/verify_bundle.py``); canonicalisation and signature checks here use
the project's libraries (rfc8785, cryptography) rather than the standalone file's own code.
"""
from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from sqlalchemy import select
from sqlalchemy.orm import Session

from audit.canonical import entry_bytes, genesis_hash
from audit.checkpoints import checkpoint_json, key_id, read_checkpoint_file
from audit.models import AuditCheckpoint, AuditEntry, AuditInstallation
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
    # Statement-level options: Connection.execution_options() would change the caller's connection.
    stream = conn.execute(select(*_ENTRY_COLUMNS).order_by(AuditEntry.seq), execution_options={"yield_per": batch})
    _walk(stream, walker, {c["seq"] for c in checkpoints})
    walker.finish(tail_must_be_sealed=False)
    if public_key is None:
        result.notes.append("checkpoint signatures were not checked (no public key given)")
    return result


def _walk(rows, walker: ChainWalker, checkpoint_seqs: set) -> None:
    """Feed the rows to the walker, with an inlined fast path for the normal case.

    An entry that is the next seq, links to the previous hash, matches its own hash, is not at a
    checkpoint and does not go back in time only advances local counters; anything else goes
    through ``walker.feed`` (which reports it) after the walker is brought up to date.
    """
    sha256, compose = hashlib.sha256, entry_bytes
    prev, expected, last_time = walker.prev, walker.next_seq, walker.last_time
    fast, fast_first, fast_last = 0, None, None
    for row in rows:
        seq, prev_hash, stored, recorded_at = row[0], row[13], row[14], row[2]
        computed = sha256(prev_hash.encode() + compose(*row[:13])).hexdigest()
        if (seq == expected and prev_hash == prev and computed == stored and recorded_at >= last_time
                and seq not in checkpoint_seqs):
            prev, expected, last_time, fast, fast_last = stored, seq + 1, recorded_at, fast + 1, seq
            if fast_first is None:
                fast_first = seq
            continue
        walker.advance(fast, fast_first, fast_last, prev, expected, last_time)
        fast, fast_first = 0, None
        walker.feed(seq, prev_hash, stored, computed, recorded_at)
        prev, expected, last_time = walker.prev, walker.next_seq, walker.last_time
    walker.advance(fast, fast_first, fast_last, prev, expected, last_time)


def _checkpoints(conn, result: VerifyResult, installation, public_key, files: list) -> list:
    """Checkpoints from the database and the files; file ones missing from the DB are reported."""
    db_rows = [checkpoint_json(_Row(m)) for m in conn.execute(
        select(*AuditCheckpoint.__table__.c).order_by(AuditCheckpoint.seq)).mappings()]
    raw = list(db_rows)
    in_db = {(c["seq"], c["head_hash"], c["signature"]) for c in db_rows}
    for path in files:
        for cp in read_checkpoint_file(path):
            raw.append(cp)
            if (cp.get("seq"), cp.get("head_hash"), cp.get("signature")) not in in_db:
                result.add(cp.get("seq"), "checkpoint_missing",
                           f"checkpoint in {path} is missing from (or altered in) the database")
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
