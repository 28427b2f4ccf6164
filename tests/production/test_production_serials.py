"""Unit serial numbers, GS1 AI 21 (issue #18): assigned to a finished lot, scanned at packing, traced."""
from __future__ import annotations

import pytest
from click.testing import CliRunner
from flask.cli import ScriptInfo

from audit import SYSTEM
from engine.errors import Conflict, NotFound, ValidationFailed
from engine.production import lots
from engine.trace import dhr, genealogy, serials
from production_factories import make_plant

GTIN = "06901234567892"


def _lot(session, plant, number="L-SN", quantity=5):
    lot = lots.start_lot(session, SYSTEM, lots.plan_lot(session, SYSTEM, lot_number=number, quantity=quantity,
                                                        product=plant["product"]))
    if plant["supplier_lot"].status == "on_hold":
        lots.change_lot_status(session, SYSTEM, plant["supplier_lot"], "released", reason="incoming inspection passed")
    lots.record_consumption(session, SYSTEM, lot, plant["supplier_lot"], quantity=7.5, unit="m")
    return lot


def test_serials_are_assigned_once_within_the_lot_size(session):
    plant = make_plant(session)
    lot = _lot(session, plant)
    rows = serials.assign_serials(session, SYSTEM, lot, serials.expand_range("SN0098", 3))
    assert [r.serial for r in rows] == ["SN0098", "SN0099", "SN0100"]
    with pytest.raises(Conflict, match="SN0099"):  # never reused, here or in another lot of the item
        serials.assign_serials(session, SYSTEM, _lot(session, plant, "L-SN-2"), ["SN0099"])
    with pytest.raises(ValidationFailed, match="5 unit"):
        serials.assign_serials(session, SYSTEM, lot, ["A1", "A2", "A3"])
    with pytest.raises(ValidationFailed, match="CSET 82"):
        serials.assign_serials(session, SYSTEM, lot, ["SN 7"])
    with pytest.raises(ValidationFailed, match="twice"):
        serials.assign_serials(session, SYSTEM, lot, ["B1", "B1"])
    with pytest.raises(ValidationFailed, match="not a finished-device lot"):
        serials.assign_serials(session, SYSTEM, plant["supplier_lot"], ["C1"])
    with pytest.raises(ValidationFailed, match="at most 20"):
        serials.expand_range("X" * 19 + "9", 2)


def test_a_scanned_udi_with_a_serial_finds_the_lot_and_its_components(session):
    plant = make_plant(session)
    lot = _lot(session, plant)
    serials.assign_serials(session, SYSTEM, lot, ["SN0001", "SN0002"])
    scan = f"(01){GTIN}(21)SN0002"
    assert genealogy.get_lot(session, scan) is lot
    assert genealogy.get_lot(session, f"]d201{GTIN}10L-SN\x1d21SN0002") is lot  # raw DataMatrix with GS
    backward = genealogy.trace(session, genealogy.get_lot(session, scan), "backward")
    assert {t.lot_number for t in backward.lots.values()} == {"R-1"}
    with pytest.raises(ValidationFailed, match="belongs to lot L-SN"):
        genealogy.get_lot(session, f"(01){GTIN}(10)OTHER(21)SN0002")
    with pytest.raises(NotFound, match="SN0404"):
        genealogy.get_lot(session, f"(01){GTIN}(21)SN0404")
    with pytest.raises(NotFound):
        genealogy.get_lot(session, f"(01)09506000134352(21)SN0002")  # another GTIN


def test_packing_scans_each_unit_once_and_the_dhr_lists_the_serials(session):
    plant = make_plant(session)
    lot = _lot(session, plant)
    serials.assign_serials(session, SYSTEM, lot, ["SN0001", "SN0002"])
    hit = serials.record_packing(session, SYSTEM, f"(01){GTIN}(10)L-SN(21)SN0001")
    assert hit.serial.packed_at is not None and hit.lot is lot
    with pytest.raises(Conflict, match="already packed"):
        serials.record_packing(session, SYSTEM, f"(01){GTIN}(21)SN0001")
    with pytest.raises(ValidationFailed, match="serial"):
        serials.record_packing(session, SYSTEM, f"(01){GTIN}(10)L-SN")
    record = dhr.build_dhr(session, lot, verify=False)
    assert [s["serial"] for s in record["serials"]] == ["SN0001", "SN0002"]
    assert record["serials"][0]["udi_hri"].endswith("(10)L-SN(21)SN0001") and record["serials"][0]["packed_at"]
    assert record["serials"][1]["packed_at"] is None


def test_trace_command_with_a_serial(fresh_db):
    from web.app import create_app
    from web.cli import cli

    with fresh_db.sessions.begin() as session:
        plant = make_plant(session)
        serials.assign_serials(session, SYSTEM, _lot(session, plant), ["SN0007"])
    app = create_app({"TESTING": True}, settings=fresh_db.settings())
    try:
        run = lambda *a: CliRunner().invoke(cli, list(a), obj=ScriptInfo(create_app=lambda: app))  # noqa: E731
        result = run("trace", f"(01){GTIN}(21)SN0007")
        listing = run("serials", "list", "L-SN")
    finally:
        app.extensions["sealtrail.engine"].dispose()
    assert result.exit_code == 0, result.output
    assert result.output.startswith("serial SN0007: a unit of lot L-SN\nL-SN") and "R-1" in result.output
    assert "SN0007  not packed" in listing.output


def test_the_demo_serials_trace_to_their_lot_and_components(demo_db):
    with demo_db.sessions() as session:
        lot = genealogy.get_lot(session, f"(01){GTIN}(21)IS2609000017")
        assert lot.lot_number == "IS200-2609-001"
        numbers = {t.lot_number for t in genealogy.trace(session, lot, "backward").lots.values()}
        assert {"TUBE-2609-01", "RCV-2609-001", "DRIP-2609-01"} <= numbers
        assert len(serials.serials_of(session, lot)) == 1985
