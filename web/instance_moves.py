"""Moving a process's running instances to another deployed version (#14), from the editor's
version list: a dry-run report of every running or waiting instance on another version (can
move, or cannot and why), then one signed bulk move of those that can (engine.workflows.migration:
one signature, meaning approved, over the before/after summary; an audit entry per instance)."""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user

from audit.errors import SignatureError
from engine.errors import SealtrailError
from engine.users import get_user
from engine.workflows.deploy import list_versions
from engine.workflows.migration import migrate_instances, plan_bulk_migration
from web.auth import needs_password, signature_error_text, signing_policy
from web.authz import blueprint_rule
from web.db import sessions, signing_transaction, transaction
from web.i18n import meaning_label, utc_dt

bp = Blueprint("moves", __name__, url_prefix="/editor/moves")
blueprint_rule(bp, "bpmn.migrate")
MEANING = "approved"


def _target(s, process_id: str):
    versions = list_versions(s, process_id)
    if not versions:
        abort(404)
    raw = request.values.get("to", "")
    if not raw:
        return versions, versions[0].version
    try:
        number = int(raw)
    except ValueError:
        abort(400)
    if not any(v.version == number for v in versions):
        abort(404)
    return versions, number


def _page(process_id: str, *, reason: str = "", sign_error: str | None = None, error: str | None = None,
          status: int = 200):
    with transaction() as s:
        versions, number = _target(s, process_id)
        plans = plan_bulk_migration(s, process_id, number)
        sign = {"id": "sign-move", "meaning_label": meaning_label(MEANING), "printed_name": current_user.printed_name,
                "username": current_user.username, "needs_password": needs_password(s), "error": sign_error,
                "open": bool(sign_error), "now_utc": utc_dt(dt.datetime.now(dt.timezone.utc)), "record": None,
                "submit_label": _("Sign and move")}
        return render_template("instance_moves/show.html", process_id=process_id, versions=versions, target=number,
                               plans=plans, movable=[p for p in plans if p.ok], reason=reason, sign=sign,
                               error=error, active_nav="editor"), status


@bp.get("/<process_id>")
def show(process_id: str):
    """The dry run: which running instances can move to the chosen version, which cannot and why."""
    return _page(process_id)


@bp.post("/<process_id>")
def move(process_id: str):
    """Move the instances the dry run found movable, under one signature."""
    reason = (request.form.get("reason") or "").strip()
    if not reason:
        return _page(process_id, error=_("Say why the instances move: the reason is required."), status=422)
    try:
        with signing_transaction(sessions(), signing_policy()) as s:
            _versions, number = _target(s, process_id)
            movable = [p.instance_id for p in plan_bulk_migration(s, process_id, number) if p.ok]
            if not movable:
                return _page(process_id, reason=reason, error=_("No instance can move."), status=422)
            plans = migrate_instances(s, user=get_user(s, current_user.id), instance_ids=movable,
                                      target_version=number, reason=reason, policy=signing_policy(),
                                      password=request.form.get("password") or None,
                                      totp_code=(request.form.get("totp_code") or "").strip(),
                                      signing_session_id=session.get("signing_session_id"))
            moved = sum(1 for p in plans if p.ok)
    except SignatureError as exc:
        return _page(process_id, reason=reason, sign_error=signature_error_text(exc), status=422)
    except SealtrailError as exc:
        return _page(process_id, reason=reason, error=exc.message, status=exc.status)
    flash(_("Moved %(n)s instance(s) to version %(v)s.", n=moved, v=number), "success")
    return redirect(url_for("moves.show", process_id=process_id, to=number))
