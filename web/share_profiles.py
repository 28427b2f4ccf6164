"""Sharing profiles (#18): the released revision of each profile, its history and open draft; a
draft is saved (checked by the profile parser, audited) and proposed for release through change
control under the proposer's signature. The rules are engine.governance.profile_revisions' and
engine.processes.profile_changes'; ``sealtrail share profile-*`` does the same from the CLI."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user

from audit.errors import SignatureError
from engine.errors import SealtrailError
from engine.governance import profile_revisions
from engine.processes.profile_changes import route_profile
from engine.users import get_user
from engine.users.accounts import actor_for
from web.auth import needs_password, signature_error_text, signing_policy
from web.authz import blueprint_rule, rule
from web.db import sessions, signing_transaction, transaction
from web.i18n import meaning_label, utc_dt

bp = Blueprint("share_profiles", __name__, url_prefix="/sharing/profiles")
blueprint_rule(bp, "share_profiles")
MAX_CONTENT = profile_revisions.MAX_CONTENT_CHARS


def _index(form: dict | None = None, error: str | None = None, status: int = 200):
    with transaction() as s:
        rows = [(name, profile_revisions.find_released(s, name), profile_revisions.open_revision(s, name),
                 len(profile_revisions.bound_tokens(s, name))) for name in profile_revisions.all_names(s)]
        return render_template("share_profiles/index.html", rows=rows, form=form or {}, error=error,
                               max_content=MAX_CONTENT, active_nav="admin"), status


@bp.get("/")
def index():
    return _index()


def _detail(name: str, *, form: dict | None = None, error: str | None = None, sign_error: str | None = None,
            status: int = 200):
    with transaction() as s:
        revisions = profile_revisions.history(s, name)
        if not revisions:
            abort(404)
        released = profile_revisions.find_released(s, name)
        draft = profile_revisions.open_revision(s, name)
        sign = {"id": "sign-profile", "meaning_label": meaning_label("approved"),
                "printed_name": current_user.printed_name, "username": current_user.username,
                "needs_password": needs_password(s), "error": sign_error, "open": bool(sign_error),
                "now_utc": utc_dt(signing_policy().clock()), "record": None,
                "submit_label": _("Sign and submit")}
        return render_template(
            "share_profiles/show.html", name=name, revisions=revisions, released=released, draft=draft,
            diff=profile_revisions.text_diff(s, draft) if draft else [],
            changes=profile_revisions.table_changes(s, draft) if draft else [],
            tokens=profile_revisions.bound_tokens(s, name), form=form or {}, error=error, sign=sign,
            max_content=MAX_CONTENT, active_nav="admin"), status


@bp.get("/<name>")
def show(name: str):
    return _detail(name)


@bp.post("/draft")
@rule("share_profiles.edit")
def save():
    """Save a profile's draft (a new profile, the next revision, or the open draft)."""
    form = {"name": (request.form.get("name") or "").strip()[:40],
            "content": (request.form.get("content") or "")[:MAX_CONTENT + 1].replace("\r\n", "\n"),
            "reason": (request.form.get("reason") or "").strip()[:2000]}
    try:
        with transaction() as s:
            rev = profile_revisions.save_draft(s, actor_for(get_user(s, current_user.id)), form["name"],
                                               form["content"], reason=form["reason"])
            label = rev.describe()
    except SealtrailError as exc:
        if form["name"] and _has_history(form["name"]):
            return _detail(form["name"], form=form, error=exc.message, status=exc.status)
        return _index(form, exc.message, exc.status)
    flash(_("%(revision)s saved as a draft. It is used only once a change request releases it.",
            revision=label), "success")
    return redirect(url_for("share_profiles.show", name=form["name"]))


def _has_history(name: str) -> bool:
    with transaction() as s:
        return bool(profile_revisions.history(s, name))


@bp.post("/<name>/submit")
@rule("share_profiles.submit")
def submit(name: str):
    """Open a change request proposing the draft for release, signed by the proposer."""
    comment = (request.form.get("comment") or "").strip()[:2000]
    if not comment:
        return _detail(name, form={"comment": comment}, error=_("Say what changes for the recipients and why."),
                       status=422)
    try:
        with signing_transaction(sessions(), signing_policy()) as s:
            change = route_profile(s, get_user(s, current_user.id), name, comment=comment,
                                   password=request.form.get("password") or None,
                                   totp_code=(request.form.get("totp_code") or "").strip(), policy=signing_policy(),
                                   signing_session_id=session.get("signing_session_id"))
            number = change.number
    except SignatureError as exc:
        return _detail(name, form={"comment": comment}, sign_error=signature_error_text(exc), status=422)
    except SealtrailError as exc:
        return _detail(name, form={"comment": comment}, error=exc.message, status=exc.status)
    flash(_("Change request %(change)s opened: the draft is released when the change is implemented.",
            change=number), "success")
    return redirect(url_for("share_profiles.show", name=name))
