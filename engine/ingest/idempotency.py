"""Idempotency-Key handling (draft-ietf-httpapi-idempotency-key-header-06).

The first request with a key stores its response in the same transaction as its effect, so the
effect and the record commit together. A later request with the same key and the same payload
is answered from the record; with another payload it is refused (422). While the first request
is still in flight, a second one gets 409: on PostgreSQL each claim takes a transaction-scoped
advisory lock on (client, key) with ``pg_try_advisory_xact_lock`` — it never waits. On SQLite
every transaction holds the database write lock (``BEGIN IMMEDIATE``), so a second request
simply runs after the first and is answered from its record.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from engine.db import is_postgres
from engine.errors import Conflict, PayloadMismatch
from engine.ingest.models import IdempotencyRecord


@dataclass
class Claim:
    """The outcome of :func:`claim`: ``replay`` holds the stored record of an earlier request."""

    client_id: str
    key: str
    endpoint: str
    fingerprint: str
    replay: IdempotencyRecord | None = None


def _lock_key(client_id: str, key: str) -> int:
    digest = hashlib.sha256(f"sealtrail.idempotency\x00{client_id}\x00{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def claim(session: Session, *, client_id: str, key: str, endpoint: str, fingerprint: str) -> Claim:
    """Claim ``key`` for this request, or find the earlier request's record."""
    if is_postgres(session):
        got = session.execute(text("SELECT pg_try_advisory_xact_lock(:k)"),
                              {"k": _lock_key(client_id, key)}).scalar_one()
        if not got:
            raise Conflict(f"a request with Idempotency-Key {key!r} is still being processed; retry later",
                           field="Idempotency-Key")
    record = session.scalars(select(IdempotencyRecord).where(
        IdempotencyRecord.client_id == client_id, IdempotencyRecord.key == key)).one_or_none()
    if record is not None:
        if record.fingerprint != fingerprint or record.endpoint != endpoint:
            raise PayloadMismatch(
                f"Idempotency-Key {key!r} was already used with a different request", field="Idempotency-Key")
        return Claim(client_id, key, endpoint, fingerprint, replay=record)
    return Claim(client_id, key, endpoint, fingerprint)


def complete(session: Session, claim_: Claim, *, status: int, body: dict) -> IdempotencyRecord:
    """Store the response of a claimed request (same transaction as its effect)."""
    record = IdempotencyRecord(client_id=claim_.client_id, key=claim_.key, endpoint=claim_.endpoint,
                               fingerprint=claim_.fingerprint, created_at=datetime.now(UTC),
                               response_status=status, response_body=body)
    session.add(record)
    session.flush()
    return record
