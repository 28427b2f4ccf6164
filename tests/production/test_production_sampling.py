"""ISO 2859-1 sampling (issue #18): code letters, plans from the published tables, switching, and
inspection records that must follow the plan."""
from __future__ import annotations

import pytest
from audit import SYSTEM
from engine.errors import RuleViolation, ValidationFailed
from engine.masterdata import revisions, routings, sampling
from engine.production import lots, records
from production_factories import make_plant


@pytest.mark.parametrize("lot_size,level,letter", [
    (3200, "II", "K"), (3201, "II", "L"), (1200, "II", "J"), (1201, "II", "K"), (8, "II", "A"), (8, "III", "B"),
    (500, "S-1", "B"), (150000, "I", "L"), (500001, "III", "R"), (10000, "S-4", "G"),
])
def test_code_letters_are_table_1(lot_size, level, letter):
    assert sampling.code_letter(lot_size, level) == letter


@pytest.mark.parametrize("letter_lot,aql,severity,n,ac,re", [
    # Published cells of ISO 2859-1 Table 2-A (normal) and 2-B (tightened), single sampling.
    (3200, 1.0, "normal", 125, 3, 4),     # K
    (3201, 1.0, "normal", 200, 5, 6),     # L
    (1000, 1.0, "normal", 80, 2, 3),      # J
    (1000, 2.5, "normal", 80, 5, 6),
    (3200, 0.65, "normal", 125, 2, 3),
    (3200, 6.5, "normal", 125, 14, 15),
    (3200, 10, "normal", 125, 21, 22),
    (3200, 0.10, "normal", 125, 0, 1),
    (3200, 0.15, "normal", 80, 0, 1),     # ↑: the plan above (J, n = 80)
    (3200, 0.25, "normal", 200, 1, 2),    # ↓: the plan below (L, n = 200)
    (5000, 10, "normal", 125, 21, 22),    # L at 10 is ↑: K's plan
    (3200, 1.0, "tightened", 125, 2, 3),  # K
    (1000, 1.0, "tightened", 80, 1, 2),   # J
    (3200, 4.0, "tightened", 125, 8, 9),
    (3200, 10, "tightened", 125, 18, 19),
    (40, 2.5, "tightened", 8, 0, 1),      # D
])
def test_plans_follow_the_published_tables(letter_lot, aql, severity, n, ac, re):
    plan = sampling.sampling_plan(letter_lot, "II", aql, severity)
    assert (plan.sample_size, plan.accept, plan.reject) == (n, ac, re)


def test_a_sample_as_large_as_the_lot_means_inspecting_every_unit():
    plan = sampling.sampling_plan(10, "II", 0.65)  # B → ↓ … to F (n = 20) > 10 units
    assert plan.full_inspection and plan.sample_size == 10 and (plan.accept, plan.reject) == (0, 1)


def test_switching_rules():
    assert sampling.severity_after([True, True, False, True, True, True]) == "normal"
    assert sampling.severity_after([False, True, True, True, True, True, False]) == "normal"  # 2 in 7, not in 5
    assert sampling.severity_after([True, False, True, True, False]) == "tightened"  # 2 of 5
    assert sampling.severity_after([False, False] + [True] * 4) == "tightened"
    assert sampling.severity_after([False, False] + [True] * 5) == "normal"          # 5 accepted in a row
    assert sampling.severity_after([False, False] + [False, True] * 4 + [False]) == "discontinued"


def test_levels_and_aqls_are_checked():
    with pytest.raises(ValidationFailed, match="both"):
        sampling.check_level_and_aql("II", None)
    with pytest.raises(ValidationFailed) as err:
        sampling.check_level_and_aql("IV", 1.0)
    assert err.value.field == "inspection_level"
    with pytest.raises(ValidationFailed) as err:
        sampling.check_level_and_aql("II", 1.2)
    assert err.value.field == "aql"


def _aql_routing(session, plant):
    rev = revisions.new_draft(session, SYSTEM, plant["routing"].master, change_summary="AQL visual")
    op = rev.operations[0]
    with pytest.raises(ValidationFailed, match="attribute"):
        routings.add_inspection_item(session, SYSTEM, op, name="Cosmetic", method="visual", sample_size=1, kind="variable",
                                     acceptance_criteria="AQL 1.0", inspection_level="II", aql=1.0, unit="mm")
    item = routings.add_inspection_item(session, SYSTEM, op, name="Cosmetic", method="visual under 1000 lx",
                                        sample_size=1, acceptance_criteria="ISO 2859-1, level II, AQL 1.0",
                                        inspection_level="II", aql=1.0)
    revisions.submit_for_review(session, SYSTEM, rev)
    revisions.release(session, SYSTEM, rev, reason="test")
    return item


def _lot(session, plant, number, quantity=3200):
    return lots.start_lot(session, SYSTEM, lots.plan_lot(session, SYSTEM, lot_number=number, quantity=quantity,
                                                         product=plant["product"]))


def test_an_inspection_of_3200_units_asks_for_the_published_plan_and_switches(session):
    plant = make_plant(session)
    item = _aql_routing(session, plant)
    lot = _lot(session, plant, "L-AQL-1")
    with pytest.raises(ValidationFailed) as err:
        records.record_inspection(session, SYSTEM, lot, item, sample_size=80, defects_found=0)
    assert err.value.field == "sample_size"
    assert "code letter K, draw 125 unit(s), accept with at most 3 nonconforming" in err.value.message
    ok = records.record_inspection(session, SYSTEM, lot, item, sample_size=125, defects_found=3)
    assert ok.result == "pass" and ok.sampling_plan["code_letter"] == "K" and ok.sampling_plan["severity"] == "normal"
    assert records.record_inspection(session, SYSTEM, _lot(session, plant, "L-AQL-2"), item, sample_size=125,
                                     defects_found=4).result == "fail"
    third = records.record_inspection(session, SYSTEM, _lot(session, plant, "L-AQL-3"), item, sample_size=125,
                                      defects_found=5)
    assert third.result == "fail" and third.sampling_plan["severity"] == "normal"
    # Two of the last lots not accepted: the next lot is inspected tightened (K: Ac 2).
    fourth = records.record_inspection(session, SYSTEM, _lot(session, plant, "L-AQL-4"), item, sample_size=125,
                                       defects_found=3)
    assert fourth.sampling_plan["severity"] == "tightened" and fourth.result == "fail"


def test_five_lots_rejected_on_tightened_discontinue(session):
    plant = make_plant(session)
    item = _aql_routing(session, plant)
    for i in range(7):
        records.record_inspection(session, SYSTEM, _lot(session, plant, f"L-D-{i}"), item, sample_size=125,
                                  defects_found=10)
    with pytest.raises(RuleViolation, match="discontinues"):
        records.record_inspection(session, SYSTEM, _lot(session, plant, "L-D-9"), item, sample_size=125)


def test_sampling_plan_command(fresh_db):
    from click.testing import CliRunner
    from flask.cli import ScriptInfo

    from web.app import create_app
    from web.cli import cli

    app = create_app({"TESTING": True}, settings=fresh_db.settings())
    try:
        result = CliRunner().invoke(cli, ["sampling-plan", "--lot-size", "3200", "--level", "II", "--aql", "1.0"],
                                    obj=ScriptInfo(create_app=lambda: app))
    finally:
        app.extensions["sealtrail.engine"].dispose()
    assert result.exit_code == 0, result.output
    assert "code letter K; inspect 125 unit(s); accept with 3 or fewer nonconforming (Ac 3), reject with 4" in result.output
