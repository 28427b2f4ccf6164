"""Create, authenticate, list and revoke API tokens.

A token reads ``stk_<public id>_<secret>``. The public id finds the row; the secret is compared
by its SHA-256 (the secret is 256 random bits, so a fast hash is as strong as a slow one and
keeps authentication cheap at hundreds of requests per second).
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from audit import Actor, chain
from engine.access.models import ApiToken
from engine.errors import NotFound, Unauthenticated, ValidationFailed
from engine.governance.profile_revisions import released_profile
from engine.governance.share_records import supplier_known

ALARMS_WRITE = "alarms:write"
MEASUREMENTS_WRITE = "measurements:write"
WORKFLOWS_START = "workflows:start"
READ = "read"
PRODUCTION = "production"  # the MES: plan/start/complete lots, run operations, calibration, training
SCOPES = (ALARMS_WRITE, MEASUREMENTS_WRITE, WORKFLOWS_START, READ, PRODUCTION)

PREFIX = "stk_"
LAST_USED_RESOLUTION = timedelta(minutes=1)  # avoid a row write per request


@dataclass(frozen=True)
class IssuedToken:
    """A freshly created token: ``secret`` is shown once and never stored."""

    token: ApiToken
    secret: str


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def actor_for_token(token: ApiToken) -> Actor:
    """The audit actor of an API client."""
    return Actor(kind="api", id=token.client_id, name=token.name)


def create_token(session: Session, actor: Actor, *, name: str, scopes: list[str] | tuple[str, ...],
                 expires_in_days: int | None = None, share_profile: str | None = None,
                 share_recipient: str | None = None) -> IssuedToken:
    """Create a token with ``scopes``; the returned secret is the only copy.

    ``share_profile`` binds the token to a sharing profile: it then reads that profile's masked
    view and nothing else (scope ``read`` only); ``share_recipient`` names whom it serves — for a
    profile rooted in purchased lots, the supplier whose lots alone it may read (required there).
    """
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise ValidationFailed("a token needs a name of 1 to 100 characters", field="name")
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown or not scopes:
        raise ValidationFailed(
            f"unknown scope(s) {', '.join(unknown)}; choose from {', '.join(SCOPES)}" if unknown
            else f"choose at least one scope of {', '.join(SCOPES)}", field="scopes")
    if expires_in_days is not None and expires_in_days <= 0:
        raise ValidationFailed("expiry must be a positive number of days", field="expires_in_days")
    share_profile, share_recipient = _check_binding(session, share_profile, share_recipient, scopes)
    public_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    token = ApiToken(
        public_id=public_id, name=name, scopes=" ".join(s for s in SCOPES if s in scopes),
        secret_sha256=_digest(secret), created_at=now, created_by=actor.id,
        expires_at=now + timedelta(days=expires_in_days) if expires_in_days else None,
        share_profile=share_profile, share_recipient=share_recipient,
    )
    session.add(token)
    session.flush()
    _audit(session, actor, "api_token.created", token, after=_public_view(token))
    return IssuedToken(token=token, secret=f"{PREFIX}{public_id}_{secret}")


def _check_binding(session: Session, profile_name: str | None, recipient: str | None,
                   scopes) -> tuple[str | None, str | None]:
    recipient = (recipient or "").strip() or None
    if not profile_name:
        if recipient:
            raise ValidationFailed("a recipient needs a sharing profile", field="share_recipient")
        return None, None
    profile = released_profile(session, profile_name)
    if set(scopes) != {READ}:
        raise ValidationFailed(f"a token bound to a sharing profile has the scope {READ!r} only", field="scopes")
    if recipient is not None and len(recipient) > 200:
        raise ValidationFailed("the recipient is at most 200 characters", field="share_recipient")
    if profile.root == "purchased":
        if recipient is None:
            raise ValidationFailed(f"the {profile.name} profile needs the supplier the token serves",
                                   field="share_recipient")
        if not supplier_known(session, recipient):
            raise ValidationFailed(f"no supplier lot is from {recipient!r}", field="share_recipient")
    return profile.name, recipient


def authenticate(session: Session, presented: str, *, now: datetime | None = None) -> ApiToken:
    """The active token matching ``presented``; raises Unauthenticated otherwise."""
    now = now or datetime.now(UTC)
    if not presented.startswith(PREFIX) or presented.count("_") < 2:
        raise Unauthenticated("malformed API token")
    public_id, _, secret = presented[len(PREFIX):].partition("_")
    token = session.scalars(select(ApiToken).where(ApiToken.public_id == public_id)).one_or_none()
    if token is None or not hmac.compare_digest(token.secret_sha256, _digest(secret)):
        raise Unauthenticated("unknown API token")
    if token.revoked_at is not None:
        raise Unauthenticated("API token has been revoked")
    if token.expires_at is not None and _aware(token.expires_at) <= now:
        raise Unauthenticated("API token has expired")
    if token.last_used_at is None or _aware(token.last_used_at) < now - LAST_USED_RESOLUTION:
        token.last_used_at = now
    return token


def list_tokens(session: Session) -> list[ApiToken]:
    """Every token, newest first (secrets are not stored, so none are shown)."""
    return list(session.scalars(select(ApiToken).order_by(ApiToken.id.desc())))


def get_token(session: Session, public_id: str) -> ApiToken:
    """The token with ``public_id``; raises NotFound."""
    token = session.scalars(select(ApiToken).where(ApiToken.public_id == public_id)).one_or_none()
    if token is None:
        raise NotFound(f"no API token {public_id!r}", field="token")
    return token


def revoke_token(session: Session, actor: Actor, public_id: str, *, reason: str) -> ApiToken:
    """Revoke a token at once; the row stays for the record."""
    if not (reason or "").strip():
        raise ValidationFailed("give a reason for revoking the token", field="reason")
    token = get_token(session, public_id)
    if token.revoked_at is not None:
        raise ValidationFailed(f"API token {public_id} is already revoked", field="token")
    before = _public_view(token)
    token.revoked_at = datetime.now(UTC)
    token.revoked_by = actor.id
    token.revoke_reason = reason.strip()
    session.flush()
    _audit(session, actor, "api_token.revoked", token, before=before, after=_public_view(token),
           reason=reason.strip())
    return token


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)  # SQLite returns naive datetimes


def _public_view(token: ApiToken) -> dict:
    return {
        "public_id": token.public_id, "name": token.name, "scopes": token.scopes,
        "expires_at": token.expires_at.isoformat() if token.expires_at else None,
        "revoked_at": token.revoked_at.isoformat() if token.revoked_at else None,
        "share_profile": token.share_profile, "share_recipient": token.share_recipient,
    }


def _audit(session: Session, actor: Actor, action: str, token: ApiToken, **kwargs) -> None:
    chain.append(session, actor, action, "api_token", token.public_id, **kwargs)
