"""Routing rules: no obsolete equipment, consistent limits; equipment in use cannot be retired."""
from datetime import date

import pytest

from engine.errors import Conflict, RevisionRuleViolation, UnitError, ValidationFailed
from engine.masterdata import catalog, revisions, routings

from masterdata_factories import ACTOR, make_item, make_routing, release_now


def _equipment(session, code="UV-01", **plan):
    return catalog.create_equipment(session, ACTOR, code=code, name="UV curing station", **plan)


def test_routing_referencing_obsolete_equipment_is_refused(session):
    item = make_item(session, "SUB", item_type="subassembly", purchased=False)
    eq = _equipment(session)
    catalog.set_equipment_status(session, ACTOR, eq, "obsolete", reason="scrapped")
    _, rev = catalog.create_routing(session, ACTOR, code="RT-SUB", name="Sub", item=item)
    with pytest.raises(ValidationFailed) as err:
        routings.add_operation(session, ACTOR, rev, sequence=10, code="UV", name="UV bonding", equipment=[eq])
    assert err.value.field == "equipment" and "UV-01 is obsolete" in err.value.message
    assert rev.operations == []


def test_equipment_retired_after_drafting_blocks_the_release(session):
    item = make_item(session, "SUB", item_type="subassembly", purchased=False)
    eq = _equipment(session)
    rev = make_routing(session, item, equipment=[eq])
    catalog.set_equipment_status(session, ACTOR, eq, "obsolete", reason="scrapped")
    with pytest.raises(ValidationFailed, match="UV-01 is obsolete"):
        revisions.submit_for_review(session, ACTOR, rev)
    assert rev.state == "draft"


def test_equipment_used_by_effective_routing_cannot_be_retired(session):
    item = make_item(session, "SUB", item_type="subassembly", purchased=False)
    eq = _equipment(session)
    release_now(session, make_routing(session, item, equipment=[eq]))
    with pytest.raises(Conflict, match="RT-SUB rev A op 10"):
        catalog.set_equipment_status(session, ACTOR, eq, "obsolete", reason="scrapped")
    assert eq.status == "active"


@pytest.mark.parametrize("limits, field", [
    (dict(lsl=5, usl=1), "lsl"),
    (dict(lsl=1, usl=5, target=7), "target"),
    (dict(lsl=1, usl=5, lcl=4, ucl=2), "lcl"),
    (dict(lsl=1, usl=5, lcl=0.5, ucl=4), "lcl"),
])
def test_inconsistent_limits_are_refused(session, limits, field):
    item = make_item(session, "SUB", item_type="subassembly", purchased=False)
    rev = make_routing(session, item)
    with pytest.raises(ValidationFailed) as err:
        routings.add_parameter(session, ACTOR, rev.operations[0], name="Force", unit="N", **limits)
    assert err.value.field == field


def test_parameter_with_unknown_unit_is_refused(session):
    item = make_item(session, "SUB", item_type="subassembly", purchased=False)
    rev = make_routing(session, item)
    with pytest.raises(UnitError):
        routings.add_parameter(session, ACTOR, rev.operations[0], name="Force", unit="newtonz", lsl=1, usl=2)


def test_operations_of_released_routing_are_immutable_and_new_draft_copies_everything(session):
    item = make_item(session, "SUB", item_type="subassembly", purchased=False)
    eq = _equipment(session, calibration_required=True, calibration_interval_days=180,
                    last_calibrated_on=date(2026, 10, 1))
    rev_a = release_now(session, make_routing(session, item, equipment=[eq]))
    with pytest.raises(RevisionRuleViolation):
        routings.add_parameter(session, ACTOR, rev_a.operations[0], name="Time", unit="s", lsl=1, usl=2)
    rev_a.operations[0].parameters[0].usl = 99
    with pytest.raises(RevisionRuleViolation):
        session.flush()


def test_new_draft_copies_operations(session):
    item = make_item(session, "SUB", item_type="subassembly", purchased=False)
    eq = _equipment(session)
    rev_a = release_now(session, make_routing(session, item, equipment=[eq]))
    rev_b = revisions.new_draft(session, ACTOR, rev_a.master, change_summary="tighter")
    param = rev_b.operations[0].parameters[0]
    routings.update_parameter(session, ACTOR, param, usl=28)
    assert rev_b.operations[0].equipment == [eq]
    assert rev_a.operations[0].parameters[0].usl == 30 and param.usl == 28
    assert eq.calibration_due_on is None
