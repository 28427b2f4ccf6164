"""The start page: the sign-in form for visitors, the inbox for signed-in users."""
from __future__ import annotations

from flask import Blueprint, redirect, url_for
from flask_login import current_user

from web.login import public

bp = Blueprint("home", __name__)


@bp.get("/")
@public
def index():
    if current_user.is_authenticated:
        return redirect(url_for("inbox.index"))
    from web.auth import login_page

    return login_page()

