"""Flask-Login wiring, the sign-in guard on every page, and the login rate limiter.

Every view requires a signed-in user unless it is marked :func:`public`. The JSON API under
``/api/`` authenticates its own clients (tokens) and is not redirected to the sign-in page.
Users who must change their password or enrol TOTP are held on those pages until they do.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app, redirect, request, session, url_for
from flask_babel import lazy_gettext as _l
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, UserMixin, current_user

from audit.signatures import active_credential
from engine.users.models import User
from engine.users.oidc import OIDC_HASH
from engine.users.sessions import find_live_session, touch
from web.authz import is_public
from web.db import transaction

login_manager = LoginManager()
limiter = Limiter(key_func=get_remote_address, default_limits=[])

# The key of the server-side session's token in the (signed) cookie session.
SESSION_TOKEN = "sid"

# Endpoints a user with a pending first-login step may still reach.
_ONBOARDING = {"auth.change_password", "auth.enroll_totp", "auth.logout", "auth.language",
               "oidc.reauthenticate", "static"}


def public(view):
    """Mark a view as reachable without signing in (its authorization rule is ``public``)."""
    view.access_rule = "public"
    return view


@dataclass
class SignedInUser(UserMixin):
    """What a request knows about its user (loaded once per request from ``users``)."""

    id: int
    username: str
    printed_name: str
    role_names: frozenset[str]
    locale: str | None
    timezone: str | None
    must_change_password: bool
    totp_enrolled: bool
    session_id: int | None = None  # the live row of engine.users.sessions
    oidc: bool = False  # signs in (and re-authenticates before signing) at the OpenID Connect provider

    def get_id(self) -> str:
        return str(self.id)

    @property
    def roles(self) -> frozenset[str]:
        """The role names (the name ``engine.users.User`` uses: engine rules take either)."""
        return self.role_names

    @property
    def is_admin(self) -> bool:
        return "admin" in self.role_names


def _load_user(user_id: str) -> SignedInUser | None:
    """The request's user: None when unknown or disabled, or when the cookie's server-side session
    (engine.users.sessions) was ended — sign-out, password change, lockout, role change."""
    try:
        key = int(user_id)
    except ValueError:
        return None
    with transaction() as s:
        live = find_live_session(s, session.get(SESSION_TOKEN), key)
        user = s.get(User, key) if live is not None else None
        if user is None or not user.active:
            return None
        touch(s, live)  # last seen, at most once a minute
        return SignedInUser(id=user.id, username=user.username, printed_name=user.printed_name,
                            role_names=frozenset(user.roles), locale=user.locale, timezone=user.timezone,
                            must_change_password=bool(user.must_change_password),
                            totp_enrolled=active_credential(s, str(user.id)) is not None,
                            session_id=live.id, oidc=user.password_hash == OIDC_HASH)


def _guard():
    if request.endpoint is None or request.path.startswith("/api/"):
        return None
    if is_public(current_app, request.endpoint):
        return None
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if request.endpoint in _ONBOARDING:
        return None
    if current_user.must_change_password:
        return redirect(url_for("auth.change_password"))
    if not current_user.totp_enrolled:
        return redirect(url_for("auth.enroll_totp"))
    return None


def init_login(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please sign in to continue.")
    login_manager.session_protection = "strong"
    login_manager.user_loader(_load_user)
    limiter.init_app(app)
    app.before_request(_guard)
