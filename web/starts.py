"""The "New" menu: start a process the user's roles may start (the role of its start lane), each
with its start form — a deviation (description, lot), a CAPA or a change request (their first task
opens), an audit-trail review (the period).
"""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from engine.errors import NotFound, SealtrailError, ValidationFailed
from engine.processes.audit_reviews import schedule
from engine.processes.deviations import open_deviation
from engine.users import actor_for, get_user
from engine.workflows.deploy import latest_version
from engine.workflows.instances import open_tasks, start_instance, start_lane
from web.authz import blueprint_rule
from web.db import transaction
from web.security import has_role

bp = Blueprint("starts", __name__, url_prefix="/new")
blueprint_rule(bp, "signed_in")
STARTABLE = {"deviation": _l("Deviation"), "capa": _l("CAPA"), "change_control": _l("Change request"),
             "audit_review": _l("Audit-trail review")}


def startable(s) -> list[str]:
    """Processes deployed here whose start lane is one of the user's roles (admin: all)."""
    out = []
    for process_id in STARTABLE:
        if latest_version(s, process_id) is None:
            continue
        lane = start_lane(s, process_id)
        if lane is None or has_role(lane):
            out.append(process_id)
    return out


@bp.get("/")
def index():
    with transaction() as s:
        return render_template("starts/index.html", processes=startable(s), labels=STARTABLE, values={},
                               errors={}, today=dt.date.today(), active_nav="starts")


def _allowed(s, process_id: str) -> None:
    if process_id not in STARTABLE:
        abort(404)
    if process_id not in startable(s):
        abort(403)


@bp.post("/<process_id>")
def start(process_id: str):
    form = request.form
    try:
        with transaction() as s:
            _allowed(s, process_id)
            user = get_user(s, current_user.id)
            instance_id = _start(s, process_id, user, actor_for(user), form)
            mine = [t for t in open_tasks(s, instance_id) if t.lane in user.roles or "admin" in user.roles]
            task_id = mine[0].id if mine else None
    except SealtrailError as exc:
        with transaction() as s:
            return render_template("starts/index.html", processes=startable(s), labels=STARTABLE,
                                   values={process_id: dict(form)}, errors={process_id: exc.message},
                                   today=dt.date.today(), active_nav="starts"), exc.status
    flash(_("Started: %(process)s.", process=STARTABLE[process_id]), "success")
    if task_id:
        return redirect(url_for("tasks.show", task_id=task_id))
    return redirect(url_for("instances.show", instance_id=instance_id))


def _start(s, process_id: str, user, actor, form) -> int:
    if process_id == "deviation":
        lot = (form.get("lot") or "").strip() or None
        try:
            dev = open_deviation(s, actor, lot=lot, source="user", description=(form.get("description") or ""))
        except NotFound as exc:
            raise ValidationFailed(exc.message, field="lot") from None
        return dev.process_instance_id
    if process_id == "audit_review":
        try:
            start = dt.date.fromisoformat(form.get("period_start") or "")
            end = dt.date.fromisoformat(form.get("period_end") or "")
        except ValueError:
            raise ValidationFailed(_("Enter the first and last day of the period."), field="period_start") from None
        utc = dt.timezone.utc
        review = schedule(s, actor, period_start=dt.datetime.combine(start, dt.time(), utc),
                          period_end=dt.datetime.combine(end, dt.time.max, utc), on_demand=True)
        return review.process_instance_id
    return start_instance(s, actor, process_id, data={}, user=user).id
