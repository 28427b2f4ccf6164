"""Lots: the manifest pins the spec in effect; genealogy and shop-floor records follow the rules."""
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from audit import SYSTEM
from engine.errors import Conflict, InterlockRefused, RevisionRuleViolation, UnitError, ValidationFailed
from engine.masterdata import revisions, routings
from engine.production import lots, manifest, records

from production_factories import make_plant


def _started(session, plant, number="L-1"):
    lot = lots.plan_lot(session, SYSTEM, lot_number=number, quantity=50, product=plant["product"])
    return lots.start_lot(session, SYSTEM, lot)


def test_start_pins_the_manifest_and_a_new_revision_changes_the_hash(session):
    plant = make_plant(session)
    lot1 = _started(session, plant)
    assert lot1.status == "in_process" and lot1.manifest["product"]["gtin"] == "06901234567892"
    assert lot1.manifest["routing"]["operations"][0]["documents"] == [
        {"document": "SOP-1", "purpose": "sop", "revision": "A", "revision_id": lot1.manifest["routing"][
            "operations"][0]["documents"][0]["revision_id"]}]
    assert lot1.manifest_sha256 == manifest.manifest_hash(lot1.manifest)
    assert _started(session, plant, "L-2").manifest_sha256 == lot1.manifest_sha256
    rev_b = revisions.new_draft(session, SYSTEM, plant["routing"].master, change_summary="tighter")
    routings.update_parameter(session, SYSTEM, rev_b.operations[0].parameters[0], usl=0.4)
    revisions.submit_for_review(session, SYSTEM, rev_b)
    revisions.release(session, SYSTEM, rev_b, reason="ECO")
    lot3 = _started(session, plant, "L-3")
    assert lot3.manifest_sha256 != lot1.manifest_sha256
    diffs = manifest.diff(lot1.manifest, lot3.manifest)
    assert any("parameters[0].usl: 0.5 → 0.4" in d for d in diffs)
    assert lot1.manifest["routing"]["revision"] == "A"  # the old lot keeps what applied to it


def test_consumption_checks_status_bom_unit_and_quantity(session):
    plant = make_plant(session)
    lot = _started(session, plant)
    sup = plant["supplier_lot"]
    with pytest.raises(InterlockRefused, match="on_hold") as refused:
        lots.record_consumption(session, SYSTEM, lot, sup, quantity=10, unit="m")
    assert [b["code"] for b in refused.value.blocking] == ["component_not_released"]
    lots.change_lot_status(session, SYSTEM, sup, "released", reason="incoming inspection passed")
    with pytest.raises(UnitError):
        lots.record_consumption(session, SYSTEM, lot, sup, quantity=10, unit="kg")
    with pytest.raises(InterlockRefused) as err:
        lots.record_consumption(session, SYSTEM, lot, sup, quantity=101, unit="m")
    assert err.value.field == "quantity"
    row = lots.record_consumption(session, SYSTEM, lot, sup, quantity=75000, unit="mm")
    assert row.bom_line is not None and lots.consumed_from(session, sup) == pytest.approx(75)
    assert lots.lots_using(session, sup) == [lot]


def test_equipment_overdue_for_calibration_cannot_be_used(session):
    plant = make_plant(session, calibrated_days_ago=40)
    lot = _started(session, plant)
    with pytest.raises(InterlockRefused) as err:
        records.start_operation(session, SYSTEM, lot, plant["op"], operator=plant["user"], equipment=plant["eq"])
    assert err.value.field == "equipment" and "overdue" in err.value.message
    # a passed calibration makes it usable again
    records.log_equipment_event(session, SYSTEM, plant["eq"], kind="calibration", result="pass",
                                performed_at=plant["now"] - timedelta(hours=1), performed_by="Metrology lab")
    ex = records.start_operation(session, SYSTEM, lot, plant["op"], operator=plant["user"], equipment=plant["eq"])
    assert ex.id is not None


def test_measurement_is_judged_in_its_unit_and_corrected_by_superseding(session):
    plant = make_plant(session)
    lot = _started(session, plant)
    param = plant["op"].parameters[0]
    ok = records.record_measurement(session, SYSTEM, lot, param, value=300, unit="Pa")  # 0.3 kPa
    bad = records.record_measurement(session, SYSTEM, lot, param, value=0.62, unit="kPa")
    assert ok.in_spec is True and bad.in_spec is False
    fixed = records.correct_measurement(session, SYSTEM, bad, value=0.26, reason="transcription error")
    assert fixed.supersedes is bad and fixed.in_spec and bad.value == 0.62
    assert records.current_measurements(session, lot) == [ok, fixed]
    with pytest.raises(Conflict, match="already corrected"):
        records.correct_measurement(session, SYSTEM, bad, value=0.2, reason="again")
    bad.value = 0.1
    with pytest.raises(RevisionRuleViolation, match="cannot be edited"):
        session.flush()


def test_measurement_refusals_name_the_field(session):
    plant = make_plant(session)
    lot = _started(session, plant)
    param = plant["op"].parameters[0]
    with pytest.raises(UnitError):
        records.record_measurement(session, SYSTEM, lot, param, value=1, unit="kg")
    with pytest.raises(ValidationFailed) as err:
        records.record_measurement(session, SYSTEM, lot, param, value=0.1, measured_at=plant["now"] + timedelta(days=1))
    assert err.value.field == "measured_at"
    with pytest.raises(ValidationFailed) as err:
        records.correct_measurement(session, SYSTEM, records.record_measurement(
            session, SYSTEM, lot, param, value=0.1), value=0.2, reason=" ")
    assert err.value.field == "reason"


def test_inspection_result_follows_acceptance_criteria(session):
    plant = make_plant(session)
    lot = _started(session, plant)
    item = plant["op"].inspection_items[0]
    assert records.record_inspection(session, SYSTEM, lot, item, sample_size=10, defects_found=0).result == "pass"
    assert records.record_inspection(session, SYSTEM, lot, item, sample_size=10, defects_found=1).result == "fail"
    with pytest.raises(ValidationFailed) as err:
        records.record_inspection(session, SYSTEM, lot, item, sample_size=5)
    assert err.value.field == "sample_size"


def test_lot_status_moves(session):
    plant = make_plant(session)
    lot = _started(session, plant)
    with pytest.raises(Conflict):
        lots.change_lot_status(session, SYSTEM, lot, "released", reason="too early")
    lots.complete_lot(session, SYSTEM, lot, quantity_made=48)
    with pytest.raises(ValidationFailed) as err:
        lots.change_lot_status(session, SYSTEM, lot, "released", reason="ok", quantity_approved=49)
    assert err.value.field == "quantity_approved"
    lots.change_lot_status(session, SYSTEM, lot, "released", reason="DHR reviewed", quantity_approved=46)
    assert lot.status == "released" and lot.quantity_approved == 46
    lots.change_lot_status(session, SYSTEM, lot, "on_hold", reason="complaint investigation")
    assert lot.quantity_approved == 0


def test_start_refused_without_effective_master_data(session):
    plant = make_plant(session)
    revisions.obsolete(session, SYSTEM, revisions.get_effective_revision(session, plant["product"]), reason="withdrawn")
    lot = lots.plan_lot(session, SYSTEM, lot_number="L-9", quantity=5, product=plant["product"])
    with pytest.raises(ValidationFailed, match="no released revision"):
        lots.start_lot(session, SYSTEM, lot)
    assert lot.status == "planned" and lot.manifest is None


@pytest.mark.as_owner  # the trigger refuses even the schema owner (the app role lacks UPDATE anyway)
def test_postgres_refuses_raw_update_of_measurements(session):
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("PostgreSQL trigger")
    plant = make_plant(session)
    lot = _started(session, plant)
    m = records.record_measurement(session, SYSTEM, lot, plant["op"].parameters[0], value=0.1)
    nested = session.begin_nested()
    with pytest.raises(DBAPIError, match="append-only"):
        session.execute(text("UPDATE parameter_measurements SET value = 0.2 WHERE id = :i"), {"i": m.id})
    nested.rollback()


def test_every_status_move_goes_through_the_transitions_table(session):
    """One writer of a lot's status: a move the table forbids is refused whoever asks for it."""
    plant = make_plant(session)
    lot = _started(session, plant)
    with pytest.raises(Conflict):  # rework is a deviation's disposition, not a status-page move
        lots.change_lot_status(session, SYSTEM, lot, "completed", reason="skip completion")
    lots.complete_lot(session, SYSTEM, lot, quantity_made=48)
    assert lots.move_lot(lot, "in_process") == "completed"  # what a rework disposition does
    lots.complete_lot(session, SYSTEM, lot, quantity_made=47)
    lots.change_lot_status(session, SYSTEM, lot, "released", reason="DHR reviewed")
    with pytest.raises(Conflict) as err:  # a released lot never goes back into production
        lots.move_lot(lot, "in_process")
    assert "released → in_process" in err.value.message and lot.status == "released"
