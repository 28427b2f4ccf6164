"""Audit tables: the hash chain, e-signatures, TOTP credentials, signing sessions, alerts.

``AuditBase`` has its own MetaData (audit/ depends on nothing of ours) with the same naming
convention as ``engine.db.Base`` so constraint names agree on both dialects.

Entry values that are JSON (``before``, ``after``, ``payload``) are stored as their RFC 8785
canonical text: the bytes that were hashed are exactly reproducible from the row on every
dialect (no JSONB number or key-order normalisation in between).
"""
from __future__ import annotations

import json

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Integer, MetaData, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, make_transient_to_detached, mapped_column
from sqlalchemy.orm.attributes import instance_state, set_committed_value
from sqlalchemy.orm.util import identity_key

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


class AuditCheckpoint(AuditBase):
    """A signed statement of the chain head: Ed25519 over RFC 8785 of :func:`checkpoint_document`."""

    __tablename__ = "audit_checkpoint"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    seq: Mapped[int] = mapped_column(BigInteger, unique=True)
    head_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[str] = mapped_column(String(32))
    installation_id: Mapped[str] = mapped_column(String(36))
    genesis_hash: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[str] = mapped_column(String(80))
    signature: Mapped[str] = mapped_column(String(100))  # base64 Ed25519 signature


class SigningAccount(AuditBase):
    """Per-user signing state: consecutive failures, lockout, last accepted TOTP time-step."""

    __tablename__ = "signing_account"

    user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[str | None] = mapped_column(String(32))
    last_timecode: Mapped[int | None] = mapped_column(BigInteger)


class TotpCredential(AuditBase):
    """A user's authenticator secret (Fernet-encrypted): pending → active → revoked."""

    __tablename__ = "totp_credential"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'active', 'revoked', 'superseded')", name="status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(16))
    secret_encrypted: Mapped[str] = mapped_column(Text)
    created_at: Mapped[str] = mapped_column(String(32))
    permit_id: Mapped[int | None] = mapped_column(ForeignKey("enrollment_permit.id"))
    confirmed_at: Mapped[str | None] = mapped_column(String(32))
    revoked_at: Mapped[str | None] = mapped_column(String(32))
    revoked_by: Mapped[str | None] = mapped_column(String(200))
    revoke_reason: Mapped[str | None] = mapped_column(Text)


class EnrollmentPermit(AuditBase):
    """A one-time permission, issued by an administrator, for the user to enroll again."""

    __tablename__ = "enrollment_permit"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(String(64), index=True)
    issued_by: Mapped[str] = mapped_column(String(200))
    issued_at: Mapped[str] = mapped_column(String(32))
    expires_at: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text)
    used_at: Mapped[str | None] = mapped_column(String(32))


class SigningSession(AuditBase):
    """A continuous period of controlled access (§11.200(a)(1)): login until logout or idle."""

    __tablename__ = "signing_session"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(64), index=True)
    started_at: Mapped[str] = mapped_column(String(32))
    first_signed_at: Mapped[str | None] = mapped_column(String(32))
    last_signed_at: Mapped[str | None] = mapped_column(String(32))
    ended_at: Mapped[str | None] = mapped_column(String(32))
    end_reason: Mapped[str | None] = mapped_column(String(32))


class Signature(AuditBase):
    """A Part 11 signature: manifestation bound to the SHA-256 of the signed record content."""

    __tablename__ = "signature"
    __table_args__ = (Index("ix_signature_record", "record_type", "record_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    signature_id: Mapped[str] = mapped_column(String(36), unique=True)
    user_id: Mapped[str] = mapped_column(String(64), index=True)
    username: Mapped[str] = mapped_column(String(200))
    printed_name: Mapped[str] = mapped_column(String(200))
    meaning: Mapped[str] = mapped_column(String(32))
    signed_at: Mapped[str] = mapped_column(String(32))  # ISO 8601 UTC = the audit entry's time
    record_type: Mapped[str] = mapped_column(String(100))
    record_id: Mapped[str] = mapped_column(String(200))
    record_sha256: Mapped[str] = mapped_column(String(64))
    components: Mapped[str] = mapped_column(String(32))  # "password+totp" or "totp"
    signing_session_id: Mapped[str | None] = mapped_column(String(36))
    totp_timecode: Mapped[int] = mapped_column(BigInteger)
    audit_entry_id: Mapped[int] = mapped_column(ForeignKey("audit_entry.id"), unique=True)

    def manifestation(self) -> str:
        """The §11.50 manifestation line: printed name, UTC date/time and meaning."""
        when = self.signed_at.replace("T", " ")[:19] + " UTC"
        return f"{self.printed_name} — {self.meaning} — {when}"


class SecurityAlert(AuditBase):
    """An event security must see at once (§11.300(d)); open until an admin acknowledges it."""

    __tablename__ = "security_alert"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    raised_at: Mapped[str] = mapped_column(String(32), index=True)
    kind: Mapped[str] = mapped_column(String(50))
    user_id: Mapped[str | None] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(Text)
    audit_entry_id: Mapped[int] = mapped_column(ForeignKey("audit_entry.id"))
    acknowledged_at: Mapped[str | None] = mapped_column(String(32))
    acknowledged_by: Mapped[str | None] = mapped_column(String(200))


def clean_object(session, model: type, values: dict):
    """A new object of ``model`` holding ``values`` (columns of a row just read or written by a
    Core statement), persistent and clean in ``session``. Its attributes are filled as the ORM's
    loading fills them (straight into the instance's dict, with no per-attribute change events
    and no history): nothing for a flush to write."""
    obj = model.__mapper__.class_manager.new_instance()
    instance_state(obj).dict.update(values)
    make_transient_to_detached(obj)
    session.add(obj)
    return obj


def as_loaded(session, model: type, values: dict):
    """The row ``values`` (every column of ``model``, read by a Core statement) as a persistent,
    clean ORM object, as a query with ``populate_existing`` would give it: an object of that
    identity already in ``session`` is refreshed, else one is added. For hot paths, where the
    ORM's per-statement work on a loaded entity costs more than the statement."""
    key = identity_key(model, tuple(values[c.key] for c in model.__table__.primary_key.columns))
    obj = session.identity_map.get(key)
    if obj is None:
        obj = clean_object(session, model, values)
    else:
        for name, value in values.items():
            set_committed_value(obj, name, value)
    return obj
