"""Audit tables: the hash-chained entries and the installation's genesis.

``AuditBase`` has its own MetaData (audit/ depends on nothing of ours) with the same naming
convention as ``engine.db.Base`` so constraint names agree on both dialects.

Entry values that are JSON (``before``, ``after``, ``payload``) are stored as their RFC 8785
canonical text: the bytes that were hashed are exactly reproducible from the row on every
dialect (no JSONB number or key-order normalisation in between).
"""
from __future__ import annotations

import json

from sqlalchemy import BigInteger, CheckConstraint, Index, Integer, MetaData, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit identity.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class AuditBase(DeclarativeBase):
    """Base of every audit table."""

    metadata = MetaData(naming_convention=NAMING)


class AuditInstallation(AuditBase):
    """The one row naming this installation; its genesis hash starts the chain."""

    __tablename__ = "audit_installation"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    installation_id: Mapped[str] = mapped_column(String(36), unique=True)
    created_at: Mapped[str] = mapped_column(String(32))
    genesis_hash: Mapped[str] = mapped_column(String(64))


class AuditEntry(AuditBase):
    """One link of the chain: ``hash = SHA-256(prev_hash_hex || JCS(entry))``."""

    __tablename__ = "audit_entry"
    __table_args__ = (
        Index("ix_audit_entry_object", "object_type", "object_id"),
        CheckConstraint("seq >= 1", name="seq_positive"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    seq: Mapped[int] = mapped_column(BigInteger, unique=True)
    event_id: Mapped[str] = mapped_column(String(36), unique=True)
    recorded_at: Mapped[str] = mapped_column(String(32), index=True)  # ISO 8601 UTC, µs, "Z"
    actor_kind: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[str] = mapped_column(String(200))
    actor_name: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(100), index=True)
    object_type: Mapped[str] = mapped_column(String(100))
    object_id: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(Text)
    before: Mapped[str | None] = mapped_column(Text)  # canonical JSON text
    after: Mapped[str | None] = mapped_column(Text)  # canonical JSON text
    payload: Mapped[str | None] = mapped_column(Text)  # canonical JSON text
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hash: Mapped[str] = mapped_column(String(64), unique=True)

    @property
    def before_value(self):
        """``before`` decoded from its canonical JSON (None when absent)."""
        return None if self.before is None else json.loads(self.before)

    @property
    def after_value(self):
        """``after`` decoded from its canonical JSON (None when absent)."""
        return None if self.after is None else json.loads(self.after)

    @property
    def payload_value(self):
        """``payload`` decoded from its canonical JSON (None when absent)."""
        return None if self.payload is None else json.loads(self.payload)

    def __repr__(self) -> str:
        return f"<AuditEntry #{self.seq} {self.action} {self.object_type}:{self.object_id}>"
