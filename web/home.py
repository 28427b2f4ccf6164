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
        items = visible_items()  # the inbox when the user may use it; else the first area they may use
        landing = next((i for i in items if i.endpoint == "inbox.index"), items[0] if items else None)
        if landing is not None:
            return redirect(url_for(landing.endpoint))
        return render_template("home.html")

    return login_page()

