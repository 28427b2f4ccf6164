"""The dashboard's SVG charts, built from the KPI report (engine.trace.svg draws them)."""
from __future__ import annotations

from markupsafe import Markup

from engine.trace import svg


def dashboard_charts(report: dict, chart: dict | None, lot_url) -> dict[str, Markup]:
    """Bar charts of the production and integrity ratios, deviations, and the control chart."""
    prod = report["production"]
    names = {"batch_pass_rate": "Batch pass rate", "first_pass_yield": "First-pass yield",
             "rework_rate": "Rework rate", "scrap_rate": "Scrap rate", "record_completeness": "Record completeness"}
    bars = [svg.Bar(names[k], f["value"]) for k, f in prod.items() if f["value"] is not None]
    out = {"production": Markup(svg.bar_chart(bars, title="Production (%)", unit="%"))}
    quality = report["quality"]
    if quality.get("available"):
        out["deviations"] = Markup(svg.bar_chart(
            [svg.Bar(k, f["value"]) for k, f in quality["deviations_by_category"].items()],
            title="Deviations by category"))
        out["deviations_by_operation"] = Markup(svg.bar_chart(
            [svg.Bar(k, f["value"]) for k, f in quality["deviations_by_operation"].items()],
            title="Deviations by operation"))
    if chart and chart["points"]:
        lim, p = chart["limits"] or {}, chart["parameter"]
        points = [svg.Point(pt["lot"], pt["value"], lot_url(pt["lot"]), pt["out_of_control"] or pt["out_of_spec"])
                  for pt in chart["points"]]
        out["control"] = Markup(svg.control_chart(
            points, title=f"{p['name']} — individuals chart", center=lim.get("center"), ucl=lim.get("ucl"),
            lcl=lim.get("lcl"), usl=p["usl"], lsl=p["lsl"], unit=f" {p['unit']}"))
    return out
