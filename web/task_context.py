"""Designed task context: what a kind of context offers the form (choices, first rows).

The panels themselves are Jinja macros in ``templates/tasks/_context.html``, one per context kind;
a context key without a macro falls back to the generic value table.
"""
from __future__ import annotations

from flask import url_for
from markupsafe import Markup

from engine.trace import svg
from engine.masterdata.units import pretty_unit


def _review(context: dict) -> dict | None:
    review = context.get("release_review")
    return review if isinstance(review, dict) else None


def choices(context: dict) -> dict[str, list[tuple[str, str]]]:
    """Form paths whose values are picked from the context, with ``(value, label)`` options."""
    review = _review(context)
    if review is None:
        return {}
    # Labelled by the message (what tells exceptions apart; a select shows its start), not the key.
    return {"exception_dispositions.key": [(e["key"], e.get("message") or e["key"])
                                           for e in review.get("exceptions") or [] if e.get("key")]}


def first_rows(context: dict) -> dict:
    """Initial form values drawn from the context: one disposition row per review exception."""
    review = _review(context)
    if review is None or not review.get("exceptions"):
        return {}
    return {"exception_dispositions": [{"key": e["key"]} for e in review["exceptions"] if e.get("key")]}


def measurement_chart(chart: dict) -> Markup:
    """A deviation's measurement chart (``engine.processes.charts.parameter_chart``) as an SVG run
    chart: each value against the limits in force, out-of-spec points red and linked to their lot."""
    points = [svg.Point(p["lot"], p["value"], url_for("lots.show", lot_number=p["lot"], _anchor="measurements"),
                        not p.get("in_spec", True))
              for p in chart.get("points") or [] if isinstance(p.get("value"), (int, float))]
    unit = pretty_unit(chart.get("unit") or "")
    return Markup(svg.control_chart(points, title=f'{chart.get("operation", "")} · {chart.get("parameter", "")}',
                                    center=None, ucl=chart.get("ucl"), lcl=chart.get("lcl"),
                                    usl=chart.get("usl"), lsl=chart.get("lsl"), unit=f" {unit}" if unit else ""))
