"""Unit labels (#18): one label per serialised unit of a finished lot, whose UDI production
identifier carries the unit's serial — (01) GTIN, (11) production date, (17) expiry, (10) lot,
(21) serial — as a GS1-128 symbol with its human-readable interpretation beneath. The UDI is the
lot's (``engine.trace.dhr.udi``) plus the serial (``unit_udi``), the same one the DHR lists and
``sealtrail trace`` / packing scans resolve. A4 sheets, six labels a page, ASCII text only (no
CJK font needed on the label printer's host).
"""
from __future__ import annotations

from fpdf import FPDF
from sqlalchemy.orm import Session

from engine.errors import ValidationFailed
from engine.production.models import Lot
from engine.trace import barcode, serials
from engine.trace.dhr import udi, unit_udi

MAX_LABELS = 2000  # per file: a lot's labels are printed in runs of at most this many
LABEL_HEIGHT_MM = 44
PER_PAGE = 6


def unit_labels(session: Session, lot: Lot, *, first: str | None = None, count: int | None = None) -> list[dict]:
    """The labels of ``lot``'s serials, in serial order: all, or ``count`` from the serial ``first`` on.

    ValidationFailed (naming the field) when the lot's product revision has no GTIN, the lot has no
    serials, ``first`` is not one of them, or more than MAX_LABELS labels would be printed at once.
    """
    base = udi(lot)
    if base is None:
        raise ValidationFailed(f"lot {lot.lot_number}: its product revision has no GTIN, so its units have no UDI "
                               "to print", field="lot")
    rows = serials.serials_of(session, lot)
    if not rows:
        raise ValidationFailed(f"lot {lot.lot_number} has no serials: assign them first (sealtrail serials assign)",
                               field="lot")
    names = [r.serial for r in rows]
    start = 0
    if first is not None:
        if first not in names:
            raise ValidationFailed(f"{first!r} is not a serial of lot {lot.lot_number}", field="first")
        start = names.index(first)
    if count is not None and count < 1:
        raise ValidationFailed("print at least one label", field="count")
    chosen = rows[start:start + count if count is not None else None]
    if len(chosen) > MAX_LABELS:
        raise ValidationFailed(f"{len(chosen)} labels: print at most {MAX_LABELS} at once (use --first/--count)",
                               field="count")
    product = lot.product.code if lot.product else lot.item.code
    return [{"serial": r.serial, "lot": lot.lot_number, "product": product} | unit_udi(base, r.serial)
            for r in chosen]


def render_labels_pdf(labels: list[dict], *, title: str) -> bytes:
    """The labels as an A4 PDF (six a page)."""
    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_auto_page_break(auto=False)
    pdf.set_margins(12, 12, 12)
    pdf.set_title(title)
    pdf.set_creator("Sealtrail")
    for i, label in enumerate(labels):
        if i % PER_PAGE == 0:
            pdf.add_page()
        y = 12 + (i % PER_PAGE) * LABEL_HEIGHT_MM
        pdf.set_draw_color(160)
        pdf.rect(12, y, 186, LABEL_HEIGHT_MM - 3)
        pdf.set_xy(15, y + 2)
        pdf.set_font("helvetica", "B", 9)
        pdf.cell(0, 4, f"{label['product']}   LOT {label['lot']}   SN {label['serial']}")
        width = barcode.draw_pdf(pdf, [tuple(e) for e in label["elements"]], 15, y + 8, module_mm=0.25,
                                 height_mm=20)
        pdf.set_xy(15, y + 30)
        pdf.set_font("courier", "", 8)
        pdf.cell(max(width, 60), 4, label["hri"], align="C")
    return bytes(pdf.output())
