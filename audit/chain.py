"""Appending to the hash chain, in the caller's transaction.

Serialisation: on PostgreSQL the first append of a transaction takes
``pg_advisory_xact_lock(CHAIN_LOCK_KEY)`` before reading the head; the lock is transaction-scoped
(released at commit/rollback, so it survives transaction-pooling proxies) and is held through
commit, so the next writer reads the committed head. SERIALIZABLE is deliberately not used: it
collapses into retries under contention. On SQLite, engine/db.py starts every transaction with
``BEGIN IMMEDIATE``, so the head is read under the database write lock. ``UNIQUE(seq)`` and
``UNIQUE(prev_hash)`` remain as a backstop: a fork can never be committed, whatever a caller does.

One lock per transaction, not per entry: while a transaction holds the lock nobody else can
append, so the head this transaction wrote last is still the head. It is remembered in
``session.info`` together with the transaction it belongs to and forgotten at any rollback
(a rolled-back savepoint may have removed the entries, and releases a lock it took), so a
second append in the same transaction neither locks nor reads the head again. On PostgreSQL
the first append of a transaction is one statement, ``audit_append_linked``: lock, head read
(after the lock is granted, with its own snapshot), linking and INSERT happen in the server, so
the lock is never held across a round trip to the application; every link it computed is
recomputed here before the caller can commit.

The entries are written with Core ``INSERT … RETURNING id`` in the caller's transaction: if the
business change rolls back, the entries go with them; if an entry cannot be written, the
exception propagates and the caller's transaction (and the business change) rolls back.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Iterable, Mapping
from typing import NamedTuple

from sqlalchemy import event, insert, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from audit import Actor
from audit.canonical import (canonical_text, check_text, entry_bytes, entry_head, entry_tail, genesis_hash, iso_utc,
                             link_hash)
from audit.errors import AuditValueError, ChainConflict
from audit.models import AuditEntry, AuditInstallation

# A fixed 64-bit key for pg_advisory_xact_lock, derived from a name so it is unlikely to
# collide with another application's advisory locks in the same database.
CHAIN_LOCK_KEY = int.from_bytes(hashlib.sha256(b"sealtrail.audit.chain").digest()[:8], "big", signed=True)

ACTOR_KINDS = ("user", "api", "system")
_LIMITS = {"action": 100, "object_type": 100, "object_id": 200}


class Appended(NamedTuple):
    """What :func:`append_many` wrote for one entry."""

    seq: int
    event_id: str
    hash: str
    id: int
    recorded_at: str


def append(session: Session, actor: Actor, action: str, object_type: str, object_id, *,
           reason: str | None = None, before=None, after=None, payload=None,
           at: dt.datetime | None = None) -> AuditEntry:
    """Append one entry to the chain in the caller's transaction.

    ``before``/``after``/``payload`` are JSON-able data (see ``audit.canonical.normalize``);
    a change that has a ``before`` value (modification or removal) must give a ``reason``.
    ``at`` is the recorded time when the caller keeps its own clock (a signature is recorded at
    the instant its TOTP code was checked, by the signing policy's clock); default: now, UTC.
    Returns the written entry as a detached ``AuditEntry`` (every column set, ``id`` included).
    Raises ``AuditValueError`` (naming the field) for bad input, ``ChainConflict`` if a
    concurrent fork was refused by the unique constraints.
    """
    fields = _prepare(actor, action, object_type, object_id, reason, before, after, payload, at)
    (row,) = _write(session, [fields])
    return AuditEntry(**row)


def append_many(session: Session, records: Iterable[Mapping]) -> list[Appended]:
    """Append many entries under one lock in one multi-row INSERT (completions, imports, batches).

    Each record is a mapping with the keyword arguments of :func:`append`
    (``actor``, ``action``, ``object_type``, ``object_id``, optional ``reason``, ``before``,
    ``after``, ``payload``, ``at``). All are validated before anything is written; the entries get
    consecutive sequence numbers in the order given.
    """
    prepared = []
    for i, record in enumerate(records):
        unknown = set(record) - _RECORD_KEYS
        if unknown:
            raise AuditValueError(f"records[{i}]", f"unknown keys {sorted(unknown)}")
        try:
            prepared.append(_prepare(record.get("actor"), record.get("action"),
                                     record.get("object_type"), record.get("object_id"),
                                     record.get("reason"), record.get("before"),
                                     record.get("after"), record.get("payload"), record.get("at")))
        except AuditValueError as exc:
            raise AuditValueError(f"records[{i}].{exc.field}", str(exc).split(": ", 1)[1]) from exc
    if not prepared:
        return []
    return [Appended(r["seq"], r["event_id"], r["hash"], r["id"], r["recorded_at"])
            for r in _write(session, prepared)]


def lock_chain(session: Session) -> None:
    """Serialise chain writers until the end of the current transaction (no-op on SQLite)."""
    if _held(session) is None:
        if session.get_bind().dialect.name == "postgresql":
            # Transaction-scoped: released at commit/rollback, safe behind PgBouncer.
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": CHAIN_LOCK_KEY})
        _remember(session, None)


def head(session: Session) -> tuple[int, str] | None:
    """``(seq, hash)`` of the last entry, or None when the chain is empty."""
    row = session.execute(
        select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)
    ).first()
    return None if row is None else (row.seq, row.hash)


def find_installation(session: Session) -> AuditInstallation | None:
    """The installation row (None before the first entry or checkpoint)."""
    return session.get(AuditInstallation, 1)


def ensure_installation(session: Session) -> AuditInstallation:
    """The installation row, created with a fresh id and genesis hash on first use."""
    found = find_installation(session)
    if found is not None:
        return found
    lock_chain(session)
    found = session.get(AuditInstallation, 1, populate_existing=True)
    if found is not None:
        return found
    installation_id = str(uuid.uuid4())
    created_at = iso_utc(dt.datetime.now(dt.timezone.utc))
    row = AuditInstallation(id=1, installation_id=installation_id, created_at=created_at,
                            genesis_hash=genesis_hash(installation_id, created_at))
    session.add(row)
    session.flush()
    return row


_HELD = "audit.chain.held"  # session.info key: (transaction, head or None) while the lock is held
_RECORD_KEYS = frozenset({"actor", "action", "object_type", "object_id", "reason", "before", "after", "payload",
                          "at"})
_HEAD_SQL = "SELECT seq, hash FROM audit_entry ORDER BY seq DESC LIMIT 1"
_ENTRY_TABLE = AuditEntry.__table__
# RETURNING (seq, id) pairs, matched by seq: without an order guarantee SQLAlchemy can send one
# multi-row INSERT on SQLite too (sort_by_parameter_order would fall back to a row at a time there).
_INSERT = insert(_ENTRY_TABLE).returning(_ENTRY_TABLE.c.seq, _ENTRY_TABLE.c.id)


def _held(session: Session):
    """What this transaction knows while it holds the chain lock: ``[head or None]``, else None."""
    held = session.info.get(_HELD)
    if held is not None and held[0] is session.get_transaction():
        return held[1:]
    return None


def _remember(session: Session, found: tuple[int, str] | None) -> None:
    session.info[_HELD] = (session.get_transaction(), found)


@event.listens_for(Session, "after_soft_rollback")
def _forget_head(session: Session, _previous) -> None:
    # A rolled-back savepoint may have removed entries (and released a lock it took).
    session.info.pop(_HELD, None)


def _locked_head(session: Session) -> tuple[int, str] | None:
    """Take the chain lock (once per transaction) and read the head under it (SQLite, and on
    PostgreSQL a transaction whose first append found the chain empty)."""
    held = _held(session)
    if held is not None and held[0] is not None:
        return held[0]
    lock_chain(session)
    row = session.connection().exec_driver_sql(_HEAD_SQL).first()
    found = None if row is None else (row[0], row[1])
    _remember(session, found)
    return found


def _write(session: Session, prepared: list[dict]) -> list[dict]:
    """Link the prepared entries after the head and insert them in one statement."""
    if _held(session) is None:
        conn = session.connection()
        if conn.dialect.name == "postgresql":
            rows = _write_linked_by_server(session, conn, prepared)
            if rows is not None:
                return rows
            # The chain is empty: its first entry links to the installation's genesis hash, below
            # (the lock is held now and the head is known to be None).
    found = _locked_head(session)
    seq, prev = found if found is not None else (0, ensure_installation(session).genesis_hash)
    rows = []
    for fields in prepared:
        seq += 1
        row = _link(fields, seq, prev)
        prev = row["hash"]
        rows.append(row)
    try:
        ids = dict(session.connection().execute(_INSERT, rows).all())
    except IntegrityError as exc:
        raise ChainConflict("the audit chain head moved during the append; the transaction "
                            "must be retried") from exc
    for row in rows:
        row["id"] = ids[row["seq"]]
    _remember(session, (seq, prev))
    # for automatic checkpoints after commit: the highest seq this transaction wrote
    session.info["audit_appended"] = max(seq, session.info.get("audit_appended") or 0)
    return rows


# The first append of a transaction on PostgreSQL: one statement, ``audit_append_linked`` (created
# by migration 0011_i13_audit_append_linked), takes the chain lock, reads the head with a snapshot
# taken after the lock was granted, links and inserts the entries; so the lock is held for the
# INSERT and the COMMIT only, never across a round trip to this process (with many writers, the
# time the lock is held bounds the throughput), and PL/pgSQL caches the statement's plan.
# This process composes every entry's canonical text except its tail (recorded time, seq), which
# depends on the head; the server computes each link as ``sha256(prev_hash || head text || tail)``
# in order. A default recorded time is this process's clock before the lock, but never earlier
# than the head's, so recorded times do not go backwards because a writer waited for the lock.
# Every returned link is recomputed here before the caller can commit: nothing the server
# computed is kept unchecked.
# Its signature, for the grant to the app role (engine/dbroles.py).
LINKED_APPEND_FUNCTION = "audit_append_linked(bigint, json)"
# The entries go as one JSON array (one text parameter, parsed by the server in C).
_LINKED_INSERT = text("SELECT seq, id, prev_hash, hash, recorded_at "
                      "FROM audit_append_linked(CAST(:lock_key AS bigint), CAST(:entries AS json))")
_LINKED_KEYS = ("actor_kind", "actor_id", "actor_name", "action", "object_type", "object_id", "reason", "before",
                "after", "payload")
_to_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _write_linked_by_server(session: Session, conn, prepared: list[dict]) -> list[dict] | None:
    """Lock, link and insert ``prepared`` in one statement; None (nothing written, the lock held)
    when the chain is empty (its first entry links to the installation's genesis hash)."""
    now = iso_utc(dt.datetime.now(dt.timezone.utc))
    entries = []
    heads = []
    for n, fields in enumerate(prepared, 1):
        fields["event_id"] = str(uuid.uuid4())
        head = entry_head(fields["event_id"], fields["actor_kind"], fields["actor_id"], fields["actor_name"],
                          fields["action"], fields["object_type"], fields["object_id"], fields["reason"],
                          fields["before"], fields["after"], fields["payload"])
        heads.append(head)
        entry = {key: fields[key] for key in _LINKED_KEYS}
        entry.update(n=n, event_id=fields["event_id"], at=fields["recorded_at"] or now,
                     fixed=fields["recorded_at"] is not None, head=head)
        entries.append(entry)
    params = {"lock_key": CHAIN_LOCK_KEY, "entries": _to_json(entries)}
    try:
        written = sorted(tuple(row) for row in conn.execute(_LINKED_INSERT, params))
    except IntegrityError as exc:
        raise ChainConflict("the audit chain head moved during the append; the transaction "
                            "must be retried") from exc
    if not written:
        _remember(session, None)
        return None
    rows = []
    prev = written[0][2]
    for fields, head, (seq, entry_id, prev_hash, digest, recorded_at) in zip(prepared, heads, written):
        expected = link_hash(prev, (head + entry_tail(recorded_at, seq)).encode("utf-8"))
        if prev_hash != prev or digest != expected:
            raise AuditValueError("hash", f"the database linked seq {seq} as {digest}, this process "
                                  f"computes {expected}: nothing was written")
        rows.append(dict(fields, seq=seq, prev_hash=prev_hash, recorded_at=recorded_at, hash=digest, id=entry_id))
        prev = digest
    if len(rows) != len(prepared) or rows[-1]["seq"] - rows[0]["seq"] != len(rows) - 1:
        raise AuditValueError("seq", "the database did not write every entry in sequence: nothing was written")
    _remember(session, (rows[-1]["seq"], prev))
    session.info["audit_appended"] = max(rows[-1]["seq"], session.info.get("audit_appended") or 0)
    return rows


def _link(fields: dict, seq: int, prev_hash: str) -> dict:
    """Complete prepared fields with seq, event id, recorded time (default: now) and the link hash."""
    row = dict(fields, seq=seq, event_id=str(uuid.uuid4()), prev_hash=prev_hash,
               recorded_at=fields["recorded_at"] or iso_utc(dt.datetime.now(dt.timezone.utc)))
    row["hash"] = link_hash(prev_hash, entry_bytes(
        seq, row["event_id"], row["recorded_at"], row["actor_kind"], row["actor_id"],
        row["actor_name"], row["action"], row["object_type"], row["object_id"], row["reason"],
        row["before"], row["after"], row["payload"]))
    return row


def _prepare(actor, action, object_type, object_id, reason, before, after, payload, at=None) -> dict:
    """Validate and canonicalise everything that does not depend on the chain head."""
    if at is not None and (not callable(getattr(at, "astimezone", None)) or at.utcoffset() is None):
        raise AuditValueError("at", "must be a timezone-aware datetime")
    if not isinstance(actor, Actor):
        raise AuditValueError("actor", f"must be an audit.Actor, got {type(actor).__name__}")
    if actor.kind not in ACTOR_KINDS:
        raise AuditValueError("actor.kind", f"must be one of {', '.join(ACTOR_KINDS)}, got {actor.kind!r}")
    for name, value in (("actor.id", actor.id), ("actor.name", actor.name)):
        if not isinstance(value, str) or not value.strip() or len(value) > 200:
            raise AuditValueError(name, "must be non-empty text of at most 200 characters")
    if isinstance(object_id, int) and not isinstance(object_id, bool):
        object_id = str(object_id)
    values = {"action": action, "object_type": object_type, "object_id": object_id}
    for name, value in values.items():
        if not isinstance(value, str) or not value.strip():
            raise AuditValueError(name, "is required (non-empty text)")
        if len(value) > _LIMITS[name]:
            raise AuditValueError(name, f"is longer than {_LIMITS[name]} characters")
    if reason is not None and (not isinstance(reason, str) or not reason.strip()):
        raise AuditValueError("reason", "must be non-empty text when given")
    if before is not None and reason is None:
        raise AuditValueError("reason", "is required for a change to an existing record "
                              "(a 'before' value was given; 21 CFR 11.10(e), Annex 11 §9)")
    fields = dict(actor_kind=actor.kind, actor_id=actor.id, actor_name=actor.name, reason=reason,
                  before=canonical_text(before, "before"), after=canonical_text(after, "after"),
                  payload=canonical_text(payload, "payload"), recorded_at=None if at is None else iso_utc(at),
                  **values)
    for name in ("actor_id", "actor_name", "action", "object_type", "object_id", "reason"):
        if fields[name] is not None:
            check_text(fields[name], name)  # refuses lone surrogates
    return fields
