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


def _events(context: dict) -> list[dict]:
    review = context.get("audit_review")
    events = review.get("events") if isinstance(review, dict) else None
    return [e for e in events or [] if isinstance(e, dict) and e.get("seq")]


# Up to this many events, the audit-trail review's form opens with one finding row per event.
FINDING_ROWS = 30


def choices(context: dict) -> dict[str, list[tuple[str, str]]]:
    """Form paths whose values are picked from the context, with ``(value, label)`` options."""
    out = {}
    review = _review(context)
    if review is not None:
        # Labelled by the message (what tells exceptions apart; a select shows its start), not the key.
        out["exception_dispositions.key"] = [(e["key"], e.get("message") or e["key"])
                                             for e in review.get("exceptions") or [] if e.get("key")]
    if events := _events(context):
        out["event_findings.seq"] = [(str(e["seq"]), f'#{e["seq"]} · {e.get("action", "")} · {e.get("actor", "")}')
                                     for e in events]
    return out


def first_rows(context: dict) -> dict:
    """Initial form values drawn from the context: one disposition row per review exception, one
    finding row per listed audit event (when they are few enough to answer one by one)."""
    out = {}
    review = _review(context)
    if review is not None and review.get("exceptions"):
        out["exception_dispositions"] = [{"key": e["key"]} for e in review["exceptions"] if e.get("key")]
    events = _events(context)
    if events and len(events) <= FINDING_ROWS:
        out["event_findings"] = [{"seq": e["seq"]} for e in events]
    return out


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
