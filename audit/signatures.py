"""Part 11 electronic signatures backed by password + TOTP.

A signature is the manifestation (printed name, UTC date/time, meaning — §11.50) bound to the
SHA-256 of the canonical content of the record it signs, together with the record's type and
id (§11.70: it cannot be copied onto another record). It is stored in ``signature`` and written
to the audit chain in the caller's transaction.

Components (§11.200(a)(1)): within a continuous signing session the first signing needs the
password and a TOTP code, later ones a TOTP code; the window ends at logout
(:func:`end_signing_session`) or after ``policy.idle_seconds`` without a signing. Outside a
session every signing needs both. A TOTP time-step is accepted at most once per user.

Refusals raise distinct :mod:`audit.errors` types; run signing inside
:func:`audit.lockout.signing_transaction` so failures are counted even though the signing
transaction rolls back.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

import rfc8785
from sqlalchemy import and_, bindparam, insert, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from audit.canonical import iso_utc, normalize
from audit.chain import append
from audit.errors import (AuditValueError, BadMeaning, NotEnrolled, PasswordRequired, ReplayedCode,
                          SessionExpired, SigningLocked, UserDisabled, WrongCode, WrongPassword)
from audit.lockout import consume_timecode, locked_account, locked_until, refuse
from audit.models import Signature, SigningSession, TotpCredential, as_loaded, clean_object
from audit.policy import MEANINGS, Signer, SigningPolicy, parse_time, signer_of
from audit.totp import decrypt_secret, matching_timecode

PASSWORD_AND_TOTP = "password+totp"
TOTP_ONLY = "totp"


def sign(session: Session, user, *, password: str | None, totp_code: str, meaning: str,
         record_type: str, record_id, record: Mapping, policy: SigningPolicy,
         signing_session_id: str | None = None, comment: str | None = None) -> Signature:
    """Sign ``record`` as ``user`` with ``meaning``; returns the stored :class:`Signature`.

    Exact contract (:func:`authenticate` + :func:`store_signature` with the entry in between)::

        sign(session, user, *, password, totp_code, meaning, record_type, record_id, record,
             policy, signing_session_id=None, comment=None) -> Signature

    - ``user``: any object with ``id, username, printed_name, password_hash, active``.
    - ``password``: the presented password, or None for a later signing in a live session.
    - ``totp_code``: the 6-digit authenticator code (always required).
    - ``meaning``: a key of ``audit.policy.MEANINGS`` (approved, reviewed, released, …).
    - ``record_type``/``record_id``/``record``: what is signed; ``record`` is JSON-able content
      whose RFC 8785 SHA-256 (with type and id) is stored as ``record_sha256``.
    - ``policy``: ``SigningPolicy.from_settings(settings)``.
    - ``signing_session_id``: from :func:`open_signing_session` at login; None = outside a
      continuous session (all components every time).
    - ``comment``: optional free text, recorded as the audit entry's reason.

    Raises ``UserDisabled``, ``SigningLocked``, ``NotEnrolled``, ``SessionExpired``,
    ``PasswordRequired``, ``WrongPassword``, ``WrongCode``, ``ReplayedCode``, ``BadMeaning``
    (all ``SignatureError``), or ``AuditValueError`` for unusable record content.
    """
    grant = authenticate(session, user, password=password, totp_code=totp_code, meaning=meaning,
                         record_type=record_type, record_id=record_id, record=record, policy=policy,
                         signing_session_id=signing_session_id)
    signature = store_signature(session, grant, append(session, **grant.audit_record(comment)))
    session.flush()
    return signature


@dataclass(frozen=True)
class Grant:
    """A signing whose components were checked: what :func:`store_signature` will record.

    Until its audit entry and signature row are written nothing is signed; the TOTP time-step is
    already consumed in the caller's transaction (so a rollback gives it back)."""

    signer: Signer
    signature_id: str
    meaning: str
    record_type: str
    record_id: str
    digest: str
    components: str
    signing_session_id: str | None
    timecode: int
    live: SigningSession | None
    signed_at: dt.datetime

    def audit_record(self, comment: str | None = None) -> dict:
        """The ``signature.applied`` entry, as a record for ``audit.chain.append``/``append_many``."""
        return dict(actor=self.signer.actor, action="signature.applied", object_type=self.record_type,
                    object_id=self.record_id, reason=comment,
                    payload={"signature_id": self.signature_id, "username": self.signer.username,
                             "printed_name": self.signer.printed_name, "meaning": self.meaning,
                             "meaning_text": MEANINGS[self.meaning], "record_sha256": self.digest,
                             "components": self.components, "signing_session_id": self.signing_session_id,
                             "totp_timecode": self.timecode},
                    at=self.signed_at)  # by the policy's clock: see applied_at

    def applied_at(self, moment: dt.datetime) -> Grant:
        """The same grant recorded at ``moment`` (the policy's clock when its entry is written).

        A signature is recorded when it is applied, after whatever the same transaction wrote
        since the credentials were checked; recording the earlier instant would put its entry
        before theirs in time and make verification report a clock that went backwards."""
        return dataclasses.replace(self, signed_at=moment)


def authenticate(session: Session, user, *, password: str | None, totp_code: str, meaning: str,
                 record_type: str, record_id, record: Mapping, policy: SigningPolicy,
                 signing_session_id: str | None = None) -> Grant:
    """Check every signature component of ``user`` for ``record`` (arguments as :func:`sign`).

    Consumes the TOTP time-step and resets the failure count; raises the refusals :func:`sign`
    lists. Callers that write other entries in the same transaction append ``grant.audit_record()``
    with them (one chain lock, one INSERT) and then call :func:`store_signature`.
    """
    signer = signer_of(user)
    record_id = str(record_id)
    if meaning not in MEANINGS:
        raise BadMeaning(f"unknown signature meaning {meaning!r}; use one of {', '.join(MEANINGS)}")
    digest = record_digest(record_type, record_id, record)
    context = dict(record_type=record_type, record_id=record_id, meaning=meaning,
                   signing_session_id=signing_session_id)
    now = policy.clock()
    if not signer.active:
        raise refuse(UserDisabled(), signer, "signature", **context)
    account = locked_account(session, signer.user_id)
    until = locked_until(account, now)
    if until is not None:
        raise refuse(SigningLocked(iso_utc(until)), signer, "signature", **context)
    credential, live = _credential_and_session(session, signer.user_id, signing_session_id)
    if credential is None:
        raise NotEnrolled()
    live = _session_for(live, signing_session_id, signer, now, policy, password is not None)
    if password is None and needs_password(live, policy, now):
        raise PasswordRequired()
    if password is not None and not policy.check_password(signer, password):
        raise refuse(WrongPassword(), signer, "signature", **context)
    timecode = matching_timecode(decrypt_secret(policy.totp_key, credential.secret_encrypted), totp_code, now)
    if timecode is None:
        raise refuse(WrongCode(), signer, "signature", **context)
    if not consume_timecode(session, account, timecode):
        raise refuse(ReplayedCode(), signer, "signature", **context)
    if account.failed_attempts:  # (assigning an unchanged value would still cost a flush)
        account.failed_attempts = 0
    return Grant(signer=signer, signature_id=str(uuid.uuid4()), meaning=meaning, record_type=record_type,
                 record_id=record_id, digest=digest,
                 components=PASSWORD_AND_TOTP if password is not None else TOTP_ONLY,
                 signing_session_id=signing_session_id, timecode=timecode, live=live,
                 signed_at=policy.clock())  # read after the slow password check: see Grant.applied_at


def store_signature(session: Session, grant: Grant, entry) -> Signature:
    """The signature row for ``grant`` whose ``signature.applied`` entry is ``entry`` (has
    ``id`` and ``recorded_at``); marks the signing session as used.

    Both rows are written with one Core statement each (the completion path is hot); the
    returned Signature is persistent and clean in ``session``, as if it had been loaded."""
    values = dict(signature_id=grant.signature_id, user_id=grant.signer.user_id, username=grant.signer.username,
                  printed_name=grant.signer.printed_name, meaning=grant.meaning, signed_at=entry.recorded_at,
                  record_type=grant.record_type, record_id=grant.record_id, record_sha256=grant.digest,
                  components=grant.components, signing_session_id=grant.signing_session_id,
                  totp_timecode=grant.timecode, audit_entry_id=entry.id)
    values["id"] = session.execute(_INSERT_SIGNATURE, values).scalar_one()
    signature = clean_object(session, Signature, values)
    live = grant.live
    if live is not None:
        first = live.first_signed_at or iso_utc(grant.signed_at)
        last = iso_utc(grant.signed_at)
        session.execute(_MARK_SESSION, {"session_id": live.id, "first_signed_at": first, "last_signed_at": last})
        set_committed_value(live, "first_signed_at", first)
        set_committed_value(live, "last_signed_at", last)
    return signature


_INSERT_SIGNATURE = insert(Signature.__table__).returning(Signature.__table__.c.id)
_MARK_SESSION = update(SigningSession.__table__).where(SigningSession.__table__.c.id == bindparam("session_id"))


def record_digest(record_type: str, record_id, record: Mapping) -> str:
    """SHA-256 (hex) of RFC 8785 ``{"content": record, "id": record_id, "type": record_type}``."""
    if not isinstance(record_type, str) or not record_type.strip():
        raise AuditValueError("record_type", "is required (non-empty text)")
    if not isinstance(record, Mapping):
        raise AuditValueError("record", f"must be a mapping of the signed content, got {type(record).__name__}")
    document = {"content": normalize(dict(record), "record"), "id": str(record_id), "type": record_type}
    return hashlib.sha256(rfc8785.dumps(document)).hexdigest()


def signature_matches(signature: Signature, record: Mapping) -> bool:
    """True when ``record`` is still exactly the content ``signature`` was applied to."""
    return record_digest(signature.record_type, signature.record_id, record) == signature.record_sha256


def signatures_for(session: Session, record_type: str, record_id) -> list[Signature]:
    """Every signature applied to a record, oldest first."""
    return list(session.scalars(select(Signature).where(Signature.record_type == record_type,
                                                        Signature.record_id == str(record_id))
                                .order_by(Signature.id)))


def apply_signature(session: Session, signer: Signer, *, meaning: str, record_type: str,
                    record_id: str, digest: str, components: str, signing_session_id: str | None,
                    timecode: int, comment: str | None = None,
                    signed_at: dt.datetime | None = None) -> Signature:
    """Write the signature's audit entry and row (credentials already checked).

    ``signed_at`` is the instant the credentials were checked (the policy's clock); the audit
    entry is recorded at that instant, so the manifestation shows the time the code was valid."""
    grant = Grant(signer=signer, signature_id=str(uuid.uuid4()), meaning=meaning, record_type=record_type,
                  record_id=record_id, digest=digest, components=components,
                  signing_session_id=signing_session_id, timecode=timecode, live=None,
                  signed_at=signed_at or dt.datetime.now(dt.timezone.utc))
    signature = store_signature(session, grant, append(session, **grant.audit_record(comment)))
    session.flush()
    return signature


def active_credential(session: Session, user_id: str) -> TotpCredential | None:
    """The user's confirmed authenticator, if any."""
    return session.scalars(_ACTIVE_CREDENTIAL, {"user_id": str(user_id)}).first()


_ACTIVE_CREDENTIAL = select(TotpCredential).where(TotpCredential.user_id == bindparam("user_id"),
                                                  TotpCredential.status == "active")


def open_signing_session(session: Session, user, *, policy: SigningPolicy) -> str:
    """Start a continuous signing session (call at login); returns its id."""
    signer = signer_of(user)
    row = SigningSession(id=str(uuid.uuid4()), user_id=signer.user_id, started_at=iso_utc(policy.clock()))
    session.add(row)
    session.flush()
    return row.id


def end_signing_session(session: Session, signing_session_id: str, *, reason: str = "logout",
                        policy: SigningPolicy | None = None) -> None:
    """End a signing session (logout, lock screen); later signings need all components."""
    row = session.get(SigningSession, signing_session_id)
    if row is not None and row.ended_at is None:
        now = policy.clock() if policy else dt.datetime.now(dt.timezone.utc)
        row.ended_at, row.end_reason = iso_utc(now), reason
        session.flush()


def _credential_and_session(session: Session, user_id: str, signing_session_id: str | None
                            ) -> tuple[TotpCredential | None, SigningSession | None]:
    """The user's active authenticator and the signing session ``signing_session_id`` (locked to
    the end of the transaction: signings in one session are serialised), read in one statement."""
    if signing_session_id is not None:
        found = session.execute(_CREDENTIAL_AND_SESSION,
                                {"user_id": str(user_id), "session_id": signing_session_id}).first()
        if found is not None:
            values = found._mapping
            live = as_loaded(session, SigningSession, {c.key: values[f"s_{c.key}"] for c in _SESSIONS.c})
            if values["c_id"] is None:
                return None, live
            return as_loaded(session, TotpCredential, {c.key: values[f"c_{c.key}"] for c in _CREDENTIALS.c}), live
    return active_credential(session, user_id), None


_CREDENTIALS, _SESSIONS = TotpCredential.__table__, SigningSession.__table__
# The session row is the outer side: it is the one locked (PostgreSQL locks no nullable side).
_CREDENTIAL_AND_SESSION = (
    select(*(c.label(f"c_{c.key}") for c in _CREDENTIALS.c), *(c.label(f"s_{c.key}") for c in _SESSIONS.c))
    .select_from(_SESSIONS)
    .outerjoin(_CREDENTIALS, and_(_CREDENTIALS.c.user_id == bindparam("user_id"), _CREDENTIALS.c.status == "active"))
    .where(_SESSIONS.c.id == bindparam("session_id"))
    .with_for_update(of=_SESSIONS))


def _session_for(row: SigningSession | None, signing_session_id: str | None, signer: Signer,
                 now: dt.datetime, policy: SigningPolicy, has_password: bool) -> SigningSession | None:
    """The live signing session ``row`` read for ``signing_session_id``, or None when signing
    outside one. Raises SessionExpired."""
    if signing_session_id is None:
        return None
    if row is None or row.user_id != signer.user_id or row.ended_at is not None:
        raise SessionExpired()
    if _idle(row, now, policy):
        if not has_password:
            raise SessionExpired()
        row.first_signed_at = None  # all components given: a new continuous period starts
    return row


def needs_password(row: SigningSession | None, policy: SigningPolicy, now: dt.datetime | None = None) -> bool:
    """True when the next signature in signing session ``row`` must include the password
    (§11.200(a)(1)): outside a session, before its first signature, once it ended or lapsed."""
    now = now if now is not None else policy.clock()
    return row is None or row.ended_at is not None or row.first_signed_at is None or _idle(row, now, policy)


def _idle(row: SigningSession, now: dt.datetime, policy: SigningPolicy) -> bool:
    """True when the session's signing window has lapsed for lack of activity."""
    last = parse_time(row.last_signed_at or row.started_at)
    return (now - last).total_seconds() > policy.idle_seconds
