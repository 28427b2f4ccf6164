"""Serialised components at the line (#18): scan a finished unit's UDI, then the (01)+(21) of each
serialised component fitted into it; or record the serials that came with a component lot. Each
write is one transaction with its audit entry (engine.trace.component_serials); a refusal names
the serial and the reason, and nothing of the scan is kept.
"""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from engine.errors import SealtrailError, ValidationFailed
from engine.trace import component_serials, genealogy, serials
from engine.users import actor_for, duties, get_user
from web.authz import blueprint_rule
from web.db import transaction
from web.security import role_required

bp = Blueprint("unit_station", __name__, url_prefix="/floor/units")
blueprint_rule(bp, "floor.serials")
RUNNERS = duties.RUN_OPERATIONS
MAX_LINES = component_serials.MAX_FIT


def _lines(text: str | None) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def _page(s, *, values=None, errors=None, fitted=None, status: int = 200):
    unit = None
    scan = (values or {}).get("unit") or request.args.get("unit") or ""
    if fitted is None and scan and not errors:
        try:
            hit = serials.find_serial(s, scan)
        except ValidationFailed:
            hit = None
        if hit is not None:
            fitted = component_serials.components_of(s, [hit.serial.id]).get(hit.serial.id, [])
            unit = {"serial": hit.serial.serial, "lot": hit.lot.lot_number, "item": hit.lot.item.code}
    return render_template("station/units.html", values=values or {"unit": scan}, errors=errors or {},
                           unit=unit, fitted=fitted or [], max_lines=MAX_LINES, active_nav="station"), status


@bp.get("/")
@role_required(*RUNNERS)
def index():
    with transaction() as s:
        return _page(s)


@bp.post("/components")
@role_required(*RUNNERS)
def fit():
    """Record the scanned component serials as fitted into the scanned unit, all or none."""
    unit_scan = (request.form.get("unit") or "").strip()[:200]
    scans = _lines(request.form.get("components"))[:MAX_LINES + 1]
    values = {"unit": unit_scan, "components": "\n".join(scans)}
    try:
        if not unit_scan:
            raise ValidationFailed(_("Scan the unit's UDI first."), field="unit")
        if not scans:
            raise ValidationFailed(_("Scan at least one component serial."), field="components")
        with transaction() as s:
            unit, rows = component_serials.fit_components(s, actor_for(get_user(s, current_user.id)), unit_scan, scans)
            number, lot_number = unit.serial.serial, unit.lot.lot_number
    except SealtrailError as exc:
        field = exc.field if exc.field in ("unit", "components") else ("unit" if exc.field == "scan" and
                                                                           not scans else "components")
        with transaction() as s:
            return _page(s, values=values, errors={field: exc.message}, status=exc.status)
    flash(_("%(n)s component serial(s) fitted into unit %(unit)s of lot %(lot)s.", n=len(scans), unit=number,
            lot=lot_number), "success")
    return redirect(url_for("unit_station.index", unit=unit_scan))


@bp.post("/receive")
@role_required(*RUNNERS)
def receive():
    """Record the serials that came with a serialised component's lot."""
    lot_text = (request.form.get("lot") or "").strip()[:200]
    wanted = _lines(request.form.get("serials"))[:serials.MAX_PER_CALL + 1]
    values = {"lot": lot_text, "serials": "\n".join(wanted[:200])}
    try:
        if not lot_text:
            raise ValidationFailed(_("Scan or enter the component lot."), field="lot")
        with transaction() as s:
            lot = genealogy.get_lot(s, lot_text)
            rows = component_serials.receive_component_serials(s, actor_for(get_user(s, current_user.id)), lot,
                                                               wanted)
            number, count = lot.lot_number, len(rows)
    except SealtrailError as exc:
        field = exc.field if exc.field in ("lot", "serials") else "serials"
        with transaction() as s:
            return _page(s, values=values, errors={field: exc.message}, status=exc.status)
    flash(_("%(n)s serial(s) recorded with lot %(lot)s.", n=count, lot=number), "success")
    return redirect(url_for("unit_station.index"))
