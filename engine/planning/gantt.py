"""A Gantt chart of one work centre in a plan, as server-side SVG: a row per equipment (or station),
a bar per planned operation linked to its lot, day lines in the plan's time zone.
Plain strings, every label escaped."""
from __future__ import annotations

from datetime import datetime, timedelta
from xml.sax.saxutils import escape, quoteattr

from engine.planning.calendars import zone

WIDTH, LEFT, ROW, TOP = 960, 110, 26, 34
COLOURS = ("#2f6f9f", "#8a5a9f", "#3f8f5f", "#b06a2f", "#5f6f8f", "#9f3f4f")


def gantt_svg(work_centre: str, operations: list, *, start: datetime, days: int, timezone: str,
              lot_href=None, late_lots: frozenset[str] = frozenset()) -> str:
    """SVG of ``operations`` (PlannedOperation rows of one work centre) over ``days`` from ``start``."""
    tz = zone(timezone)
    rows = sorted({_row(o) for o in operations}) or ["—"]
    span = days * 1440
    scale = (WIDTH - LEFT - 10) / span
    height = TOP + len(rows) * ROW + 8
    parts = [f'<text x="0" y="14" font-weight="bold">{escape(work_centre)}</text>']
    for k in range(days + 1):
        x = LEFT + k * 1440 * scale
        parts.append(f'<line x1="{x:.1f}" y1="{TOP - 6}" x2="{x:.1f}" y2="{height - 6}" stroke="#ddd"/>')
        if k < days:
            day = (start + timedelta(days=k)).astimezone(tz)
            parts.append(f'<text x="{x + 2:.1f}" y="{TOP - 10}" fill="#555">{day:%m-%d}</text>')
    lots = sorted({o.lot.lot_number for o in operations})
    for i, name in enumerate(rows):
        y = TOP + i * ROW
        parts.append(f'<text x="{LEFT - 6}" y="{y + ROW - 10}" text-anchor="end">{escape(name)}</text>')
    for o in operations:
        y = TOP + rows.index(_row(o)) * ROW
        a = max(0.0, (o.starts_at - start).total_seconds() / 60)
        b = min(span, (o.ends_at - start).total_seconds() / 60)
        if b <= 0 or a >= span:
            continue
        lot = o.lot.lot_number
        colour = COLOURS[lots.index(lot) % len(COLOURS)]
        label = f"{lot} {o.operation.sequence} {o.operation.code}"
        tip = (f"{label} · {o.starts_at.astimezone(tz):%m-%d %H:%M} → {o.ends_at.astimezone(tz):%m-%d %H:%M}"
               f"{' · ' + o.operator.username if o.operator else ''}")
        width = max(2.0, (b - a) * scale)
        stroke = ' stroke="#c00" stroke-width="2"' if lot in late_lots else ""
        bar = (f'<rect x="{LEFT + a * scale:.1f}" y="{y + 3}" width="{width:.1f}" height="{ROW - 8}" rx="2" '
               f'fill="{colour}"{stroke} data-lot={quoteattr(lot)}><title>{escape(tip)}</title></rect>')
        if width > 60:
            bar += (f'<text x="{LEFT + a * scale + 3:.1f}" y="{y + ROW - 10}" fill="#fff" '
                    f'pointer-events="none">{escape(label[: int(width // 6)])}</text>')
        href = lot_href(lot) if lot_href else None
        parts.append(f"<a href={quoteattr(href)}>{bar}</a>" if href else bar)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label={quoteattr(work_centre)} '
            f'viewBox="0 0 {WIDTH} {height}" width="100%" font-family="sans-serif" font-size="11">'
            f'{"".join(parts)}</svg>')


def _row(o) -> str:
    return o.equipment.code if o.equipment is not None else "—"
