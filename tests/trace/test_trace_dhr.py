"""The Device History Record of a lot: content, changed values, signatures, audit range, PDF."""
import io
import os

import pytest
from pypdf import PdfReader

from engine.trace import dhr, dhr_pdf, gs1
from engine.trace.fonts import find_cjk_font
from tests.trace.trace_plant import make_plant_lot


@pytest.fixture()
def plant(session):
    return make_plant_lot(session)


@pytest.mark.requirement("ISO13485-7.5.9", "ISO13485-4.2.5")
def test_dhr_content_for_a_released_lot(session, plant):
    lot = plant["lot"]
    record = dhr.build_dhr(session, lot, timezone="Asia/Shanghai")
    assert record["lot"]["lot_number"] == "IV-2611-001" and record["lot"]["quantity_approved"] == 95
    assert record["product"]["revision"] == "A" and record["product"]["gtin"] == "09506000134352"
    assert record["revisions"]["bom"]["revision"] == "A" and record["revisions"]["routing"]["revision"] == "A"
    [component] = record["components"]
    assert component["supplier_lot"] == "NM-88812" and component["quantity"] == 100
    [op] = record["operations"]
    assert op["operator"] == "张伟 Zhang Wei (zhang.wei)"
    assert op["equipment"]["calibration"]["state"] == "valid"
    [m] = op["measurements"]
    assert (m["value"], m["in_spec"], m["verdict"]) == (52, True, "within limits")
    [change] = m["changes"]  # the original out-of-limit 58 kPa stays visible with who/when/why
    assert change["old_value"] == 58 and change["changed_by"] == "李娜 Li Na (li.na)"
    assert change["reason"].startswith("transcription error")
    assert [i["result"] for i in op["inspections"]] == ["pass"]
    assert record["changed_values"] == 1  # the corrected measurement; the lot's life is history, not a change
    assert record["lot_changes"] == []
    steps = [h["action"] for h in record["lot_history"]]
    assert steps[:2] == ["lot.plan", "lot.start"] and "lot.complete" in steps
    assert any(h["to"] == "released" for h in record["lot_history"])
    [sig] = record["signatures"]
    assert sig["printed_name"] == "李娜 Li Na" and sig["meaning_text"] == "Released"
    assert sig["signed_at_utc"].endswith("Z") and "CST" in sig["signed_at_local"]
    assert "-" not in sig["record_title"][:8] or sig["record_type"] != "workflow_task"  # a title, not a UUID
    audit = record["audit"]
    assert audit["first_seq"] <= audit["last_seq"] and audit["entries"] >= 8
    assert len(audit["last_hash"]) == 64


@pytest.mark.requirement("ISO13485-7.5.8")
def test_udi_is_gs1_and_parses_back(session, plant):
    u = dhr.udi(plant["lot"])
    data = gs1.parse(u["hri"])
    assert data.gtin == "09506000134352" and data.lot == "IV-2611-001"
    assert data.production_date == plant["lot"].completed_at.date()


@pytest.mark.requirement("Annex11-8", "21CFR11.10(b)")
def test_pdf_opens_and_contains_chinese_text(session, plant):
    if find_cjk_font() is None:
        if os.environ.get("CI"):
            pytest.fail("CI must install fonts-noto-cjk: no CJK font found for the DHR PDF")
        pytest.skip("no CJK font on this machine (install fonts-noto-cjk)")
    pdf = dhr_pdf.render_pdf(dhr.build_dhr(session, plant["lot"]))
    reader = PdfReader(io.BytesIO(pdf))
    text = "".join(page.extract_text() for page in reader.pages)
    # fpdf2 embeds its own encoding CMap for CID fonts; pypdf decodes it as 2 bytes with a NUL
    # before each character (the ToUnicode map itself is right), hence the NUL removal.
    flat = "".join(text.replace("\x00", "").split())
    for expected in ("器械历史记录", "张伟", "泄漏测试", "李娜", "IV-2611-001", "transcriptionerror",
                     "(01)09506000134352", "seq"):
        assert expected in flat, expected
    assert reader.metadata.title == "Device History Record IV-2611-001"
    assert "Sterile无菌yes/是" in flat and "Deviceclass器械类别" in flat  # one fact per row, in words
    assert "password+TOTP" in flat  # the authentication column is wide enough not to break the word
    changed = flat[flat.index("Valueschangedafteroriginalentry"):flat.index("Lotstatushistory")]
    assert "lot.start" not in changed and "start" not in changed.replace("Startedcompleted", "")
    assert "start" in flat[flat.index("Lotstatushistory"):]
    assert "Nodeviationtouchedthislot" in flat and "nonerecorded" not in flat


def test_units_print_as_people_write_them():
    from engine.masterdata.units import pretty_unit
    assert [pretty_unit(u) for u in ("degC", "percent", "N*m", "mm**2", "mL/min", "kPa")] == \
        ["°C", "%", "N·m", "mm²", "mL/min", "kPa"]


@pytest.mark.requirement("Annex11-8")
def test_pdf_without_a_cjk_font_still_renders_and_says_so(session, plant, monkeypatch):
    monkeypatch.setattr(dhr_pdf, "find_cjk_font", lambda: None)
    pdf = dhr_pdf.render_pdf(dhr.build_dhr(session, plant["lot"], verify=False))
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages).replace("\x00", "")
    assert "No CJK font was found" in text and "IV-2611-001" in text
