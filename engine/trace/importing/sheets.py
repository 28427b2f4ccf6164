"""The import format: one sheet (Excel) or file (CSV) per kind of record, with named columns.

Column names follow the data model so an export of a plant is a valid import file. A ``*``
in ``COLUMNS`` marks a mandatory column. Multi-value cells (an operation's equipment) are
separated by ``;``.

CSV is read as RFC 4180 (``"`` quotes, ``""`` for a quote inside, newlines inside quotes) with
the delimiter — comma, semicolon or tab — taken from the header line, counted outside quotes;
a header that could be split two ways is refused, as is a malformed or oversized field (with
its line). A text escaped against formula injection on export (``'=1+2``) reads back as is.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from openpyxl import load_workbook

from engine.errors import ValidationFailed
from engine.formulas import unescape_cell

# Order matters: later kinds reference earlier ones.
COLUMNS: dict[str, tuple[str, ...]] = {
    "items": ("code*", "name*", "item_type*", "base_unit*", "purchased", "specification"),
    "products": ("code*", "name*", "item*", "gtin", "device_class", "sterile", "sterilisation_method",
                 "shelf_life_months", "registration_number", "description"),
    "equipment": ("code*", "name*", "equipment_type", "work_centre", "status", "calibration_required",
                  "calibration_interval_days", "last_calibrated_on", "calibration_due_on",
                  "maintenance_interval_days", "last_maintained_on", "maintenance_due_on"),
    "tooling": ("code*", "name*", "tooling_type", "status", "life_cycles", "cycles_used"),
    "bom_lines": ("bom*", "item*", "position*", "component*", "quantity*", "unit*", "reference"),
    "operations": ("routing*", "item*", "sequence*", "code*", "name*", "work_centre", "qc_point",
                   "equipment", "tooling"),
    "parameters": ("routing*", "sequence*", "name*", "unit*", "target", "lsl", "usl", "lcl", "ucl",
                   "critical"),
    "lots": ("lot_number*", "item*", "unit*", "source", "status", "quantity_made", "quantity_approved",
             "started_at", "completed_at", "supplier", "supplier_lot_number", "received_on", "expires_on"),
    "consumptions": ("parent_lot*", "component_lot*", "quantity*", "unit*", "consumed_at"),
}
KINDS = tuple(COLUMNS)


def mandatory(kind: str) -> tuple[str, ...]:
    return tuple(c[:-1] for c in COLUMNS[kind] if c.endswith("*"))


def columns(kind: str) -> tuple[str, ...]:
    return tuple(c.rstrip("*") for c in COLUMNS[kind])


@dataclass
class Row:
    """One data row: its sheet, its line number as a person sees it (header = 1), its cells."""

    kind: str
    line: int
    cells: dict[str, str]

    def get(self, column: str) -> str:
        return self.cells.get(column, "")

    @property
    def where(self) -> str:
        return f"{self.kind}:{self.line}"


@dataclass
class Workbook:
    """All rows of an import, by kind, plus the unknown sheets and columns that were ignored."""

    rows: dict[str, list[Row]]
    ignored: list[str]
    source: str


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return unescape_cell(str(value).strip())


def _rows_from_table(kind: str, table: list[list], source: str) -> tuple[list[Row], list[str]]:
    ignored: list[str] = []
    if not table:
        return [], ignored
    header = [_cell(h).lower().replace(" ", "_") for h in table[0]]
    known = set(columns(kind))
    for name in header:
        if name and name not in known:
            ignored.append(f"{source}: unknown column {name!r} in {kind} ignored")
    rows = []
    for offset, raw in enumerate(table[1:], start=2):
        cells = {h: _cell(v) for h, v in zip(header, raw) if h in known}
        if any(cells.values()):  # blank lines are not records
            rows.append(Row(kind, offset, cells))
    return rows, ignored


_DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab"}


def _outside_quotes(line: str) -> str:
    return "".join(part for i, part in enumerate(line.split('"')) if i % 2 == 0)


def csv_dialect(header: str, source: str) -> type[csv.Dialect]:
    """RFC 4180 with the delimiter the header line uses; ValidationFailed when it is ambiguous."""
    bare = _outside_quotes(header)
    used = [d for d in _DELIMITERS if d in bare]
    if len(used) > 1:
        names = " and ".join(_DELIMITERS[d] for d in used)
        raise ValidationFailed(f"{source}: the header line contains both {names}: cannot tell which "
                               "one separates the columns; save the file with one delimiter", field="path")
    delimiter = used[0] if used else ","

    class Rfc4180(csv.excel):
        pass

    Rfc4180.delimiter = delimiter
    Rfc4180.strict = True
    return Rfc4180


def read_csv_text(kind: str, text: str, source: str = "") -> tuple[list[Row], list[str]]:
    """Rows of one kind from CSV text (RFC 4180; comma, semicolon or tab; BOM tolerated)."""
    source = source or kind
    text = text.lstrip("\ufeff")
    dialect = csv_dialect(text.split("\n", 1)[0], source)
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    table: list[list[str]] = []
    try:
        for record in reader:
            table.append(record)
    except csv.Error as exc:  # the csv module's own limit (128 KB by default) guards its memory
        message = str(exc)
        if "field larger than field limit" in message:
            message = f"a cell is longer than {csv.field_size_limit() // 1024} KB"
        raise ValidationFailed(f"{source} line {reader.line_num}: {message}", field="path") from None
    if table:
        width = len(table[0])
        for number, record in enumerate(table[1:], start=2):
            if any(cell.strip() for cell in record[width:]):
                raise ValidationFailed(f"{source} record {number}: {len(record)} columns but the header "
                                       f"has {width}; quote cells that contain the delimiter", field="path")
    return _rows_from_table(kind, table, source)


def _kind_of(name: str) -> str | None:
    key = Path(name).stem.lower().replace(" ", "_").replace("-", "_")
    return key if key in COLUMNS else None


def read_path(path: str | Path) -> Workbook:
    """Read an ``.xlsx`` workbook, a single ``<kind>.csv`` or a directory of ``<kind>.csv`` files."""
    path = Path(path)
    if not path.exists():
        raise ValidationFailed(f"import source not found: {path}", field="path")
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() == ".csv")
    elif path.suffix.lower() in (".xlsx", ".xlsm"):
        return read_xlsx(path)
    elif path.suffix.lower() == ".csv":
        files = [path]
    else:
        raise ValidationFailed(f"unsupported import file type {path.suffix!r} (use .csv or .xlsx)",
                               field="path")
    rows: dict[str, list[Row]] = {k: [] for k in KINDS}
    ignored: list[str] = []
    for f in files:
        kind = _kind_of(f.name)
        if not kind:
            ignored.append(f"{f.name}: not a known kind ({', '.join(KINDS)}); ignored")
            continue
        try:
            with f.open(encoding="utf-8-sig", newline="") as fh:  # newlines inside quotes kept as written
                text = fh.read()
        except UnicodeDecodeError as exc:
            raise ValidationFailed(f"{f.name}: not UTF-8 text (byte {exc.start}); save the file as "
                                   "CSV UTF-8", field="path") from None
        got, skipped = read_csv_text(kind, text, f.name)
        rows[kind].extend(got)
        ignored.extend(skipped)
    return Workbook(rows, ignored, str(path.name))


def read_xlsx(path: str | Path) -> Workbook:
    """Every sheet named after a kind; values read as the cells show them (no formulas)."""
    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises several unrelated types for a bad file
        raise ValidationFailed(f"cannot read workbook {Path(path).name}: {exc}", field="path") from exc
    rows: dict[str, list[Row]] = {k: [] for k in KINDS}
    ignored: list[str] = []
    try:
        for ws in wb.worksheets:
            kind = _kind_of(ws.title)
            if not kind:
                ignored.append(f"sheet {ws.title!r}: not a known kind; ignored")
                continue
            got, skipped = _rows_from_table(kind, [list(r) for r in ws.iter_rows(values_only=True)],
                                            f"sheet {ws.title!r}")
            rows[kind].extend(got)
            ignored.extend(skipped)
    finally:
        wb.close()
    return Workbook(rows, ignored, Path(path).name)
