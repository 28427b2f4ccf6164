"""Sign-in, sign-out, first-login password change, TOTP enrolment, language choice.

Sign-in is by password (argon2id); a user must change an administrator-set password and enrol
an authenticator (TOTP, shown as a QR code once) before using anything else. E-signatures then
ask for the password and a TOTP code on the session's first signature and the code afterwards
(21 CFR 11.200(a)(1)); the signing session opens at sign-in and ends at sign-out or idle time.
"""
from __future__ import annotations

import datetime as dt
import time
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from audit.enrollment import ACKNOWLEDGEMENT_TEXT, begin_enrollment, confirm_enrollment
from audit.errors import EnrollmentError, SignatureError
from audit.policy import SigningPolicy
from audit.models import SigningSession
from audit.signatures import end_signing_session, open_signing_session
from audit.signatures import needs_password as needs_session_password
from engine.errors import ValidationFailed
from engine.users import change_password as change_user_password
from engine.users import get_user, signin
from engine.users.directory import LdapDirectory, password_verifier
from engine.users.oidc import OidcProvider
from engine.users.models import UserSession
from engine.users.sessions import end_session as end_user_session
from engine.users.sessions import open_session
from web.authz import blueprint_rule
from web.db import sessions, settings, signing_transaction, transaction
from web.forms import ChangePasswordForm, EnrollForm, LoginForm
from web.i18n import LANGUAGES, local_dt
from web.login import SESSION_TOKEN, _load_user, limiter, public

bp = Blueprint("auth", __name__)
blueprint_rule(bp, "signed_in")  # login and language are @public


def safe_next(target: str | None) -> str | None:
    """``target`` if it is a path on this site, else None (no open redirects)."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") \
            or "\\" in target:
        return None
    return target


def signing_policy() -> SigningPolicy:
    oidc_secret = settings().secret_key if oidc_provider() is not None else None
    return SigningPolicy.from_settings(settings(), password_verifier=password_verifier(directory(), oidc_secret))


def oidc_provider() -> OidcProvider | None:
    """The installation's OpenID Connect provider (None when not configured)."""
    return OidcProvider.from_settings(settings())


def directory() -> LdapDirectory | None:
    """The installation's LDAP directory (None when sign-in is local only)."""
    return LdapDirectory.from_settings(settings())


def needs_password(s) -> bool:
    """True when the next signature of this browser session must include the password."""
    sid = session.get("signing_session_id")
    return needs_session_password(s.get(SigningSession, sid) if sid else None, signing_policy())


def login_policy() -> signin.LoginPolicy:
    cfg = current_app.config
    return signin.LoginPolicy(failures=cfg.get("LOGIN_LOCKOUT_FAILURES", 5),
                                window_seconds=cfg.get("LOGIN_LOCKOUT_WINDOW", 900),
                                lockout_seconds=cfg.get("LOGIN_LOCKOUT_SECONDS", 900))


def login_page(form: LoginForm | None = None, status: int = 200):
    form = form or LoginForm(next=safe_next(request.args.get("next")) or "")
    return render_template("auth/login.html", form=form, oidc=oidc_provider() is not None), status


def _login_rate() -> str:
    return current_app.config.get("LOGIN_RATE_LIMIT", "20 per minute")


@bp.route("/login", methods=["GET", "POST"])
@public
@limiter.limit(_login_rate, methods=["POST"])
def login():
    if request.method == "GET":
        if current_user.is_authenticated:
            return redirect(url_for("home.index"))
        return login_page()
    form = LoginForm()
    if not form.validate_on_submit():
        return login_page(form, 400)
    with transaction() as s:  # commits refusals too: every attempt is in the audit trail
        outcome = signin.authenticate(s, form.username.data, form.password.data,
                                        policy=login_policy(), remote_addr=request.remote_addr,
                                        directory=directory())
        if outcome.user is not None:
            signing_session_id = _open_signing_session(s, outcome.user)
            _row, token = open_session(s, outcome.user, remote_addr=request.remote_addr,
                                       user_agent=request.headers.get("User-Agent"))
            user_id, locale = outcome.user.id, outcome.user.locale
    if outcome.user is None:
        if outcome.locked_until is not None:
            form.password.errors = [_("Too many failed sign-ins. The account is locked until %(time)s.",
                                      time=local_dt(outcome.locked_until))]
        else:
            form.password.errors = [_("The user name or password is not correct.")]
        form.password.data = ""
        return login_page(form, 401)
    return signed_in(user_id, locale, signing_session_id, token, safe_next(form.next.data))


def signed_in(user_id: int, locale, signing_session_id: str, token: str, next_url: str | None):
    """Start the browser session of a user who just signed in (password, directory or provider)."""
    session.clear()  # no session fixation: a fresh session for the signed-in user
    session["locale"] = locale
    session["signing_session_id"] = signing_session_id
    session[SESSION_TOKEN] = token
    login_user(_loaded(user_id))
    return redirect(next_url or url_for("home.index"))


def _loaded(user_id: int):
    return _load_user(str(user_id))


def open_signing_session_for(s, user) -> str:
    """Open the signing session of a browser session that just signed in."""
    return _open_signing_session(s, user)


def _open_signing_session(s, user) -> str:
    return open_signing_session(s, user, policy=signing_policy())


def end_session(reason: str):
    """Sign out (audited), end the signing session, clear the session, go to the sign-in page."""
    if current_user.is_authenticated:
        with transaction() as s:
            user = get_user(s, current_user.id)
            signin.record_logout(s, user, reason)
            if session.get("signing_session_id"):
                end_signing_session(s, session["signing_session_id"], reason=reason)
            row = s.get(UserSession, current_user.session_id) if current_user.session_id else None
            if row is not None:
                end_user_session(s, row, reason)  # a copy of the cookie is worthless from now on
    logout_user()
    locale = session.get("locale")
    session.clear()
    if locale:
        session["locale"] = locale
    if reason == "idle":
        flash(_("Your session was idle for too long and has been closed. Please sign in again."), "warning")
    else:
        flash(_("You have signed out."), "info")
    return redirect(url_for("auth.login"))


def idle_timeout():
    """Sign out a session idle for longer than ``session_idle_seconds`` (Part 11 §11.300)."""
    # Probes never load the user: liveness must answer while the database is down.
    if request.path.startswith("/static/") or request.path in ("/healthz", "/readyz") \
            or not current_user.is_authenticated:
        return None
    now = int(time.time())
    limit = current_app.extensions["sealtrail.settings"].session_idle_seconds
    last = session.get("last_seen")
    if last is not None and now - int(last) > limit:
        return end_session(reason="idle")
    session["last_seen"] = now
    return None


@bp.post("/logout")
def logout():
    return end_session(reason="logout")


@bp.route("/account/password", methods=["GET", "POST"])
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            with transaction() as s:
                change_user_password(s, get_user(s, current_user.id), current_password=form.current.data,
                                     new_password=form.new.data, keep_session_id=current_user.session_id)
        except ValidationFailed as exc:
            target = form.current if exc.field == "current_password" else form.new
            target.errors = [_translate_password_error(exc)]
        else:
            flash(_("Your password has been changed."), "success")
            return redirect(url_for("home.index"))
    status = 200 if request.method == "GET" or not form.errors else 422
    return render_template("auth/change_password.html", form=form,
                           forced=current_user.must_change_password), status


def _translate_password_error(exc: ValidationFailed) -> str:
    if exc.field == "current_password":
        return _("The current password is not correct.")
    if "differ" in exc.message:
        return _("The new password must differ from the current one.")
    return _("The new password is too weak: at least 10 characters, at least 4 different characters, "
             "no leading or trailing spaces.")


@bp.route("/account/authenticator", methods=["GET", "POST"])
def enroll_totp():
    """Enrol an authenticator: show the secret once (QR + text), confirm with password + code."""
    if current_user.totp_enrolled:
        flash(_("Your authenticator is already set up."), "info")
        return redirect(url_for("home.index"))
    form = EnrollForm()
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                with signing_transaction(sessions(), signing_policy()) as s:
                    confirm_enrollment(s, get_user(s, current_user.id), int(form.credential_id.data),
                                       password=form.password.data, code=form.code.data.strip(),
                                       policy=signing_policy(),
                                       signing_session_id=session.get("signing_session_id"))
            except EnrollmentError as exc:
                flash(_("This set-up has expired or was replaced. Scan the new code below."), "warning")
                current_app.logger.info("enrollment restarted: %s", exc)
                return redirect(url_for("auth.enroll_totp"))
            except SignatureError as exc:
                form.code.errors = [signature_error_text(exc)]
            else:
                flash(_("Your authenticator is set up. You can now sign records electronically."), "success")
                return redirect(url_for("home.index"))
        # The secret is shown only once: a retry uses the app already set up (or starts over).
        form.code.data = ""
        form.password.data = ""
        return render_template("auth/enroll.html", form=form, enrollment=None, problem=None,
                               acknowledgement=ACKNOWLEDGEMENT_TEXT), 422
    if current_user.oidc and not session.get("oidc_reauth_proof"):  # web.oidc: re-authenticate first
        return render_template("auth/enroll.html", form=None, enrollment=None, problem=None, acknowledgement=None,
                               reauthenticate=True)
    try:
        with transaction() as s:
            enrollment = begin_enrollment(s, get_user(s, current_user.id), policy=signing_policy())
    except SignatureError as exc:
        return render_template("auth/enroll.html", form=None, enrollment=None,
                               problem=signature_error_text(exc), acknowledgement=None), 409
    form.credential_id.data = str(enrollment.credential_id)
    return render_template("auth/enroll.html", form=form, enrollment=enrollment, problem=None,
                           acknowledgement=ACKNOWLEDGEMENT_TEXT)


def signature_error_text(exc: SignatureError) -> str:
    """A refused signing/enrolment step in the user's language (the code names the reason)."""
    texts = {
        "wrong_password": _("The password is not correct. Nothing was signed."),
        "wrong_code": _("The authenticator code is not correct. Nothing was signed."),
        "replayed_code": _("This authenticator code was already used. Wait for the next code and try again. "
                           "Nothing was signed."),
        "locked": _("Signing is locked after repeated failed attempts. Security has been notified. "
                    "Nothing was signed."),
        "user_disabled": _("This user account is disabled and cannot sign."),
        "session_expired": _("The signing session has ended. Sign again with your password and "
                             "authenticator code."),
        "password_required": _("The first signature of a session needs your password and authenticator code. "
                               "Nothing was signed."),
        "not_enrolled": _("Set up your authenticator before signing."),
    }
    text = texts.get(getattr(exc, "code", ""))
    if text is None:
        return str(exc)
    if getattr(exc, "code", "") == "locked" and getattr(exc, "until", None):
        text += " " + _("Locked until %(time)s.", time=local_dt(dt.datetime.fromisoformat(
            exc.until.replace("Z", "+00:00"))))
    return text


@bp.post("/language")
@public
def language():
    locale = request.form.get("locale", "")
    if locale in LANGUAGES:
        session["locale"] = locale
        if current_user.is_authenticated:
            with transaction() as s:
                signin.set_locale(s, get_user(s, current_user.id), locale)
    return redirect(safe_next(request.form.get("next")) or url_for("home.index"))
