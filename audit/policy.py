"""Signing policy (from configuration), the signer's identity and the signature meanings."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from audit import Actor
from audit.errors import AuditValueError
from audit.passwords import verify_password

# §11.50(a)(3): the meaning associated with the signature. Keys are stored; labels are shown.
MEANINGS = {
    "authored": "Authored",
    "reviewed": "Reviewed",
    "approved": "Approved",
    "rejected": "Rejected",
    "released": "Released",
    "verified": "Verified",
    "performed": "Performed",
    "witnessed": "Witnessed",
    "acknowledged": "Acknowledged",
    "responsible": "Responsible",
}


def utcnow() -> dt.datetime:
    """The server's current time, timezone-aware UTC."""
    return dt.datetime.now(dt.timezone.utc)


@dataclass(frozen=True)
class SigningPolicy:
    """Everything configurable about signing; build with :meth:`from_settings`."""

    totp_key: str | bytes
    idle_seconds: int = 900
    lockout_failures: int = 5
    lockout_seconds: int = 900
    enrollment_ttl_seconds: int = 72 * 3600  # a reset permit is usable this long
    pending_ttl_seconds: int = 3600  # a started enrollment must be confirmed within this
    issuer: str = "Sealtrail"
    clock: Callable[[], dt.datetime] = utcnow
    on_alert: Callable[[object], None] | None = None  # called with each new SecurityAlert
    # Checks a signer's password when set (a directory binds as the person); else the local hash.
    password_verifier: Callable[[object, str], bool] | None = None

    def check_password(self, signer, password: str) -> bool:
        """True when ``password`` is the signer's (through ``password_verifier`` when set)."""
        if self.password_verifier is not None:
            return bool(self.password_verifier(signer, password))
        return verify_password(signer.password_hash, password)

    @classmethod
    def from_settings(cls, settings, **overrides) -> SigningPolicy:
        """A policy from an ``engine.config.Settings``-like object (duck-typed)."""
        values = dict(totp_key=settings.totp_key,
                      idle_seconds=settings.signing_idle_seconds,
                      lockout_failures=settings.signing_lockout_failures,
                      lockout_seconds=settings.signing_lockout_seconds)
        values.update(overrides)
        return cls(**values)


@dataclass(frozen=True)
class Signer:
    """The identity facts signing needs, taken from the caller's user object."""

    user_id: str
    username: str
    printed_name: str
    password_hash: str | None
    active: bool

    @property
    def actor(self) -> Actor:
        return Actor("user", self.user_id, self.printed_name)


def signer_of(user) -> Signer:
    """A :class:`Signer` from any object with ``id, username, printed_name, password_hash, active``."""
    if isinstance(user, Signer):
        return user
    try:
        signer = Signer(user_id=str(user.id), username=str(user.username),
                        printed_name=str(user.printed_name), password_hash=user.password_hash,
                        active=bool(user.active))
    except AttributeError as exc:
        raise AuditValueError("user", f"needs id, username, printed_name, password_hash and active ({exc})") from exc
    if not signer.printed_name.strip():
        raise AuditValueError("user.printed_name", "a signer must have a printed name (§11.50)")
    return signer


def parse_time(text: str | None) -> dt.datetime | None:
    """An ISO 8601 UTC string (as stored) back to an aware datetime."""
    if text is None:
        return None
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
