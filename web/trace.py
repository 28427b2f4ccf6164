"""Traceability pages: lot lookup (typed or scanned GS1), genealogy tree, recall simulation,
Device History Record (HTML and PDF), KPI dashboard with server-side SVG charts."""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, Response, abort, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup

from engine.errors import SealtrailError
from engine.trace import barcode
from engine.trace import dhr as dhr_data
from engine.trace import dhr_pdf as renderer
from engine.trace.unit_labels import render_labels_pdf, unit_labels
from engine.trace import genealogy, kpi_report
from web.authz import blueprint_rule
from web.db import transaction
from web.nav import NavItem, add_nav
from web import kpi_records
from web.trace_charts import dashboard_charts
from web import inspection_plans as sampling_text

bp = Blueprint("trace", __name__, url_prefix="/trace")
blueprint_rule(bp, "signed_in")


@bp.record_once
def _nav(state) -> None:
    add_nav(state.app, NavItem("trace.index", _l("Traceability"), key="trace", order=35))
    add_nav(state.app, NavItem("trace.kpi", _l("KPIs"), key="kpi", order=36))


def _timezone() -> str:
    return getattr(current_user, "timezone", None) or "UTC"


@bp.get("/")
def index():
    """Look a lot up (lot number or a scanned GS1 string) for its trace, recall or DHR."""
    text = (request.args.get("lot") or "").strip()
    action = request.args.get("action", "backward")
    error = None
    if text:
        try:
            with transaction() as session:
                lot = genealogy.get_lot(session, text)
        except SealtrailError as exc:
            error = exc.message
        else:
            if action == "recall":
                return redirect(url_for("trace.recall", lot=lot.lot_number))
            if action == "dhr":
                return redirect(url_for("trace.dhr", lot=lot.lot_number))
            return redirect(url_for("trace.lot", lot=lot.lot_number,
                                    direction="forward" if action == "forward" else None))
    return render_template("trace/index.html", active_nav="trace", text=text, error=error, action=action)


@bp.get("/lots/<path:lot>")
def lot(lot: str):
    """The genealogy tree of a lot, backward (components) or forward (where used)."""
    direction = "forward" if request.args.get("direction") == "forward" else "backward"
    with transaction() as session:
        result = genealogy.trace(session, genealogy.get_lot(session, lot), direction)
        return render_template("trace/tree.html", active_nav="trace", trace=result, tree=result.tree(),
                               direction=direction)


@bp.get("/recall")
def recall():
    """Recall simulation for a suspect lot."""
    text = (request.args.get("lot") or "").strip()
    if not text:
        return redirect(url_for("trace.index", action="recall"))
    with transaction() as session:
        sim = genealogy.simulate_recall(session, genealogy.get_lot(session, text))
        return render_template("trace/recall.html", active_nav="trace", sim=sim)


@bp.get("/dhr/<path:lot>")
def dhr(lot: str):
    """The Device History Record as a page."""
    with transaction() as session:
        record = dhr_data.build_dhr(session, genealogy.get_lot(session, lot), timezone=_timezone())
    symbol = Markup(barcode.svg([tuple(e) for e in record["udi"]["elements"]])) if record["udi"] else None
    return render_template("trace/dhr.html", active_nav="trace", r=record, symbol=symbol, sampling_text=sampling_text)


@bp.get("/dhr.pdf/<path:lot>")
def dhr_pdf(lot: str):
    """The Device History Record as a PDF download."""
    with transaction() as session:
        record = dhr_data.build_dhr(session, genealogy.get_lot(session, lot), timezone=_timezone())
    name = f"DHR-{record['lot']['lot_number']}.pdf".replace("/", "_")
    return Response(renderer.render_pdf(record), mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.get("/labels.pdf/<path:lot>")
def labels_pdf(lot: str):
    """The unit labels of a serialised lot (a GS1-128 UDI with each unit's serial) as a PDF."""
    with transaction() as session:
        target = genealogy.get_lot(session, lot)
        rows = unit_labels(session, target)
        number = target.lot_number
    name = f"labels-{number}.pdf".replace("/", "_")
    return Response(render_labels_pdf(rows, title=f"Unit labels {number}"), mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _period() -> tuple[dt.date, dt.date]:
    today = dt.datetime.now(dt.timezone.utc).date()
    try:
        start = dt.date.fromisoformat(request.args.get("from") or (today - dt.timedelta(days=90)).isoformat())
        end = dt.date.fromisoformat(request.args.get("to") or (today + dt.timedelta(days=1)).isoformat())
    except ValueError:
        abort(400)
    if end <= start:
        abort(400)
    return start, end


@bp.get("/kpi")
def kpi():
    """The KPI dashboard over a chosen period, with control charts for any measured parameter."""
    start, end = _period()
    utc = dt.timezone.utc
    with transaction() as session:
        report = kpi_report.kpi_report(session, dt.datetime.combine(start, dt.time(), utc),
                                       dt.datetime.combine(end, dt.time(), utc))
        param_id = request.args.get("parameter", type=int)
        if param_id is None and report["parameters"]:
            param_id = report["parameters"][0]["id"]
        chart = kpi_report.control_chart(session, param_id) if param_id else None
    charts = dashboard_charts(report, chart, lambda lot: url_for("trace.dhr", lot=lot))
    return render_template("trace/kpi.html", active_nav="kpi", report=report, chart=chart, charts=charts,
                           kpi_label=kpi_records.label,
                           start=start, end=end, param_id=param_id)


@bp.get("/kpi/records")
def kpi_records_list():
    """The records behind one dashboard figure (``section``, ``figure``, optional ``key``) over the period."""
    start, end = _period()
    section, name, key = (request.args.get(k, "")[:200] for k in ("section", "figure", "key"))
    utc = dt.timezone.utc
    with transaction() as session:
        report = kpi_report.kpi_report(session, dt.datetime.combine(start, dt.time(), utc),
                                       dt.datetime.combine(end, dt.time(), utc))
    figure = kpi_records.find_figure(report, section, name, key)
    if figure is None:
        abort(404)
    rows = [(r, kpi_records.record_link(section, r, name)) for r in figure["records"]]
    title = kpi_records.label(name) + (f" · {key}" if key else "")
    return render_template("trace/kpi_records.html", active_nav="kpi", figure=figure, rows=rows, title=title,
                           start=start, end=end)
