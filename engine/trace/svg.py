"""Server-side SVG charts: horizontal bars, time series and control charts.

Plain strings, every label escaped; each mark may carry a link to the record behind it, so a
number on the dashboard leads to the evidence.
"""
from __future__ import annotations

from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

WIDTH = 640


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    href: str | None = None


def _link(inner: str, href: str | None) -> str:
    return f"<a href={quoteattr(href)}>{inner}</a>" if href else inner


def _fmt(v: float) -> str:
    return f"{v:.4g}"


def bar_chart(bars: list[Bar], *, title: str, unit: str = "") -> str:
    """Horizontal bar chart; an empty list renders a labelled empty chart."""
    row, left, right = 22, 180, 70
    height = 30 + max(1, len(bars)) * row
    top = max((b.value for b in bars), default=0) or 1
    scale = (WIDTH - left - right) / top
    parts = [f'<text x="0" y="16" class="chart-title" font-weight="bold">{escape(title)}</text>']
    if not bars:
        parts.append('<text x="0" y="40" fill="#666">no data</text>')
    for i, b in enumerate(bars):
        y = 26 + i * row
        w = max(b.value * scale, 0)
        mark = (f'<rect x="{left}" y="{y}" width="{w:.1f}" height="{row - 6}" fill="#2f6f9f">'
                f'<title>{escape(b.label)}: {_fmt(b.value)}{escape(unit)}</title></rect>'
                f'<text x="{left + w + 4:.1f}" y="{y + row - 10}">{_fmt(b.value)}{escape(unit)}</text>')
        parts.append(f'<text x="{left - 6}" y="{y + row - 10}" text-anchor="end">'
                     f'{escape(b.label[:28])}</text>' + _link(mark, b.href))
    return _svg(height, "".join(parts), title)


@dataclass(frozen=True)
class Point:
    label: str
    value: float
    href: str | None = None
    flagged: bool = False


def control_chart(points: list[Point], *, title: str, center: float | None = None,
                  ucl: float | None = None, lcl: float | None = None,
                  usl: float | None = None, lsl: float | None = None, unit: str = "") -> str:
    """A run chart with centre line, control limits (dashed) and spec limits (solid red)."""
    height, left, right, top_pad, bottom = 260, 60, 110, 28, 40
    lines = {k: v for k, v in (("CL", center), ("UCL", ucl), ("LCL", lcl), ("USL", usl), ("LSL", lsl))
             if v is not None}
    values = [p.value for p in points] + list(lines.values())
    if not values:
        return _svg(60, f'<text x="0" y="16" font-weight="bold">{escape(title)}</text>'
                        '<text x="0" y="40" fill="#666">no data</text>', title)
    lo, hi = min(values), max(values)
    pad = (hi - lo) * 0.08 or abs(hi) * 0.05 or 1
    lo, hi = lo - pad, hi + pad
    plot_h = height - top_pad - bottom
    plot_w = WIDTH - left - right

    def y(v: float) -> float:
        return top_pad + (hi - v) / (hi - lo) * plot_h

    def x(i: int) -> float:
        return left + (plot_w * (i / (len(points) - 1)) if len(points) > 1 else plot_w / 2)

    parts = [f'<text x="0" y="16" font-weight="bold">{escape(title)}</text>',
             f'<line x1="{left}" y1="{top_pad}" x2="{left}" y2="{top_pad + plot_h}" stroke="#999"/>',
             f'<text x="{left - 4}" y="{top_pad + 4}" text-anchor="end">{_fmt(hi)}</text>',
             f'<text x="{left - 4}" y="{top_pad + plot_h}" text-anchor="end">{_fmt(lo)}</text>']
    styles = {"CL": 'stroke="#2a2"', "UCL": 'stroke="#d80" stroke-dasharray="6 3"',
              "LCL": 'stroke="#d80" stroke-dasharray="6 3"', "USL": 'stroke="#c00"', "LSL": 'stroke="#c00"'}
    for name, v in lines.items():
        parts.append(f'<line x1="{left}" y1="{y(v):.1f}" x2="{left + plot_w}" y2="{y(v):.1f}" '
                     f'{styles[name]}/><text x="{left + plot_w + 4}" y="{y(v) + 4:.1f}">'
                     f'{name} {_fmt(v)}{escape(unit)}</text>')
    if len(points) > 1:
        path = " ".join(f"{x(i):.1f},{y(p.value):.1f}" for i, p in enumerate(points))
        parts.append(f'<polyline points="{path}" fill="none" stroke="#2f6f9f"/>')
    for i, p in enumerate(points):
        colour = "#c00" if p.flagged else "#2f6f9f"
        dot = (f'<circle cx="{x(i):.1f}" cy="{y(p.value):.1f}" r="{4 if p.flagged else 3}" '
               f'fill="{colour}" class="{"flagged" if p.flagged else "point"}">'
               f'<title>{escape(p.label)}: {_fmt(p.value)}{escape(unit)}</title></circle>')
        parts.append(_link(dot, p.href))
    if points:
        parts.append(f'<text x="{left}" y="{height - 12}">{escape(points[0].label)}</text>'
                     f'<text x="{left + plot_w}" y="{height - 12}" text-anchor="end">'
                     f'{escape(points[-1].label)}</text>')
    return _svg(height, "".join(parts), title)


def _svg(height: float, body: str, title: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label={quoteattr(title)} '
            f'width="{WIDTH}" height="{height:.0f}" viewBox="0 0 {WIDTH} {height:.0f}" '
            f'font-family="sans-serif" font-size="11">{body}</svg>')
