"""Live interlocks and the failed-calibration deviation, on the demo plant."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from audit import SYSTEM
from engine.db import utcnow
from engine.errors import InterlockRefused, ValidationFailed
from engine.masterdata.models import Equipment, Product, Tooling
from engine.processes.calibration_failures import record_equipment_event
from engine.processes.models import DeviationLot
from engine.production import lots, records
from engine.users import accounts
from engine.workflows import deploy_all_shipped, open_tasks


def _new_lot(s, number="IS200-2612-101"):
    product = s.scalar(select(Product).where(Product.code == "IS-200"))
    lot = lots.plan_lot(s, SYSTEM, lot_number=number, quantity=100, product=product)
    return lots.start_lot(s, SYSTEM, lot)


def _op(lot, code):
    return next(op for op in lot.routing_revision.operations if op.code == code)


def _eq(s, code):
    return s.scalar(select(Equipment).where(Equipment.code == code))


@pytest.mark.requirement("21CFR11.10(i)")
def test_leak_test_refuses_overdue_leak_tester_and_untrained_operator_at_once(demo_db):
    with demo_db.sessions.begin() as s:
        lot = _new_lot(s)
        leak = _op(lot, "LEAK")
        zhang, li = accounts.get_user_by_name(s, "zhang.wei"), accounts.get_user_by_name(s, "li.na")
        with pytest.raises(InterlockRefused) as refused:
            records.start_operation(s, SYSTEM, lot, leak, operator=zhang, equipment=_eq(s, "LT-01"))
        assert [(b["code"], b["record"]) for b in refused.value.blocking] == [("equipment_calibration", "LT-01")]
        assert "LT-01" in refused.value.message and "calibration" in refused.value.message
        with pytest.raises(InterlockRefused) as refused:
            records.start_operation(s, SYSTEM, lot, leak, operator=li, equipment=_eq(s, "LT-01"))
        assert [(b["code"], b["record"]) for b in refused.value.blocking] == [
            ("training", "SOP-001 rev B"), ("equipment_calibration", "LT-01")]
        assert "li.na is not trained on SOP-001 rev B" in refused.value.message


@pytest.mark.requirement("21CFR11.10(i)")
def test_a_passed_calibration_and_training_clear_the_interlocks(demo_db):
    from engine.masterdata.revisions import effective_revision
    from engine.masterdata.models import Document
    from engine.users.training import record_training

    with demo_db.sessions.begin() as s:
        lot = _new_lot(s)
        li, lt = accounts.get_user_by_name(s, "li.na"), _eq(s, "LT-01")
        records.log_equipment_event(s, SYSTEM, lt, kind="calibration", result="pass",
                                    performed_at=utcnow() - timedelta(hours=1), performed_by="Metrology lab")
        sop = s.scalar(select(Document).where(Document.code == "SOP-001"))
        record_training(s, SYSTEM, li, effective_revision(s, sop), trained_on=utcnow().date(), result="fail", score=55)
        with pytest.raises(InterlockRefused, match="SOP-001 rev B"):  # a failed assessment does not count
            records.start_operation(s, SYSTEM, lot, _op(lot, "LEAK"), operator=li, equipment=lt)
        record_training(s, SYSTEM, li, effective_revision(s, sop), trained_on=utcnow().date(), score=90,
                        method="read_and_acknowledge")
        ex = records.start_operation(s, SYSTEM, lot, _op(lot, "LEAK"), operator=li, equipment=lt)
        assert ex.transcribed_from is None


@pytest.mark.requirement("21CFR11.10(i)")
def test_tooling_past_its_life_and_missing_equipment_are_named(demo_db):
    with demo_db.sessions.begin() as s:
        lot = _new_lot(s)
        fixture = s.scalar(select(Tooling).where(Tooling.code == "FIX-ASM-01"))
        fixture.cycles_used = fixture.life_cycles
        zhang = accounts.get_user_by_name(s, "zhang.wei")
        with pytest.raises(InterlockRefused) as refused:
            records.start_operation(s, SYSTEM, lot, _op(lot, "ASM"), operator=zhang, tooling=fixture)
        assert [b["code"] for b in refused.value.blocking] == ["tooling_life"]
        with pytest.raises(InterlockRefused) as refused:
            records.start_operation(s, SYSTEM, lot, _op(lot, "UVB"), operator=zhang)
        assert [(b["code"], b["record"]) for b in refused.value.blocking] == [("equipment_missing", "UV-02")]


@pytest.mark.requirement("21CFR11.10(i)")
def test_measurement_on_an_execution_is_rechecked(demo_db):
    with demo_db.sessions.begin() as s:
        lot = _new_lot(s)
        zhang, uv = accounts.get_user_by_name(s, "zhang.wei"), _eq(s, "UV-02")
        op = _op(lot, "UVB")
        ex = records.start_operation(s, SYSTEM, lot, op, operator=zhang, equipment=uv)
        records.record_measurement(s, SYSTEM, lot, op.parameters[0], value=60, execution=ex)
        uv.status = "out_of_service"
        with pytest.raises(InterlockRefused, match="UV-02 is out_of_service"):
            records.record_measurement(s, SYSTEM, lot, op.parameters[0], value=61, execution=ex)


@pytest.mark.requirement("21CFR11.10(i)")
def test_consumption_beyond_the_bom_and_expired_lots_are_refused_with_every_reason(demo_db):
    with demo_db.sessions.begin() as s:
        lot = _new_lot(s)  # 100 sets: 1 clamp each, 5 % tolerance
        clamp = lots.get_lot(s, "RCV-2609-006")
        lots.record_consumption(s, SYSTEM, lot, clamp, quantity=100, unit="pcs")
        lots.record_consumption(s, SYSTEM, lot, clamp, quantity=5, unit="pcs")
        clamp.expires_on = utcnow().date() - timedelta(days=1)
        with pytest.raises(InterlockRefused) as refused:
            lots.record_consumption(s, SYSTEM, lot, clamp, quantity=1, unit="pcs")
        assert [b["code"] for b in refused.value.blocking] == ["component_expired", "quantity_beyond_bom"]
        pvc = lots.get_lot(s, "RCV-2609-001")
        with pytest.raises(InterlockRefused) as refused:
            lots.record_consumption(s, SYSTEM, lot, pvc, quantity=1, unit="kg")
        assert [b["code"] for b in refused.value.blocking] == ["component_not_on_bom"]


@pytest.mark.requirement("21CFR11.10(i)")
def test_the_consumption_tolerance_is_the_bom_lines(demo_db):
    from engine.masterdata import boms, revisions
    from engine.masterdata.models import Bom, BomLine

    with demo_db.sessions.begin() as s:
        lot = _new_lot(s)  # 100 sets, 1 clamp each, the line's 5 %
        clamp = lots.get_lot(s, "RCV-2609-006")
        lots.record_consumption(s, SYSTEM, lot, clamp, quantity=102, unit="pcs")
        with pytest.raises(InterlockRefused) as refused:
            lots.record_consumption(s, SYSTEM, lot, clamp, quantity=4, unit="pcs")
        assert "105 pcs" in refused.value.blocking[0]["message"]
        assert "+5 % tolerance" in refused.value.blocking[0]["message"]
        # a new BOM revision tightens the clamp line to 1 %: lots started under it are held to that
        bom = s.get(Bom, s.get(type(lot.bom_revision), lot.bom_revision_id).bom_id)
        draft = revisions.new_draft(s, SYSTEM, bom, change_summary="clamp losses 1 %")
        line = next(ln for ln in draft.lines if ln.component_id == clamp.item_id)
        with pytest.raises(ValidationFailed, match="tolerance_pct"):
            boms.update_line(s, SYSTEM, line, tolerance_pct=150.0)
        boms.update_line(s, SYSTEM, line, tolerance_pct=1.0, reason="clamp losses measured")
        revisions.submit_for_review(s, SYSTEM, draft)
        revisions.release(s, SYSTEM, draft, reason="test")
        tight = _new_lot(s, "IS200-2612-102")
        assert s.get(BomLine, line.id).tolerance_pct == 1.0
        with pytest.raises(InterlockRefused, match=r"101 pcs the BOM allows .*\+1 % tolerance"):
            lots.record_consumption(s, SYSTEM, tight, clamp, quantity=102, unit="pcs")


@pytest.mark.requirement("21CFR11.10(i)")
def test_failed_calibration_of_uv01_opens_a_deviation_holding_unreleased_lots(demo_db):
    with demo_db.sessions.begin() as s:
        deploy_all_shipped(s, SYSTEM)
        outcome = record_equipment_event(s, SYSTEM, _eq(s, "UV-01"), kind="calibration", result="fail",
                                         performed_at=utcnow() - timedelta(hours=2), performed_by="Metrology lab",
                                         certificate_ref="CAL-UV01-F", as_found="41 mW/cm² at 60 set")
        dev = outcome.deviation
        by_lot = {row["lot_number"]: row for row in outcome.lots}
        # UV-01 passed calibration 60 days ago: DRIP-2610-01 (48 days ago) is suspect, DRIP-2609-01 is not
        assert by_lot["DRIP-2610-01"]["action"] == "recall_assessment"
        assert by_lot["DRIP-2610-01"]["operations"] == ["10 UVB-S"] and by_lot["DRIP-2610-01"]["measurements"] > 0
        assert "DRIP-2609-01" not in by_lot
        # the finished lot made from it is held; released lots are listed for recall assessment
        assert by_lot["IS200-2610-003"]["via"] == "DRIP-2610-01" and by_lot["IS200-2610-003"]["action"] == "hold"
        assert lots.get_lot(s, "IS200-2610-003").status == "on_hold"
        assert lots.get_lot(s, "DRIP-2610-01").status == "released"
        assert dev.details["recall_assessment"] == ["DRIP-2610-01"]
        assert dev.source == "calibration" and "UV-01" in dev.description
        held = s.scalars(select(DeviationLot).where(DeviationLot.deviation_id == dev.id)).all()
        assert [link.lot.lot_number for link in held] == ["IS200-2610-003"]
        assert {t.spec_name for t in open_tasks(s, dev.process_instance_id)} == {"triage_deviation"}
        assert _eq(s, "UV-01").status == "out_of_service"
