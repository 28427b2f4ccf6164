"""BOM rules: units convertible to the item's unit, no cycles at any level, nothing written on refusal."""
import pytest
from sqlalchemy import func, select

from engine.errors import CycleError, RevisionRuleViolation, UnitError
from engine.masterdata import boms, catalog, revisions
from engine.masterdata.models import BomLine

from masterdata_factories import ACTOR, make_item, make_released_bom, release_now


def test_line_in_convertible_unit_is_accepted(session):
    tube = make_item(session, "TUBE", unit="m")
    parent = make_item(session, "SET", item_type="finished_good", purchased=False)
    _, rev = catalog.create_bom(session, ACTOR, code="BOM-SET", name="Set", item=parent)
    line = boms.add_line(session, ACTOR, rev, component=tube, quantity=1500, unit="mm")
    assert line.id is not None and line.unit == "mm"


def test_line_in_unconvertible_unit_is_refused_and_nothing_written(session):
    tube = make_item(session, "TUBE", unit="m")
    parent = make_item(session, "SET", item_type="finished_good", purchased=False)
    _, rev = catalog.create_bom(session, ACTOR, code="BOM-SET", name="Set", item=parent)
    with pytest.raises(UnitError) as err:
        boms.add_line(session, ACTOR, rev, component=tube, quantity=2, unit="kg")
    assert err.value.field == "unit"
    assert "BOM-SET" in err.value.message and "TUBE" in err.value.message and "'kg'" in err.value.message
    session.flush()
    assert session.scalar(select(func.count()).select_from(BomLine)) == 0
    assert rev.lines == []


def test_unknown_unit_is_refused(session):
    tube = make_item(session, "TUBE", unit="m")
    parent = make_item(session, "SET", item_type="finished_good", purchased=False)
    _, rev = catalog.create_bom(session, ACTOR, code="BOM-SET", name="Set", item=parent)
    with pytest.raises(UnitError, match="not a known unit"):
        boms.add_line(session, ACTOR, rev, component=tube, quantity=2, unit="furlongz")


def test_update_line_to_bad_unit_is_refused_and_reverted(session):
    tube = make_item(session, "TUBE", unit="m")
    parent = make_item(session, "SET", item_type="finished_good", purchased=False)
    _, rev = catalog.create_bom(session, ACTOR, code="BOM-SET", name="Set", item=parent)
    line = boms.add_line(session, ACTOR, rev, component=tube, quantity=1.5, unit="m")
    with pytest.raises(UnitError):
        boms.update_line(session, ACTOR, line, unit="pcs")
    session.flush()
    session.expire(line)
    assert line.unit == "m"


def test_direct_self_reference_is_a_cycle(session):
    parent = make_item(session, "SUB", item_type="subassembly", purchased=False)
    _, rev = catalog.create_bom(session, ACTOR, code="BOM-SUB", name="Sub", item=parent)
    with pytest.raises(CycleError, match="contains itself"):
        boms.add_line(session, ACTOR, rev, component=parent, quantity=1, unit="pcs")


def test_two_level_cycle_is_refused_naming_the_path(session):
    a = make_item(session, "A", item_type="subassembly", purchased=False)
    b = make_item(session, "B", item_type="subassembly", purchased=False)
    c = make_item(session, "C")
    make_released_bom(session, b, [(a, 1, "pcs"), (c, 2, "pcs")])  # B contains A
    _, rev = catalog.create_bom(session, ACTOR, code="BOM-A", name="A", item=a)
    with pytest.raises(CycleError) as err:
        boms.add_line(session, ACTOR, rev, component=b, quantity=1, unit="pcs")  # A contains B
    assert "A → B → A" in err.value.message and err.value.field == "component"
    assert rev.lines == []


def test_three_level_cycle_detected_at_release(session):
    a = make_item(session, "A", item_type="subassembly", purchased=False)
    b = make_item(session, "B", item_type="subassembly", purchased=False)
    c = make_item(session, "C", item_type="subassembly", purchased=False)
    leaf = make_item(session, "LEAF")
    make_released_bom(session, a, [(b, 1, "pcs")])
    # C's BOM is drafted (not yet effective) containing A; then B's draft adds C: no cycle yet
    # among effective revisions, so both drafts are accepted ...
    _, rev_c = catalog.create_bom(session, ACTOR, code="BOM-C", name="C", item=c)
    boms.add_line(session, ACTOR, rev_c, component=leaf, quantity=1, unit="pcs")
    _, rev_b = catalog.create_bom(session, ACTOR, code="BOM-B", name="B", item=b)
    boms.add_line(session, ACTOR, rev_b, component=c, quantity=1, unit="pcs")
    release_now(session, rev_b)
    # ... but C → A would close A → B → C → A
    with pytest.raises(CycleError, match="C → A → B → C"):
        boms.add_line(session, ACTOR, rev_c, component=a, quantity=1, unit="pcs")


def test_cycle_that_appears_only_when_both_drafts_release_is_caught_at_second_release(session):
    a = make_item(session, "A", item_type="subassembly", purchased=False)
    b = make_item(session, "B", item_type="subassembly", purchased=False)
    _, rev_a = catalog.create_bom(session, ACTOR, code="BOM-A", name="A", item=a)
    _, rev_b = catalog.create_bom(session, ACTOR, code="BOM-B", name="B", item=b)
    boms.add_line(session, ACTOR, rev_a, component=b, quantity=1, unit="pcs")
    boms.add_line(session, ACTOR, rev_b, component=a, quantity=1, unit="pcs")  # fine: A is not effective yet
    release_now(session, rev_a)
    with pytest.raises(CycleError, match="B → A → B"):
        revisions.submit_for_review(session, ACTOR, rev_b)
    assert rev_b.state == "draft"


def test_lines_of_released_bom_cannot_change(session):
    tube = make_item(session, "TUBE", unit="m")
    parent = make_item(session, "SET", item_type="finished_good", purchased=False)
    rev = make_released_bom(session, parent, [(tube, 1.5, "m")])
    with pytest.raises(RevisionRuleViolation):
        boms.add_line(session, ACTOR, rev, component=tube, quantity=1, unit="m")
    rev.lines[0].quantity = 3
    with pytest.raises(RevisionRuleViolation, match="bom_lines|BomLine"):
        session.flush()


def test_new_draft_copies_lines_and_release_keeps_old_lines(session):
    tube = make_item(session, "TUBE", unit="m")
    parent = make_item(session, "SET", item_type="finished_good", purchased=False)
    rev_a = make_released_bom(session, parent, [(tube, 1.5, "m")])
    rev_b = revisions.new_draft(session, ACTOR, rev_a.master, change_summary="longer tube")
    boms.update_line(session, ACTOR, rev_b.lines[0], quantity=1.8)
    release_now(session, rev_b)
    assert [ln.quantity for ln in rev_a.lines] == [1.5]
    assert [ln.quantity for ln in rev_b.lines] == [1.8]
    assert rev_a.state == "obsolete"
