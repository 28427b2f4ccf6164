"""Lots: list and detail (status, operations, measurements against their limits, genealogy,
inspections, and the signatures and audit entries recorded against the lot)."""
from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from sqlalchemy import select

from audit.models import AuditEntry, Signature
from engine.db import utcnow
from engine.planning.forecasts import predicted_release
from engine.production.models import InspectionResult, Lot, MaterialConsumption, ParameterMeasurement
from web.authz import blueprint_rule
from web.db import transaction
from web.pagination import page_number, paginate

bp = Blueprint("lots", __name__, url_prefix="/lots")
blueprint_rule(bp, "signed_in")


@bp.get("/")
def index():
    args = {"q": (request.args.get("q") or "").strip()[:64], "status": (request.args.get("status") or "")[:16]}
    query = select(Lot)
    if args["q"]:
        query = query.where(Lot.lot_number.ilike(f"%{args['q']}%"))
    if args["status"]:
        query = query.where(Lot.status == args["status"])
    with transaction() as s:
        page = paginate(s, query.order_by(Lot.created_at.desc(), Lot.id.desc()), page_number(request.args.get("page")))
        statuses = sorted(s.scalars(select(Lot.status).distinct()))
        return render_template("lots/index.html", page=page, args=args, statuses=statuses, active_nav="lots")


def judge(m: ParameterMeasurement) -> str:
    """``ok``, ``warn`` (outside control limits) or ``bad`` (outside specification)."""
    p, v = m.parameter, m.value
    if m.in_spec is False or (p.lsl is not None and v < p.lsl) or (p.usl is not None and v > p.usl):
        return "bad"
    if (p.lcl is not None and v < p.lcl) or (p.ucl is not None and v > p.ucl):
        return "warn"
    return "ok"


@bp.get("/<lot_number>")
def show(lot_number: str):
    with transaction() as s:
        lot = s.scalars(select(Lot).where(Lot.lot_number == lot_number)).first()
        if lot is None:
            abort(404)
        measurements = list(s.scalars(select(ParameterMeasurement).where(ParameterMeasurement.lot_id == lot.id)
                                      .order_by(ParameterMeasurement.measured_at, ParameterMeasurement.id)))
        superseded = {m.supersedes_id for m in measurements if m.supersedes_id}
        inspections = list(s.scalars(select(InspectionResult).where(InspectionResult.lot_id == lot.id)))
        used_in = list(s.scalars(select(MaterialConsumption).where(MaterialConsumption.component_lot_id == lot.id)))
        keys = {lot.lot_number, str(lot.id)}
        entries = list(s.scalars(select(AuditEntry).where(AuditEntry.object_type == "lot",
                                                          AuditEntry.object_id.in_(keys))
                                 .order_by(AuditEntry.seq)))
        signatures = list(s.scalars(select(Signature).where(Signature.record_type == "lot",
                                                            Signature.record_id.in_(keys))))
        return render_template("lots/show.html", lot=lot, measurements=measurements, superseded=superseded,
                               judge=judge, inspections=inspections, used_in=used_in, entries=entries,
                               signatures=signatures, release=predicted_release(s, lot, utcnow()),
                               active_nav="lots")
