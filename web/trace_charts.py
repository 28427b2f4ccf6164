"""The dashboard's SVG charts, built from the KPI report (engine.trace.svg draws them)."""
from __future__ import annotations

from flask_babel import gettext as _
from markupsafe import Markup

from engine.trace import svg
from web.i18n import state_label


def dashboard_charts(report: dict, chart: dict | None, lot_url) -> dict[str, Markup]:
    """Bar charts of the production and integrity ratios, deviations, and the control chart."""
    prod = report["production"]
    names = {"batch_pass_rate": _("Batch pass rate"), "first_pass_yield": _("First-pass yield"),
             "rework_rate": _("Rework rate"), "scrap_rate": _("Scrap rate"),
             "record_completeness": _("Record completeness")}
    bars = [svg.Bar(names[k], f["value"]) for k, f in prod.items() if f["value"] is not None]
    out = {"production": Markup(svg.bar_chart(bars, title=_("Production (%)"), unit="%"))}
    quality = report["quality"]
    if quality.get("available"):
        out["deviations"] = Markup(svg.bar_chart(
            [svg.Bar(state_label(k), f["value"]) for k, f in quality["deviations_by_category"].items()],
            title=_("Deviations by category")))
        out["deviations_by_operation"] = Markup(svg.bar_chart(
            [svg.Bar(k, f["value"]) for k, f in quality["deviations_by_operation"].items()],
            title=_("Deviations by operation")))
    if chart and chart["points"]:
        lim, p = chart["limits"] or {}, chart["parameter"]
        points = [svg.Point(pt["lot"], pt["value"], lot_url(pt["lot"]), pt["out_of_control"] or pt["out_of_spec"])
                  for pt in chart["points"]]
        out["control"] = Markup(svg.control_chart(
            points, title=_("%(parameter)s — individuals chart", parameter=p["name"]), center=lim.get("center"), ucl=lim.get("ucl"),
            lcl=lim.get("lcl"), usl=p["usl"], lsl=p["lsl"], unit=f" {p['unit']}"))
    return out
