"""Export the plant in the import format, so an export re-imports into an empty database as is.

For revisioned objects the effective (released) revision is exported, or the newest draft when
none is released yet; quantities in their recorded units; dates ISO 8601 (UTC). Text that a
spreadsheet would run as a formula (``=1+2``) is written inert (``engine.formulas``).
"""
from __future__ import annotations

import csv
from pathlib import Path

from openpyxl import Workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.formulas import escape_cell
from engine.masterdata import revisions
from engine.masterdata.models import Bom, Equipment, Item, Product, Routing, Tooling
from engine.production.models import Lot, MaterialConsumption
from engine.trace.importing.sheets import KINDS, columns


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _revision(session: Session, master):
    return revisions.effective_revision(session, master) or (master.revisions[-1] if master.revisions else None)


def export_rows(session: Session) -> dict[str, list[dict[str, str]]]:
    """Every kind's rows as ``{column: text}``, in a stable order."""
    out: dict[str, list[dict]] = {k: [] for k in KINDS}
    for it in session.scalars(select(Item).order_by(Item.code)):
        out["items"].append({"code": it.code, "name": it.name, "item_type": it.item_type, "base_unit": it.base_unit,
                             "purchased": it.purchased, "specification": it.specification})
    for p in session.scalars(select(Product).order_by(Product.code)):
        rev = _revision(session, p)
        out["products"].append({"code": p.code, "name": p.name, "item": p.item.code, "gtin": rev.gtin,
                                "device_class": rev.device_class, "sterile": rev.sterile,
                                "sterilisation_method": rev.sterilisation_method,
                                "shelf_life_months": rev.shelf_life_months,
                                "registration_number": rev.registration_number, "description": rev.description})
    for e in session.scalars(select(Equipment).order_by(Equipment.code)):
        out["equipment"].append({c: getattr(e, c) for c in columns("equipment")})
    for t in session.scalars(select(Tooling).order_by(Tooling.code)):
        out["tooling"].append({c: getattr(t, c) for c in columns("tooling")})
    for b in session.scalars(select(Bom).order_by(Bom.code)):
        rev = _revision(session, b)
        for ln in sorted(rev.lines, key=lambda x: x.position):
            out["bom_lines"].append({"bom": b.code, "item": b.item.code, "position": ln.position,
                                     "component": ln.component.code, "quantity": ln.quantity, "unit": ln.unit,
                                     "reference": ln.reference})
    for r in session.scalars(select(Routing).order_by(Routing.code)):
        rev = _revision(session, r)
        for op in sorted(rev.operations, key=lambda o: o.sequence):
            out["operations"].append({"routing": r.code, "item": r.item.code, "sequence": op.sequence, "code": op.code,
                                      "name": op.name, "work_centre": op.work_centre, "qc_point": op.qc_point,
                                      "equipment": ";".join(sorted(e.code for e in op.equipment)),
                                      "tooling": ";".join(sorted(t.code for t in op.tooling))})
            for p in sorted(op.parameters, key=lambda x: x.name):
                out["parameters"].append({"routing": r.code, "sequence": op.sequence, "name": p.name, "unit": p.unit,
                                          "target": p.target, "lsl": p.lsl, "usl": p.usl, "lcl": p.lcl, "ucl": p.ucl,
                                          "critical": p.critical})
    for lot in session.scalars(select(Lot).order_by(Lot.id)):
        sl = lot.supplier_lot
        out["lots"].append({"lot_number": lot.lot_number, "item": lot.item.code, "unit": lot.unit, "source": lot.source,
                            "status": lot.status, "quantity_made": lot.quantity_made,
                            "quantity_approved": lot.quantity_approved, "started_at": lot.started_at,
                            "completed_at": lot.completed_at, "supplier": sl.supplier if sl else None,
                            "supplier_lot_number": sl.supplier_lot_number if sl else None,
                            "received_on": sl.received_on if sl else None, "expires_on": lot.expires_on})
    for c in session.scalars(select(MaterialConsumption).order_by(MaterialConsumption.id)):
        out["consumptions"].append({"parent_lot": c.parent_lot.lot_number, "component_lot": c.component_lot.lot_number,
                                    "quantity": c.quantity, "unit": c.unit, "consumed_at": c.consumed_at})
    return {k: [{c: _text(row.get(c)) for c in columns(k)} for row in rows] for k, rows in out.items()}


def write_export(rows: dict[str, list[dict[str, str]]], path: str | Path) -> Path:
    """Write ``rows`` as an ``.xlsx`` workbook (one sheet per kind) or a directory of CSV files."""
    path = Path(path)
    if path.suffix.lower() == ".xlsx":
        book = Workbook()
        book.remove(book.active)
        for kind in KINDS:
            ws = book.create_sheet(kind)
            ws.append(list(columns(kind)))
            for row in rows[kind]:
                # text cells: GTINs keep their leading zero; formula-like text stays text
                ws.append([escape_cell(row[c]) for c in columns(kind)])
        book.save(path)
        return path
    path.mkdir(parents=True, exist_ok=True)
    for kind in KINDS:
        with (path / f"{kind}.csv").open("w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(columns(kind)))
            writer.writeheader()
            writer.writerows({c: escape_cell(v) for c, v in row.items()} for row in rows[kind])
    return path
