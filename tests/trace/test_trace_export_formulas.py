"""Exports carry no live formulas (OWASP CSV injection); imports warn when formula-like text arrives."""
from __future__ import annotations

import csv
import datetime as dt

import pytest
from openpyxl import load_workbook

from engine.formulas import escape_cell, is_formula_like, unescape_cell
from engine.trace.importing import cleanse, sheets
from engine.trace.importing.export import write_export
from engine.trace.importing.sheets import KINDS, columns

HOSTILE_NAME = "=cmd|' /C calc'!A0"
HOSTILE_LOT = "=1+2"


def _rows():
    rows = {kind: [] for kind in KINDS}
    rows["items"].append({c: "" for c in columns("items")} | {
        "code": "C-1", "name": HOSTILE_NAME, "item_type": "component", "base_unit": "pcs",
        "specification": "@SUM(A1:A9)"})
    rows["items"].append({c: "" for c in columns("items")} | {
        "code": "C-2", "name": "-5 °C rated", "item_type": "component", "base_unit": "pcs",
        "specification": "+tab\tinside"})
    rows["lots"].append({c: "" for c in columns("lots")} | {
        "lot_number": HOSTILE_LOT, "item": "C-1", "unit": "pcs", "quantity_made": "-0.5"})
    return rows


@pytest.mark.parametrize("value, inert", [
    ("=1+2", "'=1+2"), ("+1+2", "'+1+2"), ("-1+2", "'-1+2"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\t=1", "'\t=1"), ("\r=1", "'\r=1"), ("'=1", "''=1"), ("-0.5", "-0.5"), ("+3", "+3"),
    ("1e5", "1e5"), ("plain", "plain"), ("'quoted", "'quoted"), ("", ""),
])
def test_escape_and_unescape_are_exact_inverses(value, inert):
    assert escape_cell(value) == inert
    assert unescape_cell(inert) == value
    assert not is_formula_like(escape_cell(value))


def test_xlsx_export_holds_text_cells_only(tmp_path):
    path = write_export(_rows(), tmp_path / "plant.xlsx")
    book = load_workbook(path)
    cells = [c for ws in book.worksheets for row in ws.iter_rows(min_row=2) for c in row if c.value]
    assert cells and all(c.data_type != "f" for c in cells)
    assert book["items"]["B2"].value == "'" + HOSTILE_NAME and book["lots"]["A2"].value == "'" + HOSTILE_LOT
    assert book["lots"]["F2"].value == "-0.5"  # a negative number is not a formula


def test_csv_export_escapes_and_the_import_restores_and_warns(tmp_path):
    out = write_export(_rows(), tmp_path / "csv")
    with (out / "items.csv").open(newline="", encoding="utf-8") as fh:
        items = list(csv.DictReader(fh))
    assert items[0]["name"] == "'" + HOSTILE_NAME and items[0]["specification"] == "'@SUM(A1:A9)"
    assert items[1]["name"] == "'-5 °C rated" and items[1]["specification"] == "'+tab\tinside"
    workbook = sheets.read_path(out)
    assert workbook.rows["items"][0].get("name") == HOSTILE_NAME
    assert workbook.rows["lots"][0].get("lot_number") == HOSTILE_LOT
    report = cleanse.cleanse(workbook, today=dt.date(2026, 11, 26))
    warned = {(f.kind, f.line, f.column) for f in report.findings if f.check == "formula"}
    assert warned == {("items", 2, "name"), ("items", 2, "specification"), ("items", 3, "name"),
                      ("items", 3, "specification"), ("lots", 2, "lot_number")}
    assert all(f.severity == "warning" for f in report.findings if f.check == "formula")
