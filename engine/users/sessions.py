"""Server-side browser sessions: open at sign-in, checked on every request, ended on purpose.

The browser keeps only a random token (in its signed session cookie); the row keyed by the
token's SHA-256 decides whether the session is live. Ending a row ends the session wherever the
cookie went: sign-out ends one, a password change ends the user's others, and a lockout, a role
change, a password reset or deactivation end them all (the account functions in
``engine.users.accounts`` and ``web.accounts`` call :func:`end_user_sessions`).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from audit import Actor, chain
from engine.db import utcnow
from engine.users.models import User, UserSession

# Writing last_seen_at on every request would turn each page view into a write.
SEEN_RESOLUTION = dt.timedelta(minutes=1)
REASONS = ("logout", "idle", "ended_by_user", "password_changed", "password_reset", "locked",
           "roles_changed", "disabled")


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def open_session(session: Session, user: User, *, remote_addr: str | None = None,
                 user_agent: str | None = None, now: dt.datetime | None = None) -> tuple[UserSession, str]:
    """Record a new session for ``user``; returns the row and the token for the cookie (shown once)."""
    token = secrets.token_urlsafe(32)
    now = now or utcnow()
    row = UserSession(token_sha256=_digest(token), user_id=user.id, created_at=now, last_seen_at=now,
                      remote_addr=(remote_addr or "")[:64] or None, user_agent=(user_agent or "")[:200] or None)
    session.add(row)
    session.flush()
    return row, token


def find_live_session(session: Session, token: str | None, user_id: int) -> UserSession | None:
    """The live session of ``user_id`` the token belongs to, or None (unknown, ended, other user)."""
    if not token:
        return None
    row = session.scalar(select(UserSession).where(UserSession.token_sha256 == _digest(token)))
    if row is None or row.ended_at is not None or row.user_id != user_id:
        return None
    return row


def needs_touch(row: UserSession, now: dt.datetime | None = None) -> bool:
    """True when ``last_seen_at`` is older than the resolution we keep it at."""
    return (now or utcnow()) - row.last_seen_at >= SEEN_RESOLUTION


def touch(session: Session, row: UserSession, now: dt.datetime | None = None) -> None:
    """Note that the session was used (at most once a minute)."""
    now = now or utcnow()
    if needs_touch(row, now):
        row.last_seen_at = now
        session.flush()


def live_sessions(session: Session, user_id: int) -> list[UserSession]:
    """The user's live sessions, most recently used first."""
    return list(session.scalars(select(UserSession).where(UserSession.user_id == user_id,
                                                          UserSession.ended_at.is_(None))
                                .order_by(UserSession.last_seen_at.desc(), UserSession.id.desc())))


def end_session(session: Session, row: UserSession, reason: str, now: dt.datetime | None = None) -> None:
    """End one session (sign-out, idle). Ending an ended session changes nothing."""
    _check_reason(reason)
    if row.ended_at is None:
        row.ended_at, row.end_reason = now or utcnow(), reason
        session.flush()


def end_user_sessions(session: Session, actor: Actor, user_id: int, reason: str, *, keep_id: int | None = None,
                      now: dt.datetime | None = None) -> int:
    """End every live session of ``user_id`` except ``keep_id``; audited when any ended. Returns how many."""
    _check_reason(reason)
    query = update(UserSession).where(UserSession.user_id == user_id, UserSession.ended_at.is_(None))
    if keep_id is not None:
        query = query.where(UserSession.id != keep_id)
    ended = session.execute(query.values(ended_at=now or utcnow(), end_reason=reason)
                            .execution_options(synchronize_session="fetch")).rowcount
    if ended:
        chain.append(session, actor, "auth.sessions_ended", "user", str(user_id),
                     payload={"reason": reason, "sessions": ended, "kept_current": keep_id is not None})
    return ended


def end_other_session(session: Session, actor: Actor, user_id: int, session_id: int) -> bool:
    """The user ends one of their own other sessions (audited); False when it was not theirs or not live."""
    row = session.get(UserSession, session_id)
    if row is None or row.user_id != user_id or row.ended_at is not None:
        return False
    end_session(session, row, "ended_by_user")
    chain.append(session, actor, "auth.sessions_ended", "user", str(user_id),
                 payload={"reason": "ended_by_user", "sessions": 1, "session_id": session_id})
    return True


def _check_reason(reason: str) -> None:
    if reason not in REASONS:
        raise ValueError(f"unknown session end reason {reason!r}")
