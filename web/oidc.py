"""Sign-in with an OpenID Connect provider, and the re-authentication before a first signature.

``/login/oidc`` sends the browser to the provider (authorization code + PKCE); the provider sends it
back to ``/login/oidc/callback``, where engine.users.signin decides (provisioning, roles from the
group mapping, refusals — all audited). ``/account/reauthenticate`` asks the provider for a fresh
authentication (``max_age=0``) before the first signature of a signing session; the callback then
gives the sign dialog a short-lived proof that, with the authenticator code, signs (Part 11
§11.200(a)(1): never a session cookie alone). Without ``SEALTRAIL_OIDC_ISSUER`` these pages are 404.
"""
from __future__ import annotations

import time

from flask import Blueprint, abort, flash, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user

from engine.users import get_user, signin
from engine.users.oidc import OidcUnavailable, Pending
from engine.users.sessions import open_session
from web.authz import blueprint_rule
from web.auth import (login_page, login_policy, oidc_provider, open_signing_session_for, safe_next, signed_in)
from web.db import settings, transaction
from web.login import limiter, public

bp = Blueprint("oidc", __name__)
blueprint_rule(bp, "signed_in")  # the sign-in start and the provider's callback are @public
PENDING = "oidc_pending"
PROOF = "oidc_reauth_proof"


def _provider():
    provider = oidc_provider()
    if provider is None:
        abort(404)
    return provider


def _callback_url() -> str:
    return url_for("oidc.callback", _external=True)


def _begin(purpose: str, next_url: str, login_hint: str | None = None):
    try:
        url, pending = _provider().begin(_callback_url(), purpose=purpose, now=int(time.time()),
                                         next_url=next_url, login_hint=login_hint)
    except OidcUnavailable:
        flash(_("The sign-in provider cannot be reached. Try again later."), "danger")
        return redirect(url_for("auth.login") if purpose == "signin" else (next_url or url_for("home.index")))
    session[PENDING] = pending.as_dict()
    return redirect(url)


@bp.get("/login/oidc")
@public
@limiter.limit("20 per minute")
def start():
    """Send the visitor to the provider to sign in."""
    _provider()
    return _begin("signin", safe_next(request.args.get("next")) or "")


@bp.get("/account/reauthenticate")
def reauthenticate():
    """Before the first signature of a session: authenticate again at the provider (max_age=0)."""
    _provider()
    return _begin("reauth", safe_next(request.args.get("next")) or "", login_hint=current_user.username)


@bp.get("/login/oidc/callback")
@public
@limiter.limit("20 per minute")
def callback():
    """Where the provider sends the browser back (both for sign-in and re-authentication)."""
    provider = _provider()
    pending = Pending.from_dict(session.pop(PENDING, None) or {})
    if pending is not None and pending.purpose == "reauth":
        return _reauthenticated(provider, pending)
    with transaction() as s:  # commits refusals too: every attempt is in the audit trail
        outcome = signin.authenticate_oidc(s, provider, _callback_url(), request.args, pending,
                                           policy=login_policy(), remote_addr=request.remote_addr)
        if outcome.user is not None:
            signing_session_id = open_signing_session_for(s, outcome.user)
            _row, token = open_session(s, outcome.user, remote_addr=request.remote_addr,
                                       user_agent=request.headers.get("User-Agent"))
            user_id, locale = outcome.user.id, outcome.user.locale
    if outcome.user is None:
        flash(_("The sign-in provider did not sign you in. Try again, or ask an administrator."), "danger")
        return login_page(status=401)
    return signed_in(user_id, locale, signing_session_id, token, safe_next(pending.next_url))


def _reauthenticated(provider, pending: Pending):
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    with transaction() as s:
        proof = signin.reauthenticate_oidc(s, provider, _callback_url(), request.args, pending,
                                           get_user(s, current_user.id), secret_key=settings().secret_key)
    if proof is None:
        flash(_("The sign-in provider did not confirm it is you. Nothing was signed."), "danger")
    else:
        session[PROOF] = proof
        flash(_("You have signed in again at the provider. Enter your authenticator code to sign."), "info")
    return redirect(safe_next(pending.next_url) or url_for("home.index"))


@bp.app_context_processor
def _sign_dialog_helpers():
    return {"oidc_reauth_proof": reauthentication_proof}


def reauthentication_proof() -> str | None:
    """The proof the sign dialog carries after a re-authentication at the provider (or None)."""
    return session.get(PROOF)
