"""Serialised components (issue #18): serials received with the component lot, fitted into finished
units at assembly, traced and recalled from one component serial, listed per unit in the DHR."""
from __future__ import annotations

import datetime as dt

import click
import pytest
from click.testing import CliRunner
from flask.cli import ScriptInfo
from sqlalchemy import select

from audit import SYSTEM
from audit.models import AuditEntry
from engine.errors import Conflict, NotFound, SealtrailError, ValidationFailed
from engine.masterdata import catalog
from engine.production import lots
from engine.trace import component_serials, dhr, dhr_pdf, genealogy, serials
from engine.users import find_user
from production_factories import MOTOR_GTIN, make_plant

GTIN = "06901234567892"
TODAY = dt.date(2026, 11, 2)


def _motors(session, plant, number="M-1", quantity=4, *, release=True, serial_list=("MT001", "MT002", "MT003")):
    lot = lots.receive_supplier_lot(session, SYSTEM, item=plant["motor"], lot_number=number, supplier="Maxon",
                                    supplier_lot_number=f"S-{number}", quantity=quantity, unit="pcs",
                                    received_on=TODAY)
    component_serials.receive_component_serials(session, SYSTEM, lot, list(serial_list))
    if release:
        lots.change_lot_status(session, SYSTEM, lot, "released", reason="incoming inspection passed")
    return lot


def _unit_lot(session, plant, motors, number="L-CS", quantity=5):
    lot = lots.start_lot(session, SYSTEM, lots.plan_lot(session, SYSTEM, lot_number=number, quantity=quantity,
                                                        product=plant["product"]))
    if plant["supplier_lot"].status == "on_hold":
        lots.change_lot_status(session, SYSTEM, plant["supplier_lot"], "released", reason="incoming inspection passed")
    lots.record_consumption(session, SYSTEM, lot, plant["supplier_lot"], quantity=7.5, unit="m")
    if motors is not None:
        lots.record_consumption(session, SYSTEM, lot, motors, quantity=2, unit="pcs")
    serials.assign_serials(session, SYSTEM, lot, ["U001", "U002", "U003"])
    return lot


def _scan(serial, lot=None):
    return f"(01){MOTOR_GTIN}" + (f"(10){lot}" if lot else "") + f"(21){serial}"


def test_a_serialised_component_needs_its_gtin_and_stays_serialised_once_it_has_serials(session):
    plant = make_plant(session)
    tube = plant["comp"]
    with pytest.raises(ValidationFailed, match="needs its GTIN") as exc:
        catalog.update_item(session, SYSTEM, tube, reason="motor-style tracking", serialised=True)
    assert exc.value.field == "gtin"
    with pytest.raises(ValidationFailed, match="check digit"):
        catalog.update_item(session, SYSTEM, tube, reason="x", gtin="04012345000017", serialised=True)
    with pytest.raises(ValidationFailed, match="finished good"):
        catalog.update_item(session, SYSTEM, plant["fg"], reason="x", gtin="04012345000023", serialised=True)
    catalog.update_item(session, SYSTEM, tube, reason="supplier labels each reel", gtin="4012345000023",
                        serialised=True)
    assert (tube.gtin, tube.serialised) == ("04012345000023", True)
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "item.update")
                            .order_by(AuditEntry.id.desc())).first()
    assert entry.reason == "supplier labels each reel" and entry.after_value["serialised"] is True
    assert entry.before_value["serialised"] is False and entry.after_value["gtin"] == "04012345000023"
    component_serials.receive_component_serials(session, SYSTEM, plant["supplier_lot"], ["REEL1"])
    with pytest.raises(Conflict, match="stays serialised"):
        catalog.update_item(session, SYSTEM, tube, reason="x", serialised=False)


def test_serials_are_received_with_the_component_lot_within_its_quantity(session):
    plant = make_plant(session, serialised_part=True)
    motors = _motors(session, plant, release=False)
    assert [s.serial for s in component_serials.component_serials_of_lot(session, motors)] == [
        "MT001", "MT002", "MT003"]
    with pytest.raises(ValidationFailed, match="4 unit"):
        component_serials.receive_component_serials(session, SYSTEM, motors, ["MT004", "MT005"])
    with pytest.raises(Conflict, match="MT002"):
        component_serials.receive_component_serials(session, SYSTEM, motors, ["MT002"])
    with pytest.raises(ValidationFailed, match="not serialised"):
        component_serials.receive_component_serials(session, SYSTEM, plant["supplier_lot"], ["T1"])
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "lot.component_serials_received")).one()
    assert entry.object_id == "M-1" and entry.after_value == {"item": "MOTOR", "count": 3, "first": "MT001",
                                                        "last": "MT003", "total": 3}


def test_fitting_refuses_naming_the_serial_and_the_reason(session):
    plant = make_plant(session, serialised_part=True)
    held = _motors(session, plant, "M-HOLD", release=False, serial_list=("MH001",))
    motors = _motors(session, plant)
    other = _motors(session, plant, "M-2", serial_list=("MX001",))  # released, but never consumed
    lot = _unit_lot(session, plant, motors)
    unit = f"(01){GTIN}(21)U001"
    with pytest.raises(NotFound, match="'MT999'.*not received"):
        component_serials.fit_components(session, SYSTEM, unit, [_scan("MT999")])
    with pytest.raises(Conflict, match="MH001 is from lot M-HOLD, which is on_hold"):
        component_serials.fit_components(session, SYSTEM, unit, [_scan("MH001")])
    with pytest.raises(Conflict, match="MX001 is from lot M-2, which lot L-CS has not consumed"):
        component_serials.fit_components(session, SYSTEM, unit, [_scan("MX001")])
    with pytest.raises(ValidationFailed, match="scanned lot WRONG"):
        component_serials.fit_components(session, SYSTEM, unit, [_scan("MT001", "WRONG")])
    with pytest.raises(ValidationFailed, match="scanned twice"):
        component_serials.fit_components(session, SYSTEM, unit, [_scan("MT001"), _scan("MT001")])
    with pytest.raises(Conflict, match="already holds 1 MOTOR, its BOM takes 1"):
        component_serials.fit_components(session, SYSTEM, unit, [_scan("MT001"), _scan("MT002")])
    # a wrong item: the tube reel's serial is not on this set's BOM as a serialised part of another GTIN
    catalog.update_item(session, SYSTEM, plant["comp"], reason="reels are labelled", gtin="04012345000023",
                        serialised=True)
    spare = lots.receive_supplier_lot(session, SYSTEM, item=plant["comp"], lot_number="R-2", supplier="ACME",
                                      supplier_lot_number="A-78", quantity=10, unit="m", received_on=TODAY)
    component_serials.receive_component_serials(session, SYSTEM, spare, ["REEL7"])
    lots.change_lot_status(session, SYSTEM, spare, "released", reason="ok")
    with pytest.raises(Conflict, match="REEL7 is from lot R-2, which lot L-CS has not consumed"):
        component_serials.fit_components(session, SYSTEM, unit, ["(01)04012345000023(21)REEL7"])
    assert session.scalars(select(AuditEntry).where(AuditEntry.action == "serial.components_fitted")).all() == []
    hit, rows = component_serials.fit_components(session, SYSTEM, unit, [_scan("MT001", "S-M-1")])
    assert hit.lot is lot and [r.serial for r in rows] == ["MT001"] and rows[0].unit_serial.serial == "U001"
    with pytest.raises(Conflict, match="MT001 was already fitted into unit U001 of lot L-CS"):
        component_serials.fit_components(session, SYSTEM, f"(01){GTIN}(21)U002", [_scan("MT001")])
    assert other.status == "released" and held.status == "on_hold"


def test_wrong_item_is_refused(session):
    plant = make_plant(session, serialised_part=True)
    motors = _motors(session, plant)
    valve = catalog.create_item(session, SYSTEM, code="VALVE", name="Valve", item_type="component", base_unit="pcs",
                                purchased=True, gtin="04012345000030", serialised=True)
    vlot = lots.receive_supplier_lot(session, SYSTEM, item=valve, lot_number="V-1", supplier="ACME",
                                     supplier_lot_number="V-77", quantity=2, unit="pcs", received_on=TODAY)
    component_serials.receive_component_serials(session, SYSTEM, vlot, ["V1"])
    lots.change_lot_status(session, SYSTEM, vlot, "released", reason="ok")
    _unit_lot(session, plant, motors)
    with pytest.raises(Conflict, match="V1 is VALVE, which the BOM of lot L-CS does not list"):
        component_serials.fit_components(session, SYSTEM, f"(01){GTIN}(21)U002", ["(01)04012345000030(21)V1"])


def test_trace_recall_and_dhr_from_a_component_serial(session):
    plant = make_plant(session, serialised_part=True)
    motors = _motors(session, plant)
    lot = _unit_lot(session, plant, motors)
    component_serials.fit_components(session, SYSTEM, f"(01){GTIN}(21)U002", [_scan("MT003")])
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "serial.components_fitted")).one()
    assert entry.object_id == "L-CS" and entry.after_value["unit_serial"] == "U002"
    assert entry.after_value["components"] == [{"item": "MOTOR", "serial": "MT003", "lot": "M-1"}]
    assert genealogy.get_lot(session, _scan("MT003")) is motors  # the lot it came with
    used = component_serials.where_fitted(component_serials.get_component_serial(session, _scan("MT003")))
    assert used["units"][0]["serial"] == "U002" and [x["lot_number"] for x in used["lots"]] == ["L-CS"]
    idle = component_serials.where_fitted(component_serials.get_component_serial(session, _scan("MT001")))
    assert idle["units"] == [] and idle["lots"] == []
    record = dhr.build_dhr(session, lot, verify=False)
    by_serial = {s["serial"]: s["components"] for s in record["serials"]}
    assert [c["serial"] for c in by_serial["U002"]] == ["MT003"] and by_serial["U001"] == []
    text = dhr_pdf.render_pdf(record)
    assert text.startswith(b"%PDF")


def test_cli_receive_fit_trace_and_recall(fresh_db, monkeypatch):
    from web.app import create_app
    from web.cli import cli, serials as serials_cli

    with fresh_db.sessions.begin() as session:
        plant = make_plant(session, serialised_part=True)
        motors = _motors(session, plant, serial_list=("MT001",))
        _unit_lot(session, plant, motors)
        motors2 = lots.receive_supplier_lot(session, SYSTEM, item=plant["motor"], lot_number="M-9", supplier="Maxon",
                                            supplier_lot_number="S-9", quantity=2, unit="pcs", received_on=TODAY)
    signed = []

    def fake_signed_change(by, roles, change, **kw):
        """The change as signed_change makes it, without the password prompt (signing has its own tests)."""
        try:
            with fresh_db.sessions.begin() as session:
                result = change(session, find_user(session, by))[0]
        except SealtrailError as exc:
            raise click.ClickException(exc.message) from exc
        signed.append(kw)
        return result

    monkeypatch.setattr(serials_cli, "signed_change", fake_signed_change)
    app = create_app({"TESTING": True}, settings=fresh_db.settings())
    try:
        run = lambda *a: CliRunner().invoke(cli, list(a), obj=ScriptInfo(create_app=lambda: app))  # noqa: E731
        received = run("serials", "receive", "M-9", "--first", "MT101", "--count", "2", "--by", "op1")
        fitted = run("serials", "fit", f"(01){GTIN}(21)U003", _scan("MT001"), "--by", "op1")
        refused = run("serials", "fit", f"(01){GTIN}(21)U001", _scan("MT001"), "--by", "op1")
        from_part = run("trace", _scan("MT001"), "--forward")
        from_unit = run("trace", f"(01){GTIN}(21)U003")
        recall = run("recall", _scan("MT001"))
    finally:
        app.extensions["sealtrail.engine"].dispose()
    assert received.exit_code == 0, received.output
    assert "lot M-9 (MOTOR): 2 component serial(s) recorded, MT101 … MT102" in received.output
    assert fitted.exit_code == 0, fitted.output
    assert "unit U003 of lot L-CS: MOTOR serial MT001 (lot M-1) fitted" in fitted.output
    assert refused.exit_code != 0 and "MT001 was already fitted into unit U003" in refused.output
    assert from_part.exit_code == 0, from_part.output
    assert "component serial MT001 of MOTOR: received with lot M-1" in from_part.output
    assert "fitted into unit U003 of lot L-CS" in from_part.output
    assert "component MOTOR serial MT001 (lot M-1)" in from_unit.output
    assert recall.exit_code == 0 and "1 finished unit(s) affected" in recall.output
    assert "unit U003" in recall.output and "lot L-CS" in recall.output
    assert [k["record_type"] for k in signed] == ["component_serials", "lot_serial"]
    assert motors2.lot_number == "M-9"


def test_the_demo_shows_a_serialised_component(demo_db):
    """The demo's luer-lock connector is serialised: its serials trace to their infusion sets, whose DHR lists them."""
    from types import SimpleNamespace

    from engine.demo.plant_data import LUER_GTIN
    from tests.web.conftest import sign_in
    from web.app import create_app
    from web.cli import cli

    app = create_app({"TESTING": True, "SESSION_COOKIE_SECURE": False}, settings=demo_db.settings())
    try:
        run = lambda *a: CliRunner().invoke(cli, list(a), obj=ScriptInfo(create_app=lambda: app))  # noqa: E731
        traced = run("trace", f"(01){LUER_GTIN}(21)HLC2600003")
        spare = run("trace", f"(01){LUER_GTIN}(21)HLC2600008")
        client = app.test_client()
        password = demo_db.demo.credentials()["zhao.min"].password
        assert sign_in(client, SimpleNamespace(username="zhao.min", password=password)).status_code == 302
        page = client.get("/trace/dhr/IS200-2609-001").get_data(as_text=True)
    finally:
        app.extensions["sealtrail.engine"].dispose()
    assert traced.exit_code == 0, traced.output
    assert "component serial HLC2600003 of CMP-LUER" in traced.output
    assert "fitted into unit IS2609000003 of lot IS200-2609-001 [released]" in traced.output
    assert "not fitted into any unit yet" in spare.output
    assert 'id="unit-components"' in page and "HLC2600005" in page and "IS2609000005" in page
