"""The start page: the sign-in form for visitors, the inbox for signed-in users."""
from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from flask_login import current_user

from web.auth import login_page
from web.login import public
from web.nav import visible_items

bp = Blueprint("home", __name__)


@bp.get("/")
@public
def index():
    if current_user.is_authenticated:
        if current_user.must_change_password:
            return redirect(url_for("auth.change_password"))
        if not current_user.totp_enrolled:
            return redirect(url_for("auth.enroll_totp"))
        items = visible_items()  # the inbox first; else the first area this user may use
        if items:
            return redirect(url_for(items[0].endpoint))
        return render_template("home.html")

    return login_page()

