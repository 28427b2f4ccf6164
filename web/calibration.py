"""Calibration and maintenance: each piece of equipment with its plan, its log, and a form to record
an event (pass/fail, certificate, as-found/as-left). A failed calibration opens the deviation over
the lots measured with the equipment since its last pass (engine.processes.calibration_failures).
"""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import get_timezone
from flask_login import current_user
from sqlalchemy import select

from engine.errors import SealtrailError, ValidationFailed
from engine.masterdata.models import Equipment
from engine.processes.calibration_failures import record_equipment_event
from engine.production import floor
from engine.production.models import EQUIPMENT_LOG_KINDS
from engine.users import actor_for, duties, get_user
from web.authz import blueprint_rule
from web.db import transaction
from web.security import role_required

bp = Blueprint("calibration", __name__, url_prefix="/calibration")
blueprint_rule(bp, "equipment.log")


@bp.get("/")
@role_required(*duties.LOG_EQUIPMENT)
def index():
    with transaction() as s:
        rows = list(s.scalars(select(Equipment).where(Equipment.status != "obsolete").order_by(Equipment.code)))
        return render_template("calibration/index.html", rows=rows, today=dt.date.today(), active_nav="calibration")


def _page(s, code: str, *, values: dict | None = None, errors: dict | None = None, outcome: dict | None = None,
          status: int = 200):
    eq = floor.get_equipment(s, code)
    return render_template("calibration/show.html", eq=eq, logs=list(reversed(eq.logs))[:50], kinds=EQUIPMENT_LOG_KINDS,
                           values=values or {}, errors=errors or {}, outcome=outcome, today=dt.date.today(),
                           active_nav="calibration"), status


@bp.get("/<code>")
@role_required(*duties.LOG_EQUIPMENT)
def show(code: str):
    with transaction() as s:
        return _page(s, code)


def _performed_at(form) -> dt.datetime:
    """The date and time entered, in the user's time zone, as UTC."""
    try:
        day = dt.date.fromisoformat((form.get("performed_on") or "").strip())
        clock = dt.time.fromisoformat((form.get("performed_time") or "").strip() or "00:00")
    except ValueError:
        raise ValidationFailed(_("Enter the date and time it was done."), field="performed_on") from None
    local = dt.datetime.combine(day, clock, tzinfo=ZoneInfo(str(get_timezone())))
    return local.astimezone(dt.timezone.utc)


@bp.post("/<code>")
@role_required(*duties.LOG_EQUIPMENT)
def record(code: str):
    form = request.form
    try:
        with transaction() as s:
            outcome = record_equipment_event(
                s, actor_for(get_user(s, current_user.id)), floor.get_equipment(s, code),
                kind=form.get("kind") or "", result=form.get("result") or "n/a",
                performed_at=_performed_at(form), performed_by=(form.get("performed_by") or "").strip(),
                certificate_ref=(form.get("certificate_ref") or "").strip(),
                description=(form.get("description") or "").strip(), as_found=form.get("as_found") or "",
                as_left=form.get("as_left") or "").as_dict()
    except SealtrailError as exc:
        with transaction() as s:
            return _page(s, code, values=dict(form), errors={exc.field or "kind": exc.message},
                         status=exc.status)
    if outcome["deviation"]:
        flash(_("Calibration failed: deviation %(number)s opened for %(n)s lot(s).",
                number=outcome["deviation"]["number"], n=len(outcome["deviation"]["lots"])), "error")
        with transaction() as s:
            return _page(s, code, outcome=outcome)
    flash(_("Recorded."), "success")
    return redirect(url_for("calibration.show", code=code))
