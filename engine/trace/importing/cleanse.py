"""The dry run: check an import workbook and normalise what can be normalised safely.

``cleanse(workbook, known)`` never touches the database: ``known`` carries what already
exists (item codes with their base units, equipment, tooling, lots, BOM edges), so references
to records already in the plant are valid and cycles through existing BOMs are found.
Normalisations (unit spelling, quantities converted to the component's base unit, exact
duplicate rows dropped) are reported as ``fixed``; anything that needs a person is an ``error``.
"""
from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from engine.errors import UnitError, UnitSyntaxError
from engine.formulas import is_formula_like
from engine.masterdata.models.resources import ITEM_TYPES
from engine.trace import gs1
from engine.trace.importing import units
from engine.trace.importing.report import Report
from engine.trace.importing.sheets import KINDS, Row, Workbook, columns, mandatory

KEYS = {"items": ("code",), "products": ("code",), "equipment": ("code",), "tooling": ("code",),
        "bom_lines": ("bom", "position"), "operations": ("routing", "sequence"),
        "parameters": ("routing", "sequence", "name"), "lots": ("lot_number",),
        "consumptions": ("parent_lot", "component_lot")}
UNIT_COLUMNS = {"items": "base_unit", "bom_lines": "unit", "parameters": "unit", "lots": "unit",
                "consumptions": "unit"}
LOT_STATUSES = ("planned", "in_process", "on_hold", "completed", "released", "rejected")
BOOL = {"": None, "1": True, "true": True, "yes": True, "y": True, "x": True, "是": True,
        "0": False, "false": False, "no": False, "n": False, "否": False}
# Plausible physical ranges by dimension (SI base magnitudes): outside is a warning, not an error.
TEMPERATURE_C = (-80.0, 1500.0)


@dataclass
class Known:
    """What the target database already holds (empty for an import into a new plant)."""

    items: dict[str, str] = field(default_factory=dict)  # code -> base unit
    equipment: set[str] = field(default_factory=set)
    tooling: set[str] = field(default_factory=set)
    lots: dict[str, str] = field(default_factory=dict)  # lot number -> unit
    bom_edges: set[tuple[str, str]] = field(default_factory=set)  # (parent item, component item)
    operations: set[tuple[str, str]] = field(default_factory=set)  # (routing, sequence)


def cleanse(workbook: Workbook, known: Known | None = None, *, today: dt.date | None = None) -> Report:
    """Check every row; rows are normalised in place. Returns the report (``report.ok``)."""
    known = known or Known()
    today = today or dt.date.today()
    report = Report(workbook.source, ignored=list(workbook.ignored))
    rows = workbook.rows
    for kind in KINDS:
        _mandatory(report, kind, rows.get(kind, []))
        rows[kind] = _duplicates(report, kind, rows.get(kind, []))
    _formulas(report, rows)
    _units(report, rows)
    _references(report, rows, known)
    _unit_compatibility(report, rows, known)
    _bom_cycles(report, rows, known)
    _plausibility(report, rows, today)
    report.counts = {k: len(rows.get(k, [])) for k in KINDS}
    return report


def _formulas(report: Report, rows: dict[str, list[Row]]) -> None:
    """Warn about text a spreadsheet would run as a formula (it is imported, and exported, as text)."""
    for kind in KINDS:
        for row in rows.get(kind, []):
            for col, value in row.cells.items():
                if is_formula_like(value):
                    shown = value if len(value) <= 40 else value[:40] + "…"
                    report.add("warning", "formula", row, col,
                               f"{shown!r} starts with {value[:1]!r}: a spreadsheet would run it as a "
                               "formula; kept as text (exports write it inert)")


def _mandatory(report: Report, kind: str, rows: list[Row]) -> None:
    for row in rows:
        for col in mandatory(kind):
            if not row.get(col):
                report.add("error", "missing_field", row, col, f"mandatory field {col!r} is empty")


def _norm_key(value: str) -> str:
    return " ".join(value.split()).casefold()


def _duplicates(report: Report, kind: str, rows: list[Row]) -> list[Row]:
    seen: dict[tuple, Row] = {}
    loose: dict[tuple, Row] = {}
    kept = []
    for row in rows:
        key = tuple(row.get(c) for c in KEYS[kind])
        if not all(key):
            kept.append(row)
            continue
        first = seen.get(key)
        if first is not None:
            if first.cells == row.cells:
                report.add("fixed", "duplicate", row, None, f"exact copy of line {first.line}; dropped")
            else:
                diff = sorted(c for c in columns(kind) if first.get(c) != row.get(c))
                report.add("error", "duplicate", row, ",".join(diff),
                           f"{'/'.join(key)} already on line {first.line} with different "
                           f"{', '.join(diff)}")
            continue
        lkey = tuple(_norm_key(k) for k in key)
        other = loose.get(lkey)
        if other is not None:
            report.add("error", "duplicate", row, KEYS[kind][0],
                       f"{'/'.join(key)!s} differs from line {other.line} "
                       f"({'/'.join(other.get(c) for c in KEYS[kind])}) only in case or spaces")
        seen[key] = row
        loose[lkey] = row
        kept.append(row)
    return kept


def _units(report: Report, rows: dict[str, list[Row]]) -> None:
    """Unknown units are errors; one unit spelled several ways is normalised to its usual spelling.

    ``pcs``/``pieces``/``ea`` or ``degC``/``°C`` are the same pint unit: the spelling used most
    in the file wins (ties go to the short symbol), so a consistent file passes unchanged and a
    re-imported export is identical to its source.
    """
    cells: list[tuple[Row, str, str, object]] = []
    for kind, col in UNIT_COLUMNS.items():
        for row in rows.get(kind, []):
            raw = row.get(col)
            if not raw:
                continue
            try:
                unit = units.parse_unit(raw)
            except UnitError as exc:
                message = exc.message if isinstance(exc, UnitSyntaxError) else f"unknown unit {raw!r}"
                report.add("error", "unit", row, col, message)
                row.cells[col] = ""
                continue
            cells.append((row, col, raw, unit))
    spellings: dict[object, Counter] = defaultdict(Counter)
    for _, _, raw, unit in cells:
        spellings[unit][raw] += 1
    for row, col, raw, unit in cells:
        counts = spellings[unit]
        if len(counts) == 1:
            continue
        canon = units.canonical(raw)
        best = max(counts, key=lambda sp: (counts[sp], sp == canon, -len(sp)))
        if raw != best:
            report.add("fixed", "unit", row, col, f"unit {raw!r} normalised to {best!r} (same unit, "
                       f"spelled {' / '.join(sorted(counts))} in this file)")
            row.cells[col] = best


def _references(report: Report, rows: dict[str, list[Row]], known: Known) -> None:
    items = set(known.items) | {r.get("code") for r in rows.get("items", [])}
    equipment = known.equipment | {r.get("code") for r in rows.get("equipment", [])}
    tooling = known.tooling | {r.get("code") for r in rows.get("tooling", [])}
    lots = set(known.lots) | {r.get("lot_number") for r in rows.get("lots", [])}
    operations = known.operations | {(r.get("routing"), r.get("sequence")) for r in rows.get("operations", [])}
    checks = (("products", "item", items, "item"), ("bom_lines", "item", items, "item"),
              ("bom_lines", "component", items, "item"), ("operations", "item", items, "item"),
              ("lots", "item", items, "item"), ("consumptions", "parent_lot", lots, "lot"),
              ("consumptions", "component_lot", lots, "lot"))
    for kind, col, pool, what in checks:
        for row in rows.get(kind, []):
            if row.get(col) and row.get(col) not in pool:
                report.add("error", "unknown_reference", row, col, f"unknown {what} {row.get(col)!r}")
    for row in rows.get("operations", []):
        for col, pool in (("equipment", equipment), ("tooling", tooling)):
            for code in _split(row.get(col)):
                if code not in pool:
                    report.add("error", "unknown_reference", row, col, f"unknown {col} {code!r}")
    for row in rows.get("parameters", []):
        key = (row.get("routing"), row.get("sequence"))
        if all(key) and key not in operations:
            report.add("error", "unknown_reference", row, "sequence",
                       f"no operation {key[1]} in routing {key[0]!r}")


def _split(cell: str) -> list[str]:
    return [c.strip() for c in cell.split(";") if c.strip()]


def _number(report: Report, row: Row, col: str, *, positive: bool = False) -> float | None:
    raw = row.get(col)
    if not raw:
        return None
    try:
        value = float(raw.replace(",", ".")) if raw.count(",") == 1 and "." not in raw else float(raw)
    except ValueError:
        report.add("error", "format", row, col, f"{raw!r} is not a number")
        return None
    if positive and value <= 0:
        report.add("error", "implausible", row, col, f"{col} must be greater than 0, got {raw}")
    return value


def _unit_compatibility(report: Report, rows: dict[str, list[Row]], known: Known) -> None:
    """A quantity's unit must convert to the unit of what it counts (component item, component lot)."""
    base = dict(known.items) | {r.get("code"): r.get("base_unit") for r in rows.get("items", []) if r.get("base_unit")}
    lot_units = dict(known.lots) | {r.get("lot_number"): r.get("unit") for r in rows.get("lots", []) if r.get("unit")}
    targets = (("lots", "item", base, "base unit of item"), ("bom_lines", "component", base, "base unit of item"),
               ("consumptions", "component_lot", lot_units, "unit of lot"))
    for kind, ref, unit_of, what in targets:
        for row in rows.get(kind, []):
            line_unit, target = row.get("unit"), unit_of.get(row.get(ref))
            if not line_unit or not target or line_unit == target:
                continue
            try:
                same_dim = units.compatible(line_unit, target)
            except UnitError:
                continue  # the unknown unit is already reported
            if not same_dim:
                report.add("error", "unit", row, "unit", f"{line_unit!r} cannot be converted to the "
                           f"{what} {row.get(ref)!r} ({target!r})")


def _bom_cycles(report: Report, rows: dict[str, list[Row]], known: Known) -> None:
    graph: dict[str, set[str]] = {}
    line_of: dict[tuple[str, str], Row] = {}
    for parent, child in known.bom_edges:
        graph.setdefault(parent, set()).add(child)
    for row in rows.get("bom_lines", []):
        parent, child = row.get("item"), row.get("component")
        if parent and child:
            graph.setdefault(parent, set()).add(child)
            line_of.setdefault((parent, child), row)
    reported: set[frozenset] = set()
    for cycle in _cycles(graph):
        key = frozenset(cycle)
        if key in reported:
            continue
        reported.add(key)
        row = next((line_of[e] for e in zip(cycle, cycle[1:]) if e in line_of), None)
        report.add("error", "bom_cycle", row or "bom_lines", "component",
                   "BOM cycle: " + " → ".join(cycle))


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every elementary cycle found by depth-first search from each node (one per back edge)."""
    found, colour = [], {}
    for start in sorted(graph):
        if colour.get(start):
            continue
        stack = [(start, iter(sorted(graph.get(start, ()))))]
        path, colour[start] = [start], 1
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                stack.pop()
                path.pop()
                colour[node] = 2
            elif colour.get(child) == 1:
                found.append(path[path.index(child):] + [child])
            elif not colour.get(child):
                colour[child] = 1
                path.append(child)
                stack.append((child, iter(sorted(graph.get(child, ())))))
    return found


def _date(report: Report, row: Row, col: str) -> dt.datetime | None:
    raw = row.get(col)
    if not raw:
        return None
    try:
        value = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        report.add("error", "format", row, col, f"{raw!r} is not an ISO date (YYYY-MM-DD[THH:MM])")
        return None
    return value.replace(tzinfo=None) if value.tzinfo is None else value.astimezone(dt.UTC).replace(tzinfo=None)


def _bool(report: Report, row: Row, col: str) -> None:
    raw = row.get(col).strip().lower()
    if raw not in BOOL:
        report.add("error", "format", row, col, f"{row.get(col)!r} is not yes/no")


def _plausibility(report: Report, rows: dict[str, list[Row]], today: dt.date) -> None:
    now = dt.datetime.combine(today, dt.time.max)
    for row in rows.get("items", []):
        if row.get("item_type") and row.get("item_type") not in ITEM_TYPES:
            report.add("error", "implausible", row, "item_type",
                       f"item type {row.get('item_type')!r} is not one of {', '.join(ITEM_TYPES)}")
        _bool(report, row, "purchased")
    for row in rows.get("products", []):
        gtin = row.get("gtin")
        if gtin.isdigit() and len(gtin) < 14:  # Excel drops leading zeros; GTINs pad to 14 digits
            report.add("fixed", "format", row, "gtin", f"GTIN {gtin} padded to {gtin.zfill(14)}")
            gtin = row.cells["gtin"] = gtin.zfill(14)
        if gtin and (not gtin.isdigit() or len(gtin) not in (8, 12, 13, 14)
                     or gs1.gtin_check_digit(gtin[:-1]) != gtin[-1]):
            report.add("error", "implausible", row, "gtin", f"GTIN {gtin!r} is malformed or has a wrong check digit")
        months = _number(report, row, "shelf_life_months")
        if months is not None and not 0 < months <= 120:
            report.add("warning", "implausible", row, "shelf_life_months", f"shelf life of {months:g} months")
        _bool(report, row, "sterile")
    for row in rows.get("equipment", []):
        interval = _number(report, row, "calibration_interval_days")
        last, due = _date(report, row, "last_calibrated_on"), _date(report, row, "calibration_due_on")
        if interval is not None and not 0 < interval <= 3660:
            report.add("warning", "implausible", row, "calibration_interval_days", f"interval of {interval:g} days")
        if last and due and due < last:
            report.add("error", "implausible", row, "calibration_due_on", "calibration due before it was last done")
        if last and last > now:
            report.add("error", "implausible", row, "last_calibrated_on", "calibration date is in the future")
        _bool(report, row, "calibration_required")
    for row in rows.get("bom_lines", []):
        _number(report, row, "quantity", positive=True)
    for row in rows.get("parameters", []):
        _limits(report, row)
    for row in rows.get("lots", []):
        _lot(report, row, now)
    for row in rows.get("consumptions", []):
        _number(report, row, "quantity", positive=True)
        if row.get("parent_lot") and row.get("parent_lot") == row.get("component_lot"):
            report.add("error", "implausible", row, "component_lot", "a lot cannot consume itself")


def _limits(report: Report, row: Row) -> None:
    vals = {c: _number(report, row, c) for c in ("target", "lsl", "usl", "lcl", "ucl")}
    lsl, usl, target = vals["lsl"], vals["usl"], vals["target"]
    if lsl is not None and usl is not None and lsl >= usl:
        report.add("error", "implausible", row, "lsl", f"lower spec limit {lsl:g} is not below upper {usl:g}")
    if target is not None and ((lsl is not None and target < lsl) or (usl is not None and target > usl)):
        report.add("error", "implausible", row, "target", f"target {target:g} lies outside the spec limits")
    for c, bad in (("lcl", lambda v: lsl is not None and v < lsl), ("ucl", lambda v: usl is not None and v > usl)):
        if vals[c] is not None and bad(vals[c]):
            report.add("warning", "implausible", row, c, f"control limit {vals[c]:g} lies outside the spec limits")
    unit = row.get("unit")
    if unit and units.is_temperature(unit):
        for c, v in vals.items():
            if v is None:
                continue
            celsius = units.convert(v, unit, "°C")
            if celsius < -273.15:
                report.add("error", "implausible", row, c, f"{v:g} {unit} is below absolute zero")
            elif not TEMPERATURE_C[0] <= celsius <= TEMPERATURE_C[1]:
                report.add("warning", "implausible", row, c, f"{v:g} {unit} is an unusual process temperature")


def _lot(report: Report, row: Row, now: dt.datetime) -> None:
    if row.get("status") and row.get("status") not in LOT_STATUSES:
        report.add("error", "implausible", row, "status",
                   f"status {row.get('status')!r} is not one of {', '.join(LOT_STATUSES)}")
    made, approved = _number(report, row, "quantity_made"), _number(report, row, "quantity_approved")
    for col, v in (("quantity_made", made), ("quantity_approved", approved)):
        if v is not None and v < 0:
            report.add("error", "implausible", row, col, f"{col} is negative")
    if made is not None and approved is not None and approved > made:
        report.add("error", "implausible", row, "quantity_approved",
                   f"{approved:g} approved but only {made:g} made")
    started, completed = _date(report, row, "started_at"), _date(report, row, "completed_at")
    if started and completed and completed < started:
        report.add("error", "implausible", row, "completed_at", "completed before it started")
    for col, v in (("started_at", started), ("completed_at", completed)):
        if v and v > now:
            report.add("error", "implausible", row, col, f"{col} {v:%Y-%m-%d} is in the future")
    if row.get("status") == "released" and not completed and row.get("source") != "purchased":
        report.add("warning", "missing_field", row, "completed_at", "released lot without a completion date")
