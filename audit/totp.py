"""TOTP (RFC 6238) primitives: secrets, encryption at rest, provisioning QR, timecode checks.

Defaults match what authenticator apps expect: 30-second step, 6 digits, SHA-1. Secrets are
160 random bits, stored only as Fernet tokens under a key that lives outside the database
(``Settings.totp_key``); the otpauth URI is never logged or stored.
"""
from __future__ import annotations

import datetime as dt
import io

import pyotp
import segno
from pyotp.exceptions import OTPVerificationError
from cryptography.fernet import Fernet, InvalidToken

from audit.errors import AuditError

STEP_SECONDS = 30
DIGITS = 6
VALID_WINDOW = 1  # ±1 step of clock drift (RFC 6238 §5.2: at most one step of delay)


class TotpKeyError(AuditError):
    """The TOTP encryption key is missing, malformed, or does not decrypt a stored secret."""


def new_secret() -> str:
    """A fresh base32 secret of 160 bits (pyotp refuses fewer)."""
    return pyotp.random_base32(length=32)


def _fernet(key: str | bytes) -> Fernet:
    try:
        return Fernet(key)
    except (ValueError, TypeError) as exc:
        raise TotpKeyError("the TOTP key is not a valid Fernet key (32 url-safe base64 bytes)") from exc


def encrypt_secret(key: str | bytes, secret: str) -> str:
    """``secret`` encrypted (and authenticated) for storage."""
    return _fernet(key).encrypt(secret.encode("ascii")).decode("ascii")


def decrypt_secret(key: str | bytes, token: str) -> str:
    """The secret of a stored token; TotpKeyError if the key does not match."""
    try:
        return _fernet(key).decrypt(token.encode("ascii")).decode("ascii")
    except InvalidToken as exc:
        raise TotpKeyError("a stored TOTP secret cannot be decrypted with the configured key") from exc


def totp(secret: str, *, digits: int = DIGITS, digest=None) -> pyotp.TOTP:
    """A pyotp TOTP with our step; ``digest`` defaults to SHA-1."""
    kwargs = {"digits": digits, "interval": STEP_SECONDS}
    if digest is not None:
        kwargs["digest"] = digest
    return pyotp.TOTP(secret, **kwargs)


def clean_code(code) -> str | None:
    """The presented code without spaces, or None if it cannot be a code at all."""
    if not isinstance(code, str):
        return None
    cleaned = code.replace(" ", "").replace("-", "")
    if len(cleaned) != DIGITS:
        return None
    return cleaned


def matching_timecode(secret: str, code, at: dt.datetime) -> int | None:
    """The time-step the code belongs to (within ±1 step of ``at``), or None.

    The caller must then consume the step atomically (replay protection is keyed on the
    time-step, never on the code string: pyotp NFKC-normalises, so full-width digits match).
    """
    cleaned = clean_code(code)
    if cleaned is None:
        return None
    try:
        return totp(secret).verify_and_get_timecode(cleaned, for_time=at, valid_window=VALID_WINDOW)
    except OTPVerificationError:
        return None


def provisioning_uri(secret: str, account_name: str, issuer: str) -> str:
    """The otpauth:// URI an authenticator app scans (show it to the user only)."""
    return totp(secret).provisioning_uri(name=account_name, issuer_name=issuer)


def qr_svg(uri: str) -> str:
    """An SVG QR code of ``uri`` (segno, error correction M)."""
    buffer = io.BytesIO()
    segno.make(uri, error="m", micro=False).save(buffer, kind="svg", scale=5, border=4,
                                                 xmldecl=False, title="Authenticator enrollment")
    return buffer.getvalue().decode("utf-8")
