"""Sign-in rules: password check, lockout after repeated failures, audited sign-in and sign-out
(the sign-in page calls these; they run the same from a test or a command).

The lockout state is read from the audit trail itself (no extra table to keep in step): an
account is locked when its last ``login_failures`` sign-in attempts since the last success all
failed within ``window``; it unlocks ``lockout`` after the last counted failure. Refusals of a
locked account are audited but do not extend the lockout (so nobody can keep an account locked
forever by guessing). Unknown user names are audited against the name that was tried.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from audit import Actor, chain
from audit.canonical import iso_utc
from audit.models import AuditEntry
from audit.passwords import verify_password
from engine.db import utcnow
from engine.errors import ValidationFailed
from engine.users.accounts import USERNAME_RE, actor_for, disable_user, find_user, set_roles
from engine.users.directory import DIRECTORY_HASH, DirectoryUnavailable, LdapDirectory, mapped_roles
from engine.users.models import User
from engine.users.oidc import OIDC_HASH, OidcProvider, OidcRefused, OidcUnavailable, Pending, reauthentication_proof
from engine.users.sessions import end_user_sessions

LOGIN_OK = "auth.login"
LOGIN_FAILED = "auth.login_failed"
LOGIN_REFUSED = "auth.login_refused"  # locked or disabled: audited, not counted
LOCKED = "auth.locked"
LOGOUT = "auth.logout"
REAUTH_OK = "auth.reauthenticated"  # at the OpenID Connect provider, before a session's first signature
REAUTH_REFUSED = "auth.reauthentication_refused"
SIGNIN = Actor(kind="system", id="web.signin", name="Sealtrail sign-in")


@dataclass(frozen=True)
class LoginPolicy:
    failures: int = 5
    window_seconds: int = 900
    lockout_seconds: int = 900


@dataclass(frozen=True)
class SignIn:
    """The outcome of a sign-in attempt: the user, or a refusal (locked until, if locked)."""

    user: User | None = None
    locked_until: dt.datetime | None = None


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def locked_until(session: Session, user_key: str, policy: LoginPolicy,
                 now: dt.datetime | None = None) -> dt.datetime | None:
    """When the account's sign-in lockout ends, or None if it is not locked."""
    now = now or _now()
    since = iso_utc(now - dt.timedelta(seconds=max(policy.window_seconds, policy.lockout_seconds)))
    rows = session.execute(
        select(AuditEntry.action, AuditEntry.recorded_at)
        .where(AuditEntry.object_type == "user", AuditEntry.object_id == user_key,
               AuditEntry.action.in_((LOGIN_OK, LOGIN_FAILED, "user.reset_password", "auth.unlocked")),
               AuditEntry.recorded_at >= since)
        .order_by(AuditEntry.seq.desc()).limit(policy.failures)).all()
    if len(rows) < policy.failures or any(action != LOGIN_FAILED for action, _ in rows):
        return None
    first = dt.datetime.fromisoformat(rows[-1].recorded_at.replace("Z", "+00:00"))
    last = dt.datetime.fromisoformat(rows[0].recorded_at.replace("Z", "+00:00"))
    if (last - first).total_seconds() > policy.window_seconds:
        return None
    until = last + dt.timedelta(seconds=policy.lockout_seconds)
    return until if until > now else None


def authenticate(session: Session, username: str, password: str, *, policy: LoginPolicy,
                 remote_addr: str | None = None, directory: LdapDirectory | None = None) -> SignIn:
    """Check a sign-in attempt and audit it; the caller commits whatever the outcome.

    Returns ``SignIn(user=...)`` for an active user whose password matches, else a refusal
    (``locked_until`` set when the account is locked). Never says which part was wrong.
    With a ``directory``, unknown names and directory accounts sign in there
    (:func:`_directory_sign_in`); local accounts keep their local password.
    """
    name = (username or "").strip().lower()[:64]
    user = find_user(session, name) if name else None
    context = {"remote_addr": remote_addr}
    if directory is not None and name and (user is None or user.password_hash == DIRECTORY_HASH):
        return _directory_sign_in(session, directory, name, password, user, policy, context)
    if user is None:
        verify_password(_DUMMY_HASH, password)  # same cost as a real check: no user enumeration
        chain.append(session, SIGNIN, LOGIN_FAILED, "login", name or "(empty)",
                     payload=context | {"kind": "unknown_user"})
        return SignIn()
    actor = actor_for(user)
    until = locked_until(session, str(user.id), policy)
    if until is not None:
        chain.append(session, actor, LOGIN_REFUSED, "user", str(user.id),
                     payload=context | {"kind": "locked", "locked_until": iso_utc(until)})
        return SignIn(locked_until=until)
    if not verify_password(user.password_hash, password):
        chain.append(session, actor, LOGIN_FAILED, "user", str(user.id),
                     payload=context | {"kind": "wrong_password"})
        session.flush()
        until = locked_until(session, str(user.id), policy)
        if until is not None:
            chain.append(session, actor, LOCKED, "user", str(user.id),
                         payload=context | {"locked_until": iso_utc(until), "failures": policy.failures})
            end_user_sessions(session, SIGNIN, user.id, "locked")  # whoever holds a session may be the guesser
        return SignIn(locked_until=until)
    if not user.active:
        chain.append(session, actor, LOGIN_REFUSED, "user", str(user.id),
                     payload=context | {"kind": "disabled"})
        return SignIn()
    chain.append(session, actor, LOGIN_OK, "user", str(user.id), payload=context)
    return SignIn(user=user)


def _directory_sign_in(session: Session, directory: LdapDirectory, name: str, password: str, user: User | None,
                       policy: LoginPolicy, context: dict) -> SignIn:
    """Bind as the person; provision the account on first sign-in, then bring its printed name,
    email and roles (from the group mapping) in line with the directory. A person the directory
    marks disabled is refused and the account disabled here too."""
    if user is not None:
        until = locked_until(session, str(user.id), policy)
        if until is not None:
            chain.append(session, actor_for(user), LOGIN_REFUSED, "user", str(user.id),
                         payload=context | {"kind": "locked", "locked_until": iso_utc(until)})
            return SignIn(locked_until=until)
    try:
        person = directory.authenticate(name, password)
    except DirectoryUnavailable as exc:  # not the person's fault: audited, not counted toward lockout
        chain.append(session, actor_for(user) if user else SIGNIN, LOGIN_REFUSED, "user" if user else "login",
                     str(user.id) if user else name, payload=context | {"kind": "directory_unavailable",
                                                                        "error": str(exc)[:300]})
        return SignIn()
    if person is None:
        if user is None:
            chain.append(session, SIGNIN, LOGIN_FAILED, "login", name, payload=context | {"kind": "directory_refused"})
            return SignIn()
        chain.append(session, actor_for(user), LOGIN_FAILED, "user", str(user.id),
                     payload=context | {"kind": "directory_refused"})
        session.flush()
        return SignIn(locked_until=locked_until(session, str(user.id), policy))
    if person.disabled:
        if user is not None and user.active:
            disable_user(session, SIGNIN, user, reason="disabled in the directory")
        chain.append(session, actor_for(user) if user else SIGNIN, LOGIN_REFUSED, "user" if user else "login",
                     str(user.id) if user else name, payload=context | {"kind": "disabled_in_directory"})
        return SignIn()
    if user is None:
        user = _provision(session, name, person)
    elif not user.active:
        chain.append(session, actor_for(user), LOGIN_REFUSED, "user", str(user.id), payload=context | {"kind": "disabled"})
        return SignIn()
    _follow_directory(session, user, person)
    chain.append(session, actor_for(user), LOGIN_OK, "user", str(user.id),
                 payload=context | {"directory_dn": person.dn})
    return SignIn(user=user)


def _provision(session: Session, name: str, person, password_hash: str = DIRECTORY_HASH) -> User:
    """The account of a person signing in from the directory for the first time (no roles yet)."""
    if not USERNAME_RE.match(name):
        raise ValidationFailed("this directory name cannot be a Sealtrail user name", field="username")
    user = User(username=name, printed_name=person.printed_name, email=person.email, password_hash=password_hash,
                active=True, must_change_password=False, created_at=utcnow(), role_rows=[])
    session.add(user)
    session.flush()
    chain.append(session, SIGNIN, "user.provisioned", "user", str(user.id),
                 after={"username": name, "printed_name": person.printed_name, "email": person.email,
                        "directory_dn": person.dn})
    return user


def authenticate_oidc(session: Session, provider: OidcProvider, redirect_uri: str, params, pending: Pending | None,
                      *, policy: LoginPolicy, remote_addr: str | None = None) -> SignIn:
    """Finish a sign-in at the OpenID Connect provider and audit it; the caller commits whatever the
    outcome. The same rules as the LDAP directory: provisioned on first sign-in with no roles until
    a group is mapped, printed name, email and roles follow the provider; a local account of the same
    name is never taken over; locked and disabled accounts are refused."""
    context = {"remote_addr": remote_addr, "via": "oidc"}
    try:
        person = provider.finish(redirect_uri, params, pending)
    except OidcUnavailable as exc:  # not the person's fault: audited, not counted toward lockout
        chain.append(session, SIGNIN, LOGIN_REFUSED, "login", "(oidc)",
                     payload=context | {"kind": "directory_unavailable", "error": str(exc)[:300]})
        return SignIn()
    except OidcRefused as exc:
        chain.append(session, SIGNIN, LOGIN_FAILED, "login", "(oidc)",
                     payload=context | {"kind": f"oidc_{exc.kind}", "detail": exc.detail[:300]})
        return SignIn()
    name = person.username
    user = find_user(session, name)
    if user is not None and user.password_hash != OIDC_HASH:
        chain.append(session, actor_for(user), LOGIN_REFUSED, "user", str(user.id),
                     payload=context | {"kind": "not_an_oidc_account", "subject": person.subject})
        return SignIn()
    if user is not None:
        until = locked_until(session, str(user.id), policy)
        if until is not None:
            chain.append(session, actor_for(user), LOGIN_REFUSED, "user", str(user.id),
                         payload=context | {"kind": "locked", "locked_until": iso_utc(until)})
            return SignIn(locked_until=until)
        if not user.active:
            chain.append(session, actor_for(user), LOGIN_REFUSED, "user", str(user.id),
                         payload=context | {"kind": "disabled"})
            return SignIn()
    else:
        user = _provision(session, name, person, OIDC_HASH)
    _follow_directory(session, user, person)
    chain.append(session, actor_for(user), LOGIN_OK, "user", str(user.id),
                 payload=context | {"subject": person.subject})
    return SignIn(user=user)


def reauthenticate_oidc(session: Session, provider: OidcProvider, redirect_uri: str, params, pending: Pending | None,
                        user: User, *, secret_key: str) -> str | None:
    """Finish a re-authentication (``max_age=0``) of the signed-in ``user`` before their first
    signature; the proof the signing form carries, or None (refusals audited as signing refusals)."""
    try:
        person = provider.finish(redirect_uri, params, pending)
        if user.password_hash != OIDC_HASH or person.username != user.username:
            raise OidcRefused("other_person", f"the provider authenticated {person.username!r}")
    except (OidcUnavailable, OidcRefused) as exc:
        kind = f"oidc_{exc.kind}" if isinstance(exc, OidcRefused) else "directory_unavailable"
        chain.append(session, actor_for(user), REAUTH_REFUSED, "user", str(user.id),
                     payload={"kind": kind, "detail": str(exc)[:300]})
        return None
    chain.append(session, actor_for(user), REAUTH_OK, "user", str(user.id),
                 payload={"subject": person.subject, "auth_time": person.auth_time})
    return reauthentication_proof(secret_key, user.id, person)


def _follow_directory(session: Session, user: User, person) -> None:
    before = {"printed_name": user.printed_name, "email": user.email}
    after = {"printed_name": person.printed_name, "email": person.email}
    if before != after:
        user.printed_name, user.email = person.printed_name, person.email
        chain.append(session, SIGNIN, "user.directory_update", "user", str(user.id), before=before, after=after)
    roles = sorted(mapped_roles(session, person.groups))
    if roles != sorted(user.roles):
        set_roles(session, SIGNIN, user, roles, reason="group membership in the directory")


def record_logout(session: Session, user: User, reason: str) -> None:
    """Audit the end of a session (``logout`` or ``idle``)."""
    chain.append(session, actor_for(user), LOGOUT, "user", str(user.id), payload={"reason": reason})


def set_locale(session: Session, user: User, locale: str) -> None:
    """Store the user's interface language (audited: it is part of the user record)."""
    if user.locale == locale:
        return
    before = user.locale
    user.locale = locale
    session.flush()
    chain.append(session, actor_for(user), "user.set_locale", "user", str(user.id),
                 reason="changed by the user", before={"locale": before}, after={"locale": locale})


# A valid argon2id hash of a random string: verifying against it costs what a real check costs.
_DUMMY_HASH = ("$argon2id$v=19$m=19456,t=2,p=1$c2VhbHRyYWlsLWR1bW15$"
               "b3p9hMy3Qbp0d0DmY3W5yQkS1xJwC8Xn9b7m4sJ1c2Q")
