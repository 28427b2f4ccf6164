"""The cleansing report on a deliberately dirty plant (tests/trace/data/dirty_plant)."""
import datetime as dt
from pathlib import Path

import pytest
from openpyxl import Workbook as XlsxWorkbook

from engine.errors import ValidationFailed
from engine.trace.importing import cleanse, sheets

DIRTY = Path(__file__).parent / "data" / "dirty_plant"
TODAY = dt.date(2026, 11, 26)


@pytest.fixture(scope="module")
def report():
    return cleanse.cleanse(sheets.read_path(DIRTY), today=TODAY)


def findings(report, check, severity=None):
    return {(f.kind, f.line, f.column): f.message for f in report.findings
            if f.check == check and (severity is None or f.severity == severity)}


def test_dirty_file_is_refused_with_every_kind_of_problem(report):
    assert not report.ok
    assert set(report.by_check()) == {"missing_field", "duplicate", "unit", "unknown_reference",
                                      "bom_cycle", "implausible", "format"}


def test_missing_mandatory_fields(report):
    got = findings(report, "missing_field", "error")
    assert got == {("items", 12, "name"): "mandatory field 'name' is empty",
                   ("bom_lines", 11, "quantity"): "mandatory field 'quantity' is empty"}


def test_duplicates_exact_conflicting_and_case_variants(report):
    got = findings(report, "duplicate")
    assert got[("items", 6, None)] == "exact copy of line 5; dropped"
    assert "already on line 7 with different name" in got[("items", 8, "name")]
    assert "only in case or spaces" in got[("items", 9, "code")]
    assert report.counts["items"] == 10  # 11 data lines, the exact copy dropped


def test_units_normalised_or_refused(report):
    fixed = findings(report, "unit", "fixed")
    assert fixed[("items", 11, "base_unit")].startswith("unit 'millimetre' normalised to 'mm'")
    assert fixed[("items", 3, "base_unit")].startswith("unit 'pieces' normalised to 'pcs'")
    assert fixed[("parameters", 2, "unit")].startswith("unit 'degC' normalised to '°C'")
    assert len(fixed) == 3  # 12 g of a kg item is a convertible quantity, kept as written
    errors = findings(report, "unit", "error")
    assert errors[("items", 10, "base_unit")] == "unknown unit 'blorps'"
    assert "'m' cannot be converted" in errors[("bom_lines", 10, "unit")]


def test_unknown_references(report):
    got = findings(report, "unknown_reference")
    assert set(got.values()) == {"unknown item 'FG-IV-02'", "unknown item 'CP-NEEDLE'", "unknown item 'FG-IV-99'",
                                 "unknown lot 'L-NOPE-0001'", "unknown equipment 'EQ-UV-02'",
                                 "no operation 40 in routing 'RT-IV-01'"}


def test_bom_cycle_names_the_path(report):
    assert list(findings(report, "bom_cycle").values()) == ["BOM cycle: FG-IV-01 → SA-DRIP → FG-IV-01"]


def test_implausible_values(report):
    got = findings(report, "implausible", "error")
    expected = {("products", 2, "gtin"), ("equipment", 3, "calibration_due_on"), ("equipment", 4, "last_calibrated_on"),
                ("bom_lines", 9, "quantity"), ("parameters", 3, "lsl"), ("parameters", 4, "target"),
                ("parameters", 5, "target"), ("lots", 4, "quantity_approved"), ("lots", 5, "completed_at"),
                ("lots", 6, "status"), ("lots", 6, "started_at"), ("consumptions", 4, "component_lot"),
                ("items", 13, "item_type"), ("parameters", 3, "target")}
    assert set(got) == expected
    assert got[("parameters", 5, "target")] == "-300 °C is below absolute zero"
    warnings = findings(report, "implausible", "warning")
    assert warnings[("products", 3, "shelf_life_months")] == "shelf life of 600 months"


def test_clean_rows_raise_nothing(report):
    assert not [f for f in report.findings if (f.kind, f.line) in {("equipment", 2), ("operations", 2)}]


def test_known_records_satisfy_references():
    known = cleanse.Known(items={"CP-NEEDLE": "pcs", "FG-IV-02": "pcs", "FG-IV-99": "pcs"},
                          equipment={"EQ-UV-02"}, lots={"L-NOPE-0001": "pcs"})
    report = cleanse.cleanse(sheets.read_path(DIRTY), known, today=TODAY)
    assert set(findings(report, "unknown_reference").values()) == {"no operation 40 in routing 'RT-IV-01'"}


def test_cycle_through_an_existing_bom_is_found():
    wb = sheets.Workbook({k: [] for k in sheets.KINDS}, [], "t")
    wb.rows["items"] = [sheets.Row("items", 2, {"code": "A", "name": "a", "item_type": "component", "base_unit": "pcs"})]
    wb.rows["bom_lines"] = [sheets.Row("bom_lines", 2, {"bom": "B-A", "item": "A", "position": "1", "component": "B",
                                                        "quantity": "1", "unit": "pcs"})]
    known = cleanse.Known(items={"B": "pcs", "C": "pcs"}, bom_edges={("B", "C"), ("C", "A")})
    report = cleanse.cleanse(wb, known, today=TODAY)
    assert [f.message for f in report.findings] == ["BOM cycle: A → B → C → A"]


def test_excel_workbook_gives_the_same_report(tmp_path, report):
    book = XlsxWorkbook()
    book.remove(book.active)
    for path in sorted(DIRTY.glob("*.csv")):
        ws = book.create_sheet(path.stem)
        rows, _ = sheets.read_csv_text(path.stem, path.read_text(encoding="utf-8"))
        header = path.read_text(encoding="utf-8").splitlines()[0].split(",")
        ws.append(header)
        # keep line numbers identical: exactly one worksheet row per CSV line
        for line in path.read_text(encoding="utf-8").splitlines()[1:]:
            ws.append([_typed(v) for v in line.split(",")])
    book.create_sheet("Notes").append(["free text"])
    book.save(tmp_path / "dirty.xlsx")
    from_excel = cleanse.cleanse(sheets.read_path(tmp_path / "dirty.xlsx"), today=TODAY)
    padded = [f for f in from_excel.findings if f.column == "gtin" and f.severity == "fixed"]
    assert [f.message for f in padded] == ["GTIN 9506000134353 padded to 09506000134353",
                                           "GTIN 9506000134352 padded to 09506000134352"]
    assert [f.as_dict() for f in from_excel.findings if f not in padded] == [f.as_dict() for f in report.findings]
    assert from_excel.ignored == ["sheet 'Notes': not a known kind; ignored"]


def _typed(value):
    """Numbers as Excel numbers, the way a person's workbook holds them."""
    try:
        return int(value)
    except ValueError:
        try:
            return float(value)
        except ValueError:
            return value or None


def test_semicolon_csv_with_bom_and_unknown_columns(tmp_path):
    (tmp_path / "items.csv").write_text("\ufeffcode;name;item_type;base_unit;colour\nA;a;component;ea;red\n",
                                        encoding="utf-8")
    wb = sheets.read_path(tmp_path)
    assert wb.rows["items"][0].cells["base_unit"] == "ea"
    assert wb.ignored == ["items.csv: unknown column 'colour' in items ignored"]


def test_unreadable_sources_are_refused_by_name(tmp_path):
    with pytest.raises(ValidationFailed, match="not found"):
        sheets.read_path(tmp_path / "nope.xlsx")
    (tmp_path / "bad.xlsx").write_bytes(b"not a zip")
    with pytest.raises(ValidationFailed, match="cannot read workbook bad.xlsx"):
        sheets.read_path(tmp_path / "bad.xlsx")
    (tmp_path / "x.json").write_text("{}")
    with pytest.raises(ValidationFailed, match="unsupported import file type"):
        sheets.read_path(tmp_path / "x.json")


@pytest.mark.timeout(30)
def test_hostile_units_in_parameters_csv_are_reported_not_evaluated(tmp_path):
    """The same strings that froze or crashed pint become report errors naming the cell."""
    header = "routing,sequence,name,unit,target,lsl,usl,lcl,ucl\n"
    lines = ["RT-1,10,Pressure,9**9**9 kPa,1,,,,", "RT-1,20,Depth,(,1,,,,", "RT-1,30,Force,kPa/0,1,,,,",
             "RT-1,40,Seal,kPa,1,,,,"]
    (tmp_path / "parameters.csv").write_text(header + "\n".join(lines) + "\n", encoding="utf-8")
    result = cleanse.cleanse(sheets.read_path(tmp_path), today=TODAY)
    errors = findings(result, "unit", "error")
    assert set(errors) == {("parameters", 2, "unit"), ("parameters", 3, "unit"), ("parameters", 4, "unit")}
    assert all("is not a unit" in message for message in errors.values())
