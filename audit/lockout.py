"""Failed signing attempts, lockout, security alerts, and TOTP time-step consumption.

A refused signature raises a :class:`~audit.errors.SignatureError` whose ``failure`` describes
the attempt. The caller's transaction rolls back (nothing was signed), so the failure must be
recorded in a *new* transaction with :func:`record_failed_attempt`. The caller owns both
transactions: ``web.db.signing_transaction(sessions, policy)`` is how views and commands run
anything that signs::

    with signing_transaction(sessions, policy) as session:
        complete_task(session, ...)          # calls audit.signatures.sign(...)

After ``policy.lockout_failures`` consecutive failures the user's signing is locked for
``policy.lockout_seconds``; the lockout is written to the audit chain and a SecurityAlert is
raised at once (§11.300(d)).
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, attributes

from audit import Actor
from audit.canonical import iso_utc
from audit.chain import append
from audit.errors import SignatureError
from audit.models import SecurityAlert, SigningAccount, as_loaded
from audit.policy import Signer, SigningPolicy, parse_time

log = logging.getLogger("sealtrail.security")

# Kinds of failure that count towards the lockout (a locked or disabled user is refused
# without counting, but still audited).
COUNTING = {"wrong_password", "wrong_code", "replayed_code"}


@dataclass(frozen=True)
class FailedAttempt:
    """What was attempted when a signing or enrollment step was refused."""

    user_id: str
    printed_name: str
    kind: str  # the SignatureError.code
    operation: str  # "sign" | "enroll"
    record_type: str | None = None
    record_id: str | None = None
    meaning: str | None = None
    signing_session_id: str | None = None


def refuse(error: SignatureError, signer: Signer, operation: str, **context) -> SignatureError:
    """``error`` with its :class:`FailedAttempt` attached, ready to raise."""
    error.failure = FailedAttempt(signer.user_id, signer.printed_name, error.code, operation, **context)
    return error


def locked_account(session: Session, user_id: str) -> SigningAccount:
    """The user's signing account, created if missing, locked until the end of the transaction."""
    # One statement: create the row if missing, else a no-op update. The update locks the row
    # (as FOR UPDATE would), serialising concurrent attempts by one user on PostgreSQL (SQLite:
    # BEGIN IMMEDIATE); RETURNING gives the row as committed by whoever held the lock before.
    values = session.execute(_UPSERT_ACCOUNT[session.get_bind().dialect.name == "postgresql"],
                             {"account_user": user_id}).one()._asdict()
    return as_loaded(session, SigningAccount, values)


def _upsert_account(insert_):
    table = SigningAccount.__table__
    return (insert_(table).values(user_id=bindparam("account_user"), failed_attempts=0)
            .on_conflict_do_update(index_elements=["user_id"], set_={"failed_attempts": table.c.failed_attempts})
            .returning(*table.c))


_UPSERT_ACCOUNT = {True: _upsert_account(postgresql.insert), False: _upsert_account(sqlite.insert)}


def locked_until(account: SigningAccount, now: dt.datetime) -> dt.datetime | None:
    """The end of the account's lockout, or None if signing is not locked at ``now``."""
    until = parse_time(account.locked_until)
    return until if until is not None and until > now else None


def consume_timecode(session: Session, account: SigningAccount, timecode: int) -> bool:
    """Atomically accept ``timecode`` once per user: False if it (or a later one) was used."""
    result = session.execute(_CONSUME, {"account_user": account.user_id, "timecode": timecode})
    if result.rowcount != 1:
        return False
    attributes.set_committed_value(account, "last_timecode", timecode)
    return True


_ACCOUNTS = SigningAccount.__table__
_CONSUME = (update(_ACCOUNTS).where(_ACCOUNTS.c.user_id == bindparam("account_user"),
                                    or_(_ACCOUNTS.c.last_timecode.is_(None),
                                        _ACCOUNTS.c.last_timecode < bindparam("timecode")))
            .values(last_timecode=bindparam("timecode")))


def record_failed_attempt(session: Session, failure: FailedAttempt,
                          policy: SigningPolicy) -> SecurityAlert | None:
    """Count and audit a refused attempt; lock out and alert at the limit (returns the alert)."""
    now = policy.clock()
    account = locked_account(session, failure.user_id)
    actor = Actor("user", failure.user_id, failure.printed_name)
    counts = failure.kind in COUNTING and locked_until(account, now) is None
    if counts:
        account.failed_attempts += 1
    append(session, actor, f"{failure.operation}.refused", "user", failure.user_id,
           payload={"kind": failure.kind, "consecutive_failures": account.failed_attempts,
                    "record_type": failure.record_type, "record_id": failure.record_id,
                    "meaning": failure.meaning, "signing_session_id": failure.signing_session_id})
    if not counts or account.failed_attempts < policy.lockout_failures:
        return None
    until = iso_utc(now + dt.timedelta(seconds=policy.lockout_seconds))
    failures, account.failed_attempts, account.locked_until = account.failed_attempts, 0, until
    entry = append(session, actor, "signing.locked", "user", failure.user_id,
                   payload={"consecutive_failures": failures, "locked_until": until})
    message = (f"Signing locked for {failure.printed_name} (user {failure.user_id}) after "
               f"{failures} consecutive failed attempts; locked until {until}.")
    return raise_alert(session, "signing_lockout", message, entry.id, policy, user_id=failure.user_id)


def raise_alert(session: Session, kind: str, message: str, audit_entry_id: int,
                policy: SigningPolicy, *, user_id: str | None = None) -> SecurityAlert:
    """Store an open SecurityAlert, log it as CRITICAL and call ``policy.on_alert``."""
    alert = SecurityAlert(raised_at=iso_utc(policy.clock()), kind=kind, user_id=user_id,
                          message=message, audit_entry_id=audit_entry_id)
    session.add(alert)
    session.flush()
    log.critical("SECURITY ALERT %s: %s", kind, message)
    if policy.on_alert is not None:
        policy.on_alert(alert)
    return alert


def open_alerts(session: Session) -> list[SecurityAlert]:
    """Alerts no administrator has acknowledged yet, newest first."""
    return list(session.scalars(select(SecurityAlert).where(SecurityAlert.acknowledged_at.is_(None))
                                .order_by(SecurityAlert.id.desc())))


def acknowledge_alert(session: Session, admin: Actor, alert_id: int, *, note: str) -> SecurityAlert:
    """Mark an alert as seen by ``admin`` (audited with the note)."""
    alert = session.get(SecurityAlert, alert_id)
    if alert is None:
        raise LookupError(f"security alert {alert_id} does not exist")
    if alert.acknowledged_at is None:
        alert.acknowledged_at = iso_utc(dt.datetime.now(dt.timezone.utc))
        alert.acknowledged_by = admin.id
        append(session, admin, "security_alert.acknowledged", "security_alert", alert_id,
               reason=note, before={"acknowledged": False}, after={"acknowledged": True})
    return alert


def unlock_signing(session: Session, admin: Actor, user_id: str, *, reason: str) -> None:
    """End a user's signing lockout early (an administrator's audited decision)."""
    account = locked_account(session, str(user_id))
    before = {"locked_until": account.locked_until, "failed_attempts": account.failed_attempts}
    account.locked_until, account.failed_attempts = None, 0
    append(session, admin, "signing.unlocked", "user", str(user_id), reason=reason,
           before=before, after={"locked_until": None, "failed_attempts": 0})
