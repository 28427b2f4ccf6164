"""Production plans: the versions with their solver figures, and one plan as a Gantt chart per work
centre (server-side SVG) with every lot it could not place and why. Plans are computed and
released (signed) with ``sealtrail plan``."""
from __future__ import annotations

from flask import Blueprint, render_template, url_for
from markupsafe import Markup
from sqlalchemy import select

from engine.planning import plans
from engine.planning.gantt import gantt_svg
from engine.planning.models import ProductionPlan
from web.authz import blueprint_rule
from web.db import transaction

bp = Blueprint("planning", __name__, url_prefix="/planning")
blueprint_rule(bp, "planning")


@bp.get("/")
def index():
    with transaction() as s:
        rows = list(s.scalars(select(ProductionPlan).order_by(ProductionPlan.version.desc()).limit(50)))
        return render_template("planning/index.html", rows=rows, active_nav="planning")


@bp.get("/<int:version>")
def show(version: int):
    with transaction() as s:
        plan = plans.get_plan(s, version)
        late = frozenset(o.lot.lot_number for o in plan.operations if o.lateness_minutes)
        centres = sorted({o.work_centre for o in plan.operations})
        charts = [(wc, Markup(gantt_svg(wc, [o for o in plan.operations if o.work_centre == wc],
                                        start=plan.horizon_start, days=plan.horizon_days, timezone=plan.timezone,
                                        lot_href=lambda lot: url_for("lots.show", lot_number=lot),
                                        late_lots=late)))
                  for wc in centres]
        return render_template("planning/show.html", plan=plan, charts=charts,
                               blocked=plans.blockers_by_lot(plan), late=late, active_nav="planning")
