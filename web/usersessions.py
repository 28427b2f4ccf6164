"""A user's own signed-in sessions: where they are signed in, and ending the others."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from engine.users import actor_for, get_user
from engine.users.sessions import end_other_session, end_user_sessions, live_sessions
from web.authz import blueprint_rule
from web.db import transaction

bp = Blueprint("usersessions", __name__, url_prefix="/account/sessions")
blueprint_rule(bp, "signed_in")  # each user sees and ends only their own sessions


@bp.get("/")
def index():
    with transaction() as s:
        rows = live_sessions(s, current_user.id)
        return render_template("auth/sessions.html", rows=rows, current_id=current_user.session_id)


@bp.post("/end-others")
def end_others():
    with transaction() as s:
        user = get_user(s, current_user.id)
        ended = end_user_sessions(s, actor_for(user), user.id, "ended_by_user", keep_id=current_user.session_id)
    flash(_("Signed out of %(count)s other session(s).", count=ended), "success")
    return redirect(url_for("usersessions.index"))


@bp.post("/<int:session_id>/end")
def end_one(session_id: int):
    if session_id == current_user.session_id:
        flash(_("Use “Sign out” to end this session."), "info")
        return redirect(url_for("usersessions.index"))
    with transaction() as s:
        user = get_user(s, current_user.id)
        ended = end_other_session(s, actor_for(user), user.id, session_id)
    flash(_("The session has been ended.") if ended else _("That session had already ended."),
          "success" if ended else "info")
    return redirect(url_for("usersessions.index"))
