"""Review by exception: a clean lot has none; each defect shows exactly its exception."""
from __future__ import annotations

from datetime import timedelta

import pytest

from engine.processes.release_checks import CHECKS, exceptions_for
from tests.processes.processes_plant import add_measurement, at, build_plant


@pytest.fixture()
def plant(session):
    return build_plant(session)


def keys(session, plant, lot="P-001"):
    return [e["key"] for e in exceptions_for(session, plant.lots[lot])["exceptions"]]


def test_clean_lot_has_no_exceptions_and_lists_every_check(session, plant):
    result = exceptions_for(session, plant.lots["P-001"])
    assert result["exceptions"] == []
    assert [c["check"] for c in result["checks"]] == [c[0] for c in CHECKS]
    assert all(c["passed"] for c in result["checks"])


def test_out_of_limit_value_is_exactly_one_exception(session, plant):
    bad = add_measurement(session, plant, "press_force", 120.0, at(plant.work_day, 8, 40))
    assert keys(session, plant) == [f"parameter_limits:ASSY/press_force:{bad.id}"]


def test_overdue_calibration_on_the_date_of_use_is_exactly_one_exception(session, plant):
    leak = plant.equipment["EQ-LEAK"]
    leak.last_calibrated_on = plant.work_day - timedelta(days=400)
    leak.calibration_due_on = plant.work_day - timedelta(days=1)
    session.flush()
    assert keys(session, plant) == ["equipment:calibration:EQ-LEAK"]


def test_calibration_renewed_after_use_does_not_cover_the_use(session, plant):
    leak = plant.equipment["EQ-LEAK"]
    leak.last_calibrated_on = plant.work_day + timedelta(days=1)  # calibrated only after the lot was tested
    leak.calibration_due_on = plant.work_day + timedelta(days=366)
    session.flush()
    assert keys(session, plant) == ["equipment:calibration:EQ-LEAK"]


@pytest.mark.requirement("21CFR11.10(i)")
@pytest.mark.as_owner  # training records are insert-only for the app: the test removes them as the owner
def test_untrained_operator_and_missing_operation(session, plant):
    from engine.users.models import TrainingRecord
    from sqlalchemy import delete

    session.execute(delete(TrainingRecord))
    test_run = next(ex for ex in plant.lots["P-001"].executions if ex.operation.code == "TEST")
    test_run.ended_at = None  # started, never finished nor signed off
    session.flush()
    assert keys(session, plant) == ["routing_complete:TEST", "training:op_li:SOP-ASSY",
                                    f"record_complete:execution:{test_run.id}"]


def test_corrections_late_entries_components_and_holds(session, plant):
    from engine.processes.holds import hold_lot

    original = add_measurement(session, plant, "leak_rate", 0.3, at(plant.work_day, 10, 50))
    fixed = add_measurement(session, plant, "leak_rate", 0.25, at(plant.work_day, 10, 50), supersedes=original,
                            reason="")
    late = add_measurement(session, plant, "leak_rate", 0.21, at(plant.work_day, 10, 55),
                           recorded_at=at(plant.work_day, 10, 55) + timedelta(hours=30))
    plant.lots["T-001"].status = "completed"
    session.flush()
    got = keys(session, plant)
    assert f"data_integrity:correction:measurement:{fixed.id}" in got
    assert "data_integrity:late_entries" in got
    late_entry = next(e for e in exceptions_for(session, plant.lots["P-001"])["exceptions"]
                      if e["key"] == "data_integrity:late_entries")
    assert late_entry["details"]["measurement_ids"] == [late.id]
    assert "component_lots:T-001" in got
    hold_lot(session, plant.actor("qa_zhao"), plant.lots["P-001"], reason="test hold")
    assert "lot_status:on_hold" in keys(session, plant)


def test_use_between_breakdown_and_repair_is_an_exception(session, plant):
    from engine.production.models import EquipmentLog

    press = plant.equipment["EQ-PRESS"]
    session.add_all([
        EquipmentLog(equipment_id=press.id, kind="breakdown", performed_at=at(plant.work_day, 7), performed_by="x"),
        EquipmentLog(equipment_id=press.id, kind="repair", result="pass", performed_at=at(plant.work_day, 12),
                     performed_by="maintenance")])
    session.flush()
    assert keys(session, plant) == ["equipment:out_of_service:EQ-PRESS"]
