"""Traceability on the demo plant: DHR of a demo lot, trace and recall, export → import round trip."""
import io
import uuid

import pytest
from pypdf import PdfReader

from engine.trace import dhr, dhr_pdf, genealogy
from engine.trace.fonts import find_cjk_font
from engine.trace.importing import apply as applying, cleanse, sheets
from engine.trace.importing.export import export_rows, write_export
from tests import conftest as shared
from tests.trace.test_trace_import_apply import ACTOR


@pytest.mark.requirement("ISO13485-7.5.9", "Annex11-8")
def test_dhr_of_a_demo_lot(demo_db):
    with demo_db.sessions.begin() as session:
        lot = genealogy.get_lot(session, "IS200-2609-001")
        record = dhr.build_dhr(session, lot, timezone="Asia/Shanghai")
        pdf = dhr_pdf.render_pdf(record) if find_cjk_font() else None
    assert record["lot"]["status"] == "released" and record["lot"]["quantity_approved"] == 1964
    assert record["udi"]["hri"].startswith("(01)") and "(10)IS200-2609-001" in record["udi"]["hri"]
    assert {c["lot_number"] for c in record["components"]} >= {"TUBE-2609-01", "DRIP-2609-01"}
    assert all(c["supplier_lot"] for c in record["components"] if c["lot_number"] not in ("TUBE-2609-01",
                                                                                          "DRIP-2609-01"))
    assert record["genealogy"]["depth"] == 2  # finished set → subassemblies → purchased material
    assert len(record["operations"]) >= 6
    changed = [m for m in record["measurements"] if m["changes"]]
    assert [(m["parameter"], m["value"], m["changes"][0]["old_value"]) for m in changed] == [("UV intensity", 61.0, 6.1)]
    assert changed[0]["changes"][0]["reason"].startswith("decimal point missed")
    for op in record["operations"]:
        assert op["operator"] and (op["equipment"] is None or op["equipment"]["calibration"]["state"])
    assert record["audit"]["entries"] > 20 and record["audit"]["first_seq"] < record["audit"]["last_seq"]
    verification = record["audit"]["verification"]
    assert verification["ok"] is True and verification["last_seq"] >= record["audit"]["last_seq"]
    assert verification["text"].startswith("chain verified")
    if pdf is not None:
        text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages).replace("\x00", "")
        flat = "".join(text.split())
        assert "器械历史记录" in flat and "IS200-2609-001" in flat and "UVintensity" in flat


@pytest.mark.requirement("ISO13485-7.5.9")
def test_recall_from_a_purchased_demo_lot_reaches_the_finished_sets(demo_db):
    with demo_db.sessions.begin() as session:
        pvc = next(lot for lot in genealogy.trace(session, genealogy.get_lot(session, "IS200-2609-001")).lots.values()
                   if lot.item_code == "RM-PVC")
        sim = genealogy.simulate_recall(session, pvc.id)
    # the same PVC lot made both tube lots, so every finished set made from either is affected;
    # the released one (in the field) is listed first
    assert [(a.lot_number, a.status) for a in sim.affected] == [
        ("IS200-2609-001", "released"), ("IS200-2610-002", "completed"), ("IS200-2610-003", "completed")]
    assert sim.totals()["released"]["quantity_approved"] == 1964


def test_demo_plant_round_trips_through_export_and_import(demo_db, db_server, template_db, tmp_path):
    with demo_db.sessions.begin() as session:
        first = export_rows(session)
    path = write_export(first, tmp_path / "demo.xlsx")
    name = f"{db_server.prefix}_{uuid.uuid4().hex[:8]}"
    empty = db_server.clone_database(template_db, name)
    try:
        with empty.sessions.begin() as session:
            wb = sheets.read_path(path)
            report = cleanse.cleanse(wb, applying.known_from_db(session))
            assert report.ok, report.as_text()
            applying.apply_import(session, ACTOR, wb, report, reason="round trip of the demo plant",
                                  source_sha256="0" * 64)
        with empty.sessions.begin() as session:
            again = export_rows(session)
    finally:
        empty.dispose()
        db_server.drop(name)
    for kind in first:
        assert again[kind] == first[kind], kind
    assert len(first["lots"]) >= 10 and len(first["consumptions"]) >= 10


@pytest.mark.requirement("ISO13485-7.5.9")
def test_dhr_lists_the_deviations_of_a_demo_lot(demo_db):
    from sqlalchemy import or_, select

    from engine.processes import models as pm

    with demo_db.sessions.begin() as session:
        lot = genealogy.get_lot(session, "IS200-2610-002")  # made with an out-of-limit pressure decay
        expected = set(session.scalars(
            select(pm.Deviation.number).outerjoin(pm.DeviationLot, pm.DeviationLot.deviation_id == pm.Deviation.id)
            .where(or_(pm.Deviation.lot_id == lot.id, pm.DeviationLot.lot_id == lot.id))))
        record = dhr.build_dhr(session, lot, verify=False)
        pdf = dhr_pdf.render_pdf(record)
    assert record["quality_events_available"] is True
    assert {d["number"] for d in record["deviations"]} == expected
    assert pdf.startswith(b"%PDF")
