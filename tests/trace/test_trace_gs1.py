"""GS1 element strings: the five AIs of a UDI, both notations, and every way a scan is wrong."""
import datetime as dt

import pytest
import zxingcpp
from PIL import Image, ImageDraw

from engine.errors import ValidationFailed
from engine.trace import barcode, gs1

TODAY = dt.date(2026, 11, 26)


def test_bracketed_udi_parses_every_ai():
    data = gs1.parse("(01)09506000134352(11)260115(17)280300(10)LOT-A1(21)SN42", today=TODAY)
    assert data.gtin == "09506000134352"
    assert data.production_date == dt.date(2026, 1, 15)
    assert data.expiry_date == dt.date(2028, 3, 31)  # DD 00 = last day of the month
    assert data.lot == "LOT-A1" and data.serial == "SN42"


@pytest.mark.parametrize("scan", [
    "]C10109506000134352172803311" "0LOT-A1\x1d21SN42",
    "]d20109506000134352172803311" "0LOT-A1\x1d21SN42\x1d",
    "0109506000134352172803311" "0LOT-A1\x1d21SN42",
    "0109506000134352\x1d172803311" "0LOT-A1\x1d21SN42",
])
def test_raw_scans_with_symbology_ids_and_group_separators(scan):
    data = gs1.parse(scan, today=TODAY)
    assert (data.gtin, data.expiry_date, data.lot, data.serial) == (
        "09506000134352", dt.date(2028, 3, 31), "LOT-A1", "SN42")


@pytest.mark.parametrize("scan,message", [
    ("(01)09506000134353(10)A", "wrong check digit (expected 2)"),
    ("(01)0950600013435(10)A", "must have 14 characters"),
    ("(17)281331(10)A", "month 13"),
    ("(17)280230(10)A", "day 30 in 2028-02"),
    ("(10)LOT A", "character set 82"),
    ("(10)" + "X" * 21, "1 to 20 characters"),
    ("(00)123456789012345678", "unsupported GS1 application identifier (00)"),
    ("0109506000134352" "99X", "unsupported GS1 application identifier (99)"),
    ("(10)A(10)B", "appears twice"),
    ("]C1", "empty"),
])
def test_bad_scans_are_refused_naming_the_ai(scan, message):
    with pytest.raises(ValidationFailed) as err:
        gs1.parse(scan, today=TODAY)
    assert message in err.value.message


def test_century_sliding_window():
    assert gs1.parse("(17)761231", today=TODAY).expiry_date.year == 2076
    assert gs1.parse("(17)771231", today=TODAY).expiry_date.year == 1977
    assert gs1.parse("(11)990101", today=dt.date(2051, 1, 1)).production_date.year == 2099


def test_lot_lookup_accepts_plain_numbers_and_scans():
    assert gs1.lot_number_from_scan("  L-2026-001 ")[0] == "L-2026-001"
    lot, data = gs1.lot_number_from_scan("(01)09506000134352(10)L-2026-001")
    assert lot == "L-2026-001" and data.gtin == "09506000134352"
    with pytest.raises(ValidationFailed, match="no batch/lot"):
        gs1.lot_number_from_scan("(01)09506000134352(21)S1")


def test_check_digit_of_published_example():
    assert gs1.gtin_check_digit("0950600013435") == "2"
    assert gs1.gtin_check_digit("0400638133393") == "1"  # EAN-13 4006381333931


def _png(elements, path):
    pattern = barcode.modules(elements)
    scale, quiet = 3, barcode.QUIET_ZONE
    img = Image.new("L", ((len(pattern) + 2 * quiet) * scale, 80), 255)
    draw = ImageDraw.Draw(img)
    for start, width in barcode.runs(pattern):
        x = (quiet + start) * scale
        draw.rectangle([x, 5, x + width * scale - 1, 74], fill=0)
    img.save(path)
    return img


def test_gs1_128_symbol_decodes_to_the_same_element_string(tmp_path):
    elements = gs1.elements_for(gtin="09506000134352", lot="LOT-A1", production_date=dt.date(2026, 1, 15),
                                expiry_date=dt.date(2028, 3, 31), serial="SN42")
    [result] = zxingcpp.read_barcodes(_png(elements, tmp_path / "udi.png"))
    assert result.symbology_identifier == "]C1"  # FNC1 in first position: GS1-128, not plain Code 128
    assert result.text == "(01)09506000134352(11)260115(17)280331(10)LOT-A1(21)SN42"
    # the decoded symbol parses back to the same data: a round trip through a real reader
    assert gs1.parse(result.text, today=TODAY).lot == "LOT-A1"
    svg = barcode.svg(elements)
    assert svg.startswith("<svg") and "(10)LOT-A1" in svg and svg.count("<rect") > 20


@pytest.mark.parametrize("scan", [
    "]Q30109506000134352172803311" "0LOT-A1\x1d21SN42",
    "]J10109506000134352172803311" "0LOT-A1\x1d21SN42",
    "]e00109506000134352172803311" "0LOT-A1\x1d21SN42",
    "\xf10109506000134352172803311" "0LOT-A1\xf121SN42",       # FNC1 as python-barcode spells it
    "0109506000134352\x1d\x1d172803311" "0LOT-A1\x1d\x1d21SN42\x1d",  # doubled and trailing GS
])
def test_more_symbologies_and_separators_read_by_biip(scan):
    data = gs1.parse(scan, today=TODAY)
    assert (data.gtin, data.expiry_date, data.lot, data.serial) == (
        "09506000134352", dt.date(2028, 3, 31), "LOT-A1", "SN42")
    assert data.elements == (("01", "09506000134352"), ("17", "280331"), ("10", "LOT-A1"), ("21", "SN42"))


@pytest.mark.parametrize("scan,message", [
    ("0109506000134353" "10A", "(01) GTIN 09506000134353 has a wrong check digit (expected 2)"),
    ("(01)0950600013435X", "(01) GTIN must be digits"),
    ("]C0" "0109506000134352", "symbology identifier ]C0 (CODE_128) carries no GS1 element strings"),
    ("]E0" "4006381333931", "symbology identifier ]E0"),  # an EAN-13 scan is a GTIN, not a UDI
    ("(15)280331", "unsupported GS1 application identifier (15)"),  # biip knows it; we do not use it
    ("0109506000134352" "15280331", "unsupported GS1 application identifier (15) at position 16"),
    ("0109506000134352" "23X", "no GS1 application identifier at position 16: '23X'"),
    ("10" + "X" * 21 + "\x1d21A", "(10) BATCH/LOT must have 1 to 20 characters"),  # not (10)…X20 + AI "X"
    ("10LOT A\x1d21A", "(10) BATCH/LOT has characters outside GS1 character set 82: 'LOT A'"),
    ("21SN#1", "(21) SERIAL has characters outside GS1 character set 82: 'SN#1'"),
    ("(01)09506000134352(10)", "(10) BATCH/LOT must have 1 to 20 characters"),
    ("0109506000134352" "1728", "(17) USE BY OR EXPIRY must have 6 characters, got 2"),
    ("01095060001343521728" "1331", "(17) USE BY OR EXPIRY has month 13"),
])
def test_refusals_name_the_ai_whatever_the_notation(scan, message):
    with pytest.raises(ValidationFailed) as err:
        gs1.parse(scan, today=TODAY)
    assert message in err.value.message and err.value.field == "gs1"


def test_dates_use_the_injected_clock_not_the_wall_clock():
    # biip's own date check places YY by the wall clock; ours places it around the injected today
    assert gs1.parse("(17)000229", today=TODAY).expiry_date == dt.date(2000, 2, 29)
    with pytest.raises(ValidationFailed, match=r"day 29 in 2100-02"):
        gs1.parse("(17)000229", today=dt.date(2060, 1, 1))
    assert gs1.parse("1700020" "0", today=dt.date(2060, 1, 1)).expiry_date == dt.date(2100, 2, 28)


def test_hibc_is_not_read_as_gs1():
    # the pinned biip has no HIBC parser: a HIBC scan stays plain text and finds no lot by accident
    hibc = "+A99912345/$$52001510X3"
    assert not gs1.looks_like_gs1(hibc)
    assert gs1.lot_number_from_scan(hibc) == (hibc, None)


def test_labels_compose_what_the_reader_accepts():
    elements = gs1.elements_for(gtin="9506000134352", lot="LOT-A1", expiry_date=dt.date(2028, 3, 31), serial="SN42")
    raw = "]C1" + gs1.element_string(elements)
    assert gs1.parse(raw, today=TODAY).elements == tuple(elements)
    with pytest.raises(ValidationFailed, match="character set 82"):
        gs1.elements_for(gtin="09506000134352", lot="LOT A")
