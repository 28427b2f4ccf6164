"""Typed audit errors: each says what was refused and why, in words a user can act on."""
from __future__ import annotations


class AuditError(Exception):
    """Base of every error raised by audit/."""


class AuditValueError(AuditError, ValueError):
    """A value given to the audit trail cannot be recorded (names the field)."""

    def __init__(self, field: str, message: str):
        self.field = field
        super().__init__(f"{field}: {message}")


class ChainConflict(AuditError):
    """The chain head moved under an append (a fork was refused by UNIQUE(seq)/UNIQUE(prev_hash))."""


class CheckpointError(AuditError):
    """A checkpoint could not be made or its key/file is unusable."""


class SignatureError(AuditError):
    """Base of every refused e-signature or TOTP operation; nothing was signed."""

    code = "signature_refused"


class WrongPassword(SignatureError):
    code = "wrong_password"

    def __init__(self, message: str = "The password is not correct. Nothing was signed."):
        super().__init__(message)


class WrongCode(SignatureError):
    code = "wrong_code"

    def __init__(self, message: str = "The authenticator code is not correct. Nothing was signed."):
        super().__init__(message)


class ReplayedCode(SignatureError):
    code = "replayed_code"

    def __init__(self, message: str = "This authenticator code was already used. "
                 "Wait for the next code and try again. Nothing was signed."):
        super().__init__(message)


class SigningLocked(SignatureError):
    code = "locked"

    def __init__(self, until: str | None = None):
        self.until = until
        tail = f" until {until} (UTC)" if until else ""
        super().__init__(f"Signing is locked for this user after repeated failed attempts{tail}. "
                         "Security has been notified. Nothing was signed.")


class UserDisabled(SignatureError):
    code = "user_disabled"

    def __init__(self, message: str = "This user account is disabled and cannot sign."):
        super().__init__(message)


class SessionExpired(SignatureError):
    code = "session_expired"

    def __init__(self, message: str = "The signing session has ended (logout or idle time). "
                 "Sign again with your password and authenticator code."):
        super().__init__(message)


class PasswordRequired(SignatureError):
    code = "password_required"

    def __init__(self, message: str = "The first signature of a session needs your password "
                 "and authenticator code. Nothing was signed."):
        super().__init__(message)


class NotEnrolled(SignatureError):
    code = "not_enrolled"

    def __init__(self, message: str = "No confirmed authenticator is enrolled for this user; "
                 "complete TOTP enrollment before signing."):
        super().__init__(message)


class EnrollmentError(SignatureError):
    """An enrollment step was refused (wrong state, wrong user, expired)."""

    code = "enrollment_refused"


class BadMeaning(SignatureError):
    code = "bad_meaning"
