"""User administration use cases. User names are never reused: users are disabled, not deleted."""
from __future__ import annotations

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from audit import Actor, chain
from audit.passwords import hash_password, password_problems, verify_password
from engine.db import utcnow
from engine.errors import Conflict, NotFound, ValidationFailed
from engine.users.models import LOCALES, ROLES, User, UserRole
from engine.users.sessions import end_user_sessions

USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")


def actor_for(user: User) -> Actor:
    """The audit actor of ``user``: ``id`` is ``str(user.id)`` (as audit's signatures record it)
    and ``name`` the printed name."""
    return Actor(kind="user", id=str(user.id), name=user.printed_name)


def user_for_actor(session: Session, actor: Actor) -> User | None:
    """The user behind a user actor (``id`` is the numeric user id, or a username), else None."""
    if actor.kind != "user":
        return None
    if actor.id.isdigit():
        return session.get(User, int(actor.id))
    return find_user(session, actor.id)


def has_role(user: User | None, *roles: str) -> bool:
    """True when ``user`` is active and holds at least one of ``roles``."""
    return bool(user is not None and user.active and user.roles.intersection(roles))


def get_user(session: Session, user_id: int) -> User:
    """The user with ``user_id`` or NotFound."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"user {user_id} does not exist", field="user_id")
    return user


def find_user(session: Session, username: str) -> User | None:
    """The user named ``username`` (case-insensitive), active or not."""
    return session.scalars(select(User).where(func.lower(User.username) == username.strip().lower())).first()


def get_user_by_name(session: Session, username: str) -> User:
    user = find_user(session, username)
    if user is None:
        raise NotFound(f"user {username!r} does not exist", field="username")
    return user


def _check_roles(roles) -> list[str]:
    roles = sorted(set(roles))
    unknown = [r for r in roles if r not in ROLES]
    if unknown:
        raise ValidationFailed(f"unknown role(s) {', '.join(unknown)}; roles are {', '.join(ROLES)}",
                               field="roles")
    return roles


def _check_password(password: str, field: str = "password") -> None:
    problems = password_problems(password or "")
    if problems:
        raise ValidationFailed(f"{field} {'; '.join(problems)}", field=field)


def create_user(session: Session, actor: Actor, *, username: str, printed_name: str, password: str,
                roles=(), email: str | None = None, locale: str = "zh_CN", timezone: str = "Asia/Shanghai",
                must_change_password: bool = True) -> User:
    """Create an active user holding ``roles``; the username can never be used again by anyone else."""
    username = (username or "").strip().lower()
    if not USERNAME_RE.match(username):
        raise ValidationFailed("username must be 2-64 characters of a-z, 0-9, '.', '_' or '-', "
                               "starting with a letter or digit", field="username")
    if find_user(session, username) is not None:
        raise Conflict(f"username {username!r} is taken (user names are never reused, even after "
                       "an account is disabled)", field="username")
    printed_name = (printed_name or "").strip()
    if not printed_name:
        raise ValidationFailed("printed_name is required: it is shown on every signature", field="printed_name")
    if locale not in LOCALES:
        raise ValidationFailed(f"locale must be one of {', '.join(LOCALES)}", field="locale")
    _check_timezone(timezone)
    roles = _check_roles(roles)
    _check_password(password)
    user = User(username=username, printed_name=printed_name, email=email, locale=locale, timezone=timezone,
                password_hash=hash_password(password), active=True, must_change_password=must_change_password,
                created_at=utcnow(), password_changed_at=utcnow())
    user.role_rows = [UserRole(role=r) for r in roles]
    session.add(user)
    session.flush()
    chain.append(session, actor, "user.create", "user", str(user.id),
                 after={"username": username, "printed_name": printed_name, "email": email, "roles": roles,
                        "locale": locale, "timezone": timezone, "must_change_password": must_change_password})
    return user


def _check_timezone(name: str) -> None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationFailed(f"timezone {name!r} is not a known IANA time zone", field="timezone") from exc


def _require_reason(reason: str | None) -> str:
    if not reason or not reason.strip():
        raise ValidationFailed("a reason is required for this change", field="reason")
    return reason.strip()


def disable_user(session: Session, actor: Actor, user: User, *, reason: str) -> User:
    """Deactivate ``user`` (Part 11 §11.100: the name stays reserved and its records keep pointing at it)."""
    reason = _require_reason(reason)
    if not user.active:
        raise Conflict(f"user {user.username!r} is already disabled", field="active")
    user.active = False
    user.disabled_at = utcnow()
    session.flush()
    chain.append(session, actor, "user.disable", "user", str(user.id), reason=reason,
                 before={"active": True}, after={"active": False})
    end_user_sessions(session, actor, user.id, "disabled")
    return user


def enable_user(session: Session, actor: Actor, user: User, *, reason: str) -> User:
    """Reactivate a disabled user (same person, same name)."""
    reason = _require_reason(reason)
    if user.active:
        raise Conflict(f"user {user.username!r} is already active", field="active")
    user.active = True
    user.disabled_at = None
    session.flush()
    chain.append(session, actor, "user.enable", "user", str(user.id), reason=reason,
                 before={"active": False}, after={"active": True})
    return user


def reset_password(session: Session, actor: Actor, user: User, *, new_password: str, reason: str) -> User:
    """Set a temporary password; the user must change it at next sign-in."""
    reason = _require_reason(reason)
    _check_password(new_password, "new_password")
    user.password_hash = hash_password(new_password)
    user.must_change_password = True
    user.password_changed_at = utcnow()
    session.flush()
    chain.append(session, actor, "user.reset_password", "user", str(user.id), reason=reason,
                 before={"must_change_password": None}, after={"must_change_password": True})
    end_user_sessions(session, actor, user.id, "password_reset")
    return user


def change_password(session: Session, user: User, *, current_password: str, new_password: str,
                    keep_session_id: int | None = None) -> User:
    """The user's own password change (clears ``must_change_password``); ends the user's other
    sessions (``keep_session_id``: the one the change was made in)."""
    if not verify_password(user.password_hash, current_password):
        raise ValidationFailed("the current password is not correct", field="current_password")
    _check_password(new_password, "new_password")
    if verify_password(user.password_hash, new_password):
        raise ValidationFailed("the new password must differ from the current one", field="new_password")
    user.password_hash = hash_password(new_password)
    user.must_change_password = False
    user.password_changed_at = utcnow()
    session.flush()
    chain.append(session, actor_for(user), "user.change_password", "user", str(user.id),
                 reason="changed by the user", before={"password": "(previous)"}, after={"password": "(new)"})
    end_user_sessions(session, actor_for(user), user.id, "password_changed", keep_id=keep_session_id)
    return user


def set_roles(session: Session, actor: Actor, user: User, roles, *, reason: str) -> User:
    """Replace the roles ``user`` holds."""
    reason = _require_reason(reason)
    roles = _check_roles(roles)
    before = sorted(user.roles)
    if before == roles:
        return user
    keep = {r.role: r for r in user.role_rows}
    user.role_rows = [keep.get(r) or UserRole(role=r) for r in roles]
    session.flush()
    chain.append(session, actor, "user.set_roles", "user", str(user.id), reason=reason,
                 before={"roles": before}, after={"roles": roles})
    end_user_sessions(session, actor, user.id, "roles_changed")
    return user


def list_users(session: Session, *, include_inactive: bool = True) -> list[User]:
    """Users by username."""
    query = select(User).order_by(User.username)
    if not include_inactive:
        query = query.where(User.active.is_(True))
    return list(session.scalars(query))
