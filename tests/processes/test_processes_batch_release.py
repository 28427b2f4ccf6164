"""Batch release end to end: review by exception, dispositions, QA release signature or rejection."""
from __future__ import annotations

from datetime import timedelta

import pytest

from engine.errors import RuleViolation, ValidationFailed
from engine.processes.holds import active_holds
from engine.processes.release import request_release
from engine.workflows import get_instance, workflow_data
from tests.processes.processes_plant import add_measurement, at


def _review(quality, iid):
    return workflow_data(quality.session, get_instance(quality.session, iid))["release_review"]


@pytest.mark.requirement("ISO13485-7.5.1", "ISO13485-7.5.8")
def test_clean_lot_shows_no_exceptions_and_is_released_with_the_released_meaning(quality):
    lot = quality.plant.lots["P-001"]
    iid = request_release(quality.session, quality.actor("qa_zhao"), lot).id
    review = _review(quality, iid)
    assert review["no_exceptions"] and review["exceptions"] == []
    assert len(review["checks"]) == 10 and all(c["passed"] for c in review["checks"])
    quality.complete(iid, "review_release_exceptions", "qa_zhao",
                     {"exception_dispositions": [], "review_comment": "no exceptions"})
    done = quality.complete(iid, "decide_lot_release", "qm_chen", {"release_decision": "release",
                                                                    "release_comment": ""})
    assert done.task.meaning == "released"
    assert lot.status == "released" and lot.quantity_approved == lot.quantity_made
    assert get_instance(quality.session, iid).status == "completed"


@pytest.mark.requirement("ISO13485-7.5.1", "ISO13485-7.5.8")
def test_out_of_limit_value_and_overdue_calibration_are_exactly_the_exceptions(quality):
    plant, s = quality.plant, quality.session
    bad = add_measurement(s, plant, "press_force", 118.0, at(plant.work_day, 8, 45))
    leak = plant.equipment["EQ-LEAK"]
    leak.last_calibrated_on, leak.calibration_due_on = plant.work_day - timedelta(days=400), plant.work_day - timedelta(days=2)
    s.flush()
    iid = request_release(s, quality.actor("qa_zhao"), plant.lots["P-001"]).id
    review = _review(quality, iid)
    assert [e["key"] for e in review["exceptions"]] == [
        f"parameter_limits:ASSY/press_force:{bad.id}", "equipment:calibration:EQ-LEAK"]
    assert not review["no_exceptions"]


@pytest.mark.requirement("ISO13485-7.5.1", "ISO13485-7.5.8")
def test_every_exception_needs_a_disposition_and_a_deviation_blocks_release(quality):
    plant, s = quality.plant, quality.session
    bad = add_measurement(s, plant, "press_force", 118.0, at(plant.work_day, 8, 45))
    key = f"parameter_limits:ASSY/press_force:{bad.id}"
    iid = request_release(s, quality.actor("qa_zhao"), plant.lots["P-001"]).id
    with pytest.raises(ValidationFailed, match="without disposition"):
        with s.begin_nested():
            quality.complete(iid, "review_release_exceptions", "qa_zhao",
                             {"exception_dispositions": [], "review_comment": ""})
    quality.complete(iid, "review_release_exceptions", "qa_zhao", {"exception_dispositions": [
        {"key": key, "action": "raise_deviation", "justification": "press force above USL on one unit"}],
        "review_comment": "deviation raised"})
    lot = plant.lots["P-001"]
    assert lot.status == "on_hold"  # the form says "the lot goes on hold": raising it holds the lot
    hold = active_holds(s, lot)[0]
    assert hold.deviation_id is not None and "release review" in hold.reason
    with pytest.raises(RuleViolation, match="on hold") as refused:
        with s.begin_nested():
            quality.complete(iid, "decide_lot_release", "qm_chen", {"release_decision": "release",
                                                                    "release_comment": ""})
    assert refused.value.status == 422  # a rule refuses it; nothing changed underneath: not a 409
    assert lot.status == "on_hold"


@pytest.mark.requirement("ISO13485-7.5.1", "ISO13485-7.5.8")
def test_return_for_re_review_then_reject(quality):
    plant, s = quality.plant, quality.session
    bad = add_measurement(s, plant, "press_force", 118.0, at(plant.work_day, 8, 45))
    key = f"parameter_limits:ASSY/press_force:{bad.id}"
    iid = request_release(s, quality.actor("qa_zhao"), plant.lots["P-001"]).id
    dispo = {"exception_dispositions": [{"key": key, "action": "justified", "justification": "retested: 101 N"}],
             "review_comment": ""}
    quality.complete(iid, "review_release_exceptions", "qa_zhao", dispo)
    quality.complete(iid, "decide_lot_release", "qm_chen", {"release_decision": "return",
                                                            "release_comment": "attach the retest record"})
    assert set(quality.tasks(iid)) == {"review_release_exceptions"}
    assert _review(quality, iid)["round"] == 2
    quality.complete(iid, "review_release_exceptions", "qa_zhao", dispo)
    done = quality.complete(iid, "decide_lot_release", "qm_chen", {"release_decision": "reject",
                                                                   "release_comment": "retest not convincing"})
    assert done.task.meaning == "rejected"
    assert plant.lots["P-001"].status == "rejected"


@pytest.mark.requirement("ISO13485-7.5.1", "ISO13485-7.5.8")
def test_justified_exception_allows_release(quality):
    plant, s = quality.plant, quality.session
    bad = add_measurement(s, plant, "press_force", 118.0, at(plant.work_day, 8, 45))
    iid = request_release(s, quality.actor("qa_zhao"), plant.lots["P-001"]).id
    quality.complete(iid, "review_release_exceptions", "qa_zhao", {"exception_dispositions": [
        {"key": f"parameter_limits:ASSY/press_force:{bad.id}", "action": "justified",
         "justification": "unit scrapped at test, lot unaffected"}], "review_comment": ""})
    quality.complete(iid, "decide_lot_release", "qm_chen", {"release_decision": "release", "release_comment": ""})
    assert plant.lots["P-001"].status == "released"
