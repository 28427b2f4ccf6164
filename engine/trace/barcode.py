"""GS1-128 symbols for UDIs: the module pattern from python-barcode, drawn by us as SVG or PDF.

python-barcode encodes Code 128 with FNC1 (its ``\\xf1``) in first position and as the
separator after variable-length fields, which is exactly GS1-128. We take only its bar/space
pattern and draw it ourselves, so the HTML page and the PDF carry identical symbols and no
third-party SVG (with a DOCTYPE) is ever parsed.
"""
from __future__ import annotations

from xml.sax.saxutils import escape

from barcode.codex import Gs1_128

from engine.trace import gs1

QUIET_ZONE = 10  # modules each side (GS1-128 requires at least 10X)


def modules(elements) -> str:
    """The symbol as a string of '1' (bar) and '0' (space) modules, quiet zones excluded."""
    data = gs1.element_string(elements, separator=gs1.FNC1)
    return Gs1_128(data).build()[0]


def runs(pattern: str) -> list[tuple[int, int]]:
    """(start module, width) of each bar."""
    out, i = [], 0
    while i < len(pattern):
        if pattern[i] == "1":
            j = i
            while j < len(pattern) and pattern[j] == "1":
                j += 1
            out.append((i, j - i))
            i = j
        else:
            i += 1
    return out


def svg(elements, *, module_px: float = 1.5, height_px: float = 60) -> str:
    """An inline SVG of the GS1-128 symbol with its human-readable interpretation below."""
    pattern = modules(elements)
    total = len(pattern) + 2 * QUIET_ZONE
    width = total * module_px
    text = escape(gs1.hri(elements))
    bars = "".join(
        f'<rect x="{(QUIET_ZONE + start) * module_px:.2f}" y="0" width="{w * module_px:.2f}" '
        f'height="{height_px}"/>' for start, w in runs(pattern))
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="gs1-128" role="img" '
            f'aria-label="GS1-128 {text}" width="{width:.0f}" height="{height_px + 16:.0f}" '
            f'viewBox="0 0 {width:.2f} {height_px + 16}"><rect width="100%" height="100%" fill="#fff"/>'
            f'<g fill="#000">{bars}</g><text x="{width / 2:.2f}" y="{height_px + 13}" '
            f'font-family="monospace" font-size="11" text-anchor="middle">{text}</text></svg>')


def draw_pdf(pdf, elements, x: float, y: float, *, module_mm: float = 0.33, height_mm: float = 15) -> float:
    """Draw the symbol on an fpdf2 page at (x, y); returns its width in mm."""
    pattern = modules(elements)
    pdf.set_fill_color(0, 0, 0)
    for start, w in runs(pattern):
        pdf.rect(x + (QUIET_ZONE + start) * module_mm, y, w * module_mm, height_mm, style="F")
    return (len(pattern) + 2 * QUIET_ZONE) * module_mm
