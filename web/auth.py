"""Sign-in (password, then TOTP), sign-out, first-login password change, TOTP enrolment, language."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, logout_user

from web.forms import LoginForm
from web.i18n import LANGUAGES
from web.login import public

bp = Blueprint("auth", __name__)


def safe_next(target: str | None) -> str | None:
    """``target`` if it is a path on this site, else None (no open redirects)."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") \
            or "\\" in target:
        return None
    return target


def login_page(form: LoginForm | None = None, status: int = 200):
    form = form or LoginForm(next=safe_next(request.args.get("next")) or "")
    return render_template("auth/login.html", form=form), status


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    if request.method == "GET":
        if current_user.is_authenticated:
            return redirect(url_for("home.index"))
        return login_page()
    from web.accounts import sign_in

    return sign_in()


def end_session(reason: str):
    """Sign out (audited), clear the session, and send the user to the sign-in page."""
    from web.accounts import record_sign_out

    if current_user.is_authenticated:
        record_sign_out(current_user, reason)
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


@bp.post("/logout")
def logout():
    return end_session(reason="logout")


@bp.post("/language")
@public
def language():
    locale = request.form.get("locale", "")
    if locale in LANGUAGES:
        session["locale"] = locale
        if current_user.is_authenticated:
            from web.accounts import set_locale

            set_locale(current_user, locale)
    return redirect(safe_next(request.form.get("next")) or url_for("home.index"))
