"""TOTP enrollment, confirmation with the §11.100(c) acknowledgement, resets and revocation.

Separation of duties (§11.200(a)(2)-(3)): an administrator never sees or sets a TOTP secret.
A reset only revokes the current authenticator and issues a one-time *permit*; the secret is
generated when the user (signed in with their own password) starts enrollment and is shown to
that user alone. The administrator who last set a user's password cannot issue the permit.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from audit import Actor
from audit.canonical import iso_utc
from audit.chain import append
from audit.errors import (AuditValueError, EnrollmentError, ReplayedCode, SigningLocked,
                          UserDisabled, WrongCode, WrongPassword)
from audit.lockout import consume_timecode, locked_account, locked_until, refuse
from audit.models import EnrollmentPermit, Signature, TotpCredential
from audit.policy import SigningPolicy, parse_time, signer_of
from audit.signatures import PASSWORD_AND_TOTP, active_credential, apply_signature, record_digest
from audit.totp import decrypt_secret, encrypt_secret, matching_timecode, new_secret, provisioning_uri, qr_svg

ACKNOWLEDGEMENT_VERSION = "1"
ACKNOWLEDGEMENT_TEXT = (
    "I acknowledge that my electronic signature, applied with my password and my authenticator "
    "code, is the legally binding equivalent of my handwritten signature, that I am accountable "
    "and responsible for actions initiated under it, and that I will not share these "
    "components with anyone (21 CFR 11.100(c), 11.10(j)).")


@dataclass(frozen=True)
class Enrollment:
    """What the user sees once to set up their authenticator (never stored in clear)."""

    credential_id: int
    secret: str
    provisioning_uri: str
    qr_svg: str


def begin_enrollment(session: Session, user, *, policy: SigningPolicy) -> Enrollment:
    """Start enrollment for ``user`` (who must be the signed-in person): a new pending secret.

    Allowed for a user who never had an authenticator, or with an unused, unexpired permit
    issued by an administrator after a reset.
    """
    signer = signer_of(user)
    if not signer.active:
        raise UserDisabled()
    now = policy.clock()
    if active_credential(session, signer.user_id) is not None:
        raise EnrollmentError("You already have an active authenticator. If it is lost or "
                              "compromised, ask an administrator for a reset.")
    ever = session.scalars(select(TotpCredential.id).where(
        TotpCredential.user_id == signer.user_id,
        TotpCredential.status.in_(("active", "revoked")))).first()
    permit = _usable_permit(session, signer.user_id, now)
    if ever is not None and permit is None:
        raise EnrollmentError("Enrolling a new authenticator needs a reset issued by an "
                              "administrator (the previous one was revoked).")
    for pending in _credentials(session, signer.user_id, "pending"):
        pending.status = "superseded"
    secret = new_secret()
    credential = TotpCredential(user_id=signer.user_id, status="pending", created_at=iso_utc(now),
                                secret_encrypted=encrypt_secret(policy.totp_key, secret),
                                permit_id=None if permit is None else permit.id)
    session.add(credential)
    session.flush()
    append(session, signer.actor, "totp.enrollment_started", "user", signer.user_id,
           payload={"credential_id": credential.id, "permit_id": credential.permit_id})
    uri = provisioning_uri(secret, signer.username, policy.issuer)
    return Enrollment(credential.id, secret, uri, qr_svg(uri))


def confirm_enrollment(session: Session, user, credential_id: int, *, password: str, code: str,
                       policy: SigningPolicy, signing_session_id: str | None = None) -> Signature:
    """Activate a pending authenticator with a first valid code and the user's password.

    The same act signs the §11.100(c) acknowledgement (meaning "acknowledged"); that
    signature is returned.
    """
    signer = signer_of(user)
    context = dict(record_type="totp_credential", record_id=str(credential_id), meaning="acknowledged")
    if not signer.active:
        raise refuse(UserDisabled(), signer, "enrollment", **context)
    now = policy.clock()
    account = locked_account(session, signer.user_id)
    until = locked_until(account, now)
    if until is not None:
        raise refuse(SigningLocked(iso_utc(until)), signer, "enrollment", **context)
    credential = session.get(TotpCredential, credential_id, with_for_update=True)
    if credential is None or credential.user_id != signer.user_id or credential.status != "pending":
        raise EnrollmentError("This enrollment is not pending for you; start enrollment again.")
    if (now - parse_time(credential.created_at)).total_seconds() > policy.pending_ttl_seconds:
        raise EnrollmentError("This enrollment has expired; start enrollment again.")
    if not policy.check_password(signer, password):
        raise refuse(WrongPassword(), signer, "enrollment", **context)
    timecode = matching_timecode(decrypt_secret(policy.totp_key, credential.secret_encrypted), code, now)
    if timecode is None:
        raise refuse(WrongCode(), signer, "enrollment", **context)
    if not consume_timecode(session, account, timecode):
        raise refuse(ReplayedCode(), signer, "enrollment", **context)
    account.failed_attempts = 0
    credential.status, credential.confirmed_at = "active", iso_utc(now)
    if credential.permit_id is not None:
        session.get(EnrollmentPermit, credential.permit_id).used_at = iso_utc(now)
    append(session, signer.actor, "totp.enrolled", "user", signer.user_id,
           payload={"credential_id": credential.id, "permit_id": credential.permit_id}, at=now)
    record = {"statement": ACKNOWLEDGEMENT_TEXT, "statement_version": ACKNOWLEDGEMENT_VERSION,
              "user_id": signer.user_id, "username": signer.username,
              "printed_name": signer.printed_name, "credential_id": credential.id}
    return apply_signature(session, signer, meaning="acknowledged", record_type="esignature_acknowledgement",
                           record_id=f"{signer.user_id}:{credential.id}",
                           digest=record_digest("esignature_acknowledgement", f"{signer.user_id}:{credential.id}", record),
                           components=PASSWORD_AND_TOTP, signing_session_id=signing_session_id,
                           timecode=timecode, signed_at=now)


def acknowledgement_record(signature: Signature, user) -> dict:
    """The content an acknowledgement signature signed (to show it or re-check its digest)."""
    signer = signer_of(user)
    credential_id = int(signature.record_id.split(":", 1)[1])
    return {"statement": ACKNOWLEDGEMENT_TEXT, "statement_version": ACKNOWLEDGEMENT_VERSION,
            "user_id": signer.user_id, "username": signer.username,
            "printed_name": signer.printed_name, "credential_id": credential_id}


def issue_enrollment_reset(session: Session, admin: Actor, user, *, reason: str, policy: SigningPolicy,
                           password_set_by: str | None = None) -> EnrollmentPermit:
    """Revoke ``user``'s authenticator and permit them (only them) to enroll a new one.

    ``password_set_by``: id of whoever last set the user's password, if an administrator did;
    that administrator may not also issue this permit.
    """
    signer = signer_of(user)
    if not isinstance(admin, Actor) or admin.kind != "user":
        raise AuditValueError("admin", "a reset is issued by a named administrator")
    if admin.id == signer.user_id:
        raise EnrollmentError("You cannot reset your own authenticator; ask another administrator.")
    if password_set_by is not None and str(password_set_by) == admin.id:
        raise EnrollmentError("The administrator who set this user's password cannot also reset "
                              "their authenticator; a second administrator must issue the reset "
                              "(21 CFR 11.200(a)(2)-(3)).")
    if not reason or not reason.strip():
        raise AuditValueError("reason", "is required for an authenticator reset")
    now = policy.clock()
    revoke_totp(session, admin, user, reason=reason, _now=now)
    permit = EnrollmentPermit(user_id=signer.user_id, issued_by=admin.id, issued_at=iso_utc(now),
                              expires_at=iso_utc(now + dt.timedelta(seconds=policy.enrollment_ttl_seconds)),
                              reason=reason)
    session.add(permit)
    session.flush()
    append(session, admin, "totp.reset_issued", "user", signer.user_id, reason=reason,
           payload={"permit_id": permit.id, "expires_at": permit.expires_at})
    return permit


def revoke_totp(session: Session, actor: Actor, user, *, reason: str,
                _now: dt.datetime | None = None) -> TotpCredential | None:
    """Revoke the user's authenticator (lost or compromised, §11.300(c)); returns it if any."""
    signer = signer_of(user)
    if not reason or not reason.strip():
        raise AuditValueError("reason", "is required to revoke an authenticator")
    now = _now or dt.datetime.now(dt.timezone.utc)
    for pending in _credentials(session, signer.user_id, "pending"):
        pending.status = "superseded"
    credential = active_credential(session, signer.user_id)
    if credential is None:
        return None
    credential.status, credential.revoked_at = "revoked", iso_utc(now)
    credential.revoked_by, credential.revoke_reason = actor.id, reason
    append(session, actor, "totp.revoked", "user", signer.user_id, reason=reason,
           before={"credential_id": credential.id, "status": "active"},
           after={"credential_id": credential.id, "status": "revoked"})
    return credential


def _credentials(session: Session, user_id: str, status: str) -> list[TotpCredential]:
    return list(session.scalars(select(TotpCredential).where(TotpCredential.user_id == user_id,
                                                             TotpCredential.status == status)))


def _usable_permit(session: Session, user_id: str, now: dt.datetime) -> EnrollmentPermit | None:
    permits = session.scalars(select(EnrollmentPermit).where(
        EnrollmentPermit.user_id == user_id, EnrollmentPermit.used_at.is_(None))
        .order_by(EnrollmentPermit.id.desc()))
    return next((p for p in permits if parse_time(p.expires_at) > now), None)
