"""ISO 2859-1 sampling (issue #18): code letters, plans from the published tables (2-A, 2-B, 2-C),
switching with the switching score, and inspection records that must follow the plan."""
from __future__ import annotations

import pytest
from audit import SYSTEM
from engine.errors import RuleViolation, ValidationFailed
from engine.masterdata import revisions, routings, sampling, switching
from engine.masterdata.switching import LotOutcome
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


@pytest.mark.parametrize("letter,aql,severity,plan", [
    # Edge cells whose arrows turn at the table's edge (aqlinspectorsrule.com, "AQLs below 0.065" and
    # its note on AQL 10, letter A; the GB/T 2828.1-2012 transcription gives the same).
    ("A", 10, "normal", ("C", 5, 1, 2)),
    ("R", 0.015, "normal", ("P", 800, 0, 1)),
    ("Q", 0.025, "tightened", ("S", 3150, 1, 2)),
    ("R", 0.025, "tightened", ("S", 3150, 1, 2)),
    ("R", 0.015, "tightened", ("Q", 1250, 0, 1)),
    ("R", 0.015, "reduced", ("P", 315, 0, 1)),
])
def test_arrows_at_the_tables_edges(letter, aql, severity, plan):
    assert sampling.letter_plan(letter, aql, severity) == plan


@pytest.mark.parametrize("severity", sampling.SEVERITIES)
def test_every_code_letter_and_aql_has_a_plan_without_a_gap(severity):
    for letter in "ABCDEFGHJKLMNPQR":
        for aql in sampling.aqls():
            _plan_letter, n, ac, re = sampling.letter_plan(letter, aql, severity)
            assert n >= 2 and re == ac + 1, (letter, aql)


# Along a diagonal the tables repeat themselves (a letter's cell at one AQL is the next letter's
# cell one AQL step to the left) except where an arrow must turn at the table's edge: a transcription
# slip anywhere else breaks this.
EDGE_TURNS = {"normal": {("A", 10), ("Q", 0.025)}, "tightened": {("Q", 0.025)},
              "reduced": {("A", 10), ("P", 0.040), ("Q", 0.040)}}


@pytest.mark.parametrize("severity", sampling.SEVERITIES)
def test_tables_keep_their_diagonal_structure(severity):
    table, aqls = sampling.tables()[severity], sampling.aqls()
    letters = [k for k in table if k != "S"]
    odd = {(letters[i], aqls[c + 1]) for i in range(len(letters) - 1) for c in range(len(aqls) - 1)
           if table[letters[i]][c + 1] != table[letters[i + 1]][c]}
    assert odd == EDGE_TURNS[severity]


def test_a_sample_as_large_as_the_lot_means_inspecting_every_unit():
    plan = sampling.sampling_plan(10, "II", 0.65)  # B → ↓ … to F (n = 20) > 10 units
    assert plan.full_inspection and plan.sample_size == 10 and (plan.accept, plan.reject) == (0, 1)


def _severity(accepted: list[bool]) -> str:
    return switching.next_severity([LotOutcome(ok) for ok in accepted]).severity


def test_switching_between_normal_and_tightened():
    assert _severity([True, True, False, True, True, True]) == "normal"
    assert _severity([False, True, True, True, True, True, False]) == "normal"  # 2 in 7, not in 5
    assert _severity([True, False, True, True, False]) == "tightened"  # 2 of 5
    assert _severity([False, False] + [True] * 4) == "tightened"
    assert _severity([False, False] + [True] * 5) == "normal"          # 5 accepted in a row
    assert _severity([False, False] + [False, True] * 4 + [False]) == "discontinued"
    state = switching.next_severity([LotOutcome(ok) for ok in [True, False, True, False, True, True]])
    assert (state.severity, state.reason, state.detail["accepted_in_a_row"]) == ("tightened", "two_of_five", 2)


@pytest.mark.parametrize("lot_size,level,aql,plan_letter,n,ac,re", [
    # ISO 2859-1:1999 Table 2-C (reduced), single sampling; n from 2-C's own column of sample sizes.
    (3200, "II", 1.0, "K", 50, 2, 3),        # K
    (3201, "II", 1.0, "L", 80, 3, 4),        # L
    (20000, "II", 1.0, "M", 125, 5, 6),      # M
    (50000, "II", 1.0, "N", 200, 6, 7),      # N: 6/7 (MIL-STD-105E II-C has 5/8 here)
    (3200, "II", 10, "K", 50, 10, 11),       # 10/11 (II-C: 10/13)
    (3200, "II", 4.0, "K", 50, 6, 7),
    (3200, "II", 0.10, "K", 50, 0, 1),
    (3200, "II", 0.15, "J", 32, 0, 1),       # ↑: J's plan, n = 32
    (3200, "II", 0.40, "L", 80, 1, 2),       # ↓ ↓: L's plan (II-C has 0/2 at K; 1999 removed it)
    (3200, "II", 0.25, "M", 125, 1, 2),      # ↓ ↓ ↓
    (20000, "II", 6.5, "L", 80, 10, 11),     # M at 6.5 is ↑: L's plan
    (125, "III", 1.0, "J", 32, 1, 2),        # G: arrows to H, then J (aqlinspectorsrule.com, ISO example 3)
    (600000, "III", 0.015, "P", 315, 0, 1),  # R: ↑ ↑ to P (aqlinspectorsrule.com, AQLs below 0.065)
    (60, "II", 2.5, "G", 13, 1, 2),          # E: ↓ ↓ to G
    (10, "II", 6.5, "A", 2, 0, 1),           # B at 6.5 is ↑: A's plan (A, B and C all draw 2)
    (600000, "III", 0.010, "Q", 500, 0, 1),  # R at 0.010 is ↑
])
def test_reduced_plans_follow_table_2c(lot_size, level, aql, plan_letter, n, ac, re):
    plan = sampling.sampling_plan(lot_size, level, aql, "reduced")
    assert plan.severity == "reduced"
    assert (plan.plan_letter, plan.sample_size, plan.accept, plan.reject) == (plan_letter, n, ac, re)


# Two whole columns of Table 2-C as an independent public encoding gives them (with its arrows),
# letter by letter A … R: the plan letter each arrow leads to, n, Ac.
_COLUMN_1_0 = "E5/0 E5/0 E5/0 E5/0 E5/0 E5/0 J32/1 J32/1 J32/1 K50/2 L80/3 M125/5 N200/6 P315/8 Q500/10 Q500/10"
_COLUMN_2_5 = "C2/0 C2/0 C2/0 C2/0 G13/1 G13/1 G13/1 H20/2 J32/3 K50/5 L80/6 M125/8 N200/10 N200/10 N200/10 N200/10"


@pytest.mark.parametrize("aql,column", [(1.0, _COLUMN_1_0), (2.5, _COLUMN_2_5)])
def test_table_2c_columns_letter_by_letter(aql, column):
    letters = "ABCDEFGHJKLMNPQR"
    for letter, expected in zip(letters, column.split(), strict=True):
        plan_letter, n, ac, re = sampling.letter_plan(letter, aql, "reduced")
        assert f"{plan_letter}{n}/{ac}" == expected, letter
        assert re == ac + 1


def test_table_2c_is_iso_1999_not_mil_std_105e():
    """Every reduced plan of ISO 2859-1:1999 rejects at Ac + 1: no 'accept but reinstate normal' gap."""
    cells = [c for row in sampling.tables()["reduced"].values() for c in row if not isinstance(c, str)]
    assert cells and all(re == ac + 1 for ac, re in cells)
    assert sampling.tables()["reduced_sample_sizes"]["K"] == 50 and sampling.tables()["sample_sizes"]["K"] == 125


def test_every_normal_plan_with_ac_2_or_more_has_a_plan_one_aql_step_tighter():
    """The switching score's +3 test compares with the Ac one AQL column to the left: always a plan."""
    aqls = sampling.aqls()
    for letter, row in sampling.tables()["normal"].items():
        for column, cell in enumerate(row):
            if not isinstance(cell, str) and cell[0] >= 2:
                assert sampling.tighter_accept(letter, aqls[column]) is not None, (letter, aqls[column])
    assert sampling.tighter_accept("K", 1.0) == 2 and sampling.tighter_accept("K", 0.010) is None


def _normal_lot(defects: int, *, aql: float = 1.0, approved: bool = True) -> LotOutcome:
    plan = sampling.sampling_plan(3200, "II", aql).as_dict()
    return LotOutcome(defects <= plan["accept"], defects, plan, approved)


def test_switching_score_of_9_3_3_2():
    # K at AQL 1.0: Ac 3; one step tighter (0.65) Ac 2. Accepted within 2: +3.
    assert switching.score_after(0, _normal_lot(2)) == 3
    assert switching.score_after(27, _normal_lot(0)) == 30
    assert switching.score_after(27, _normal_lot(3)) == 0   # accepted, but not at the tighter AQL
    assert switching.score_after(27, _normal_lot(4)) == 0   # not accepted
    # K at AQL 0.10: Ac 0, so +2 for an accepted lot.
    assert switching.score_after(4, _normal_lot(0, aql=0.10)) == 6
    assert switching.score_after(4, _normal_lot(1, aql=0.10)) == 0
    # K at AQL 0.40: ↓ to L (n = 200, Ac 1): +2 when accepted.
    assert switching.score_after(10, _normal_lot(1, aql=0.40)) == 12
    assert switching.score_after(10, LotOutcome(True, 0, None)) == 0   # no ISO plan recorded: restarts


def test_reduced_after_a_switching_score_of_30_with_approval_only():
    ten = [_normal_lot(0)] * 10
    state = switching.next_severity(ten[:9], reduced_approved=True)
    assert (state.severity, state.score) == ("normal", 27)
    state = switching.next_severity(ten, reduced_approved=True)
    assert (state.severity, state.reason, state.detail["score"]) == ("reduced", "score_reached", 30)
    # Without the responsible authority's approval nothing switches: normal, score 30 reported.
    state = switching.next_severity([_normal_lot(0, approved=False)] * 10, reduced_approved=False)
    assert (state.severity, state.reason, state.score) == ("normal", "score_not_approved", 30)
    # One lot accepted only at the AQL itself (3 nonconforming) restarts the count.
    state = switching.next_severity([_normal_lot(0)] * 9 + [_normal_lot(3)], reduced_approved=True)
    assert (state.severity, state.score) == ("normal", 0)


def _reduced_lot(defects: int) -> LotOutcome:
    plan = sampling.sampling_plan(3200, "II", 1.0, "reduced").as_dict()
    return LotOutcome(defects <= plan["accept"], defects, plan, True)


def test_reduced_back_to_normal():
    reduced = [_normal_lot(0)] * 10 + [_reduced_lot(2)] * 3
    assert switching.next_severity(reduced, reduced_approved=True).severity == "reduced"
    state = switching.next_severity(reduced + [_reduced_lot(3)], reduced_approved=True)
    assert (state.severity, state.reason, state.score) == ("normal", "not_accepted_on_reduced", 0)
    state = switching.next_severity(reduced, reduced_approved=False)  # approval withdrawn
    assert (state.severity, state.reason) == ("normal", "approval_withdrawn")
    # Back on normal, the score starts again from 0: 10 more good lots before reduced again.
    back = reduced + [_reduced_lot(3)] + [_normal_lot(0)] * 9
    assert switching.next_severity(back, reduced_approved=True).severity == "normal"
    assert switching.next_severity(back + [_normal_lot(1)], reduced_approved=True).severity == "reduced"
    # A switch to tightened resets the score too.
    state = switching.next_severity([_normal_lot(0)] * 8 + [_normal_lot(4), _normal_lot(4)] + [_normal_lot(0)] * 5,
                                    reduced_approved=True)
    assert (state.severity, state.reason, state.score) == ("normal", "five_accepted", 0)


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


def _approve_reduced(session, plant, approved: bool):
    """A new routing revision (change control) whose inspection item approves reduced inspection, or not."""
    rev = revisions.new_draft(session, SYSTEM, plant["routing"].master, change_summary="reduced inspection")
    item = next(i for op in rev.operations for i in op.inspection_items if i.name == "Cosmetic")
    routings.update_inspection_item(session, SYSTEM, item, reduced_inspection_approved=approved,
                                    reason="switching score reached; production steady")
    revisions.submit_for_review(session, SYSTEM, rev)
    revisions.release(session, SYSTEM, rev, reason="test")
    return item


def test_reduced_inspection_after_ten_good_lots_and_the_approval(session):
    plant = make_plant(session)
    item = _aql_routing(session, plant)
    for i in range(10):
        row = records.record_inspection(session, SYSTEM, _lot(session, plant, f"L-R-{i}"), item, sample_size=125,
                                        defects_found=i % 3)  # 0..2: within the Ac (2) of AQL 0.65
        assert row.sampling_plan["severity"] == "normal" and row.sampling_plan["switching"]["score"] == 3 * i
    # Score 30, but nobody approved reduced inspection: still normal, and the plan says why.
    lot = _lot(session, plant, "L-R-10")
    plan = records.inspection_plans.plan_for(session, item, lot)
    assert (plan.severity, plan.switching["reason"], plan.switching["score"]) == ("normal", "score_not_approved", 30)
    approved = _approve_reduced(session, plant, True)
    lot = _lot(session, plant, "L-R-10b")  # made by the released revision that approves reduced inspection
    plan = records.inspection_plans.plan_for(session, approved, lot)
    assert (plan.severity, plan.sample_size, plan.accept, plan.reject) == ("reduced", 50, 2, 3)
    assert plan.switching == {"severity": "reduced", "reason": "score_reached", "score": None, "detail": {"score": 30}}
    with pytest.raises(ValidationFailed) as err:
        records.record_inspection(session, SYSTEM, lot, approved, sample_size=125, defects_found=0)
    assert err.value.field == "sample_size" and "reduced" in err.value.message and "draw 50 unit(s)" in err.value.message
    row = records.record_inspection(session, SYSTEM, lot, approved, sample_size=50, defects_found=2)
    assert row.result == "pass" and row.sampling_plan["severity"] == "reduced"
    # A lot not accepted on reduced inspection: the next one is normal again, the score from 0.
    failed = records.record_inspection(session, SYSTEM, _lot(session, plant, "L-R-11"), approved, sample_size=50,
                                       defects_found=3)
    assert failed.result == "fail" and failed.sampling_plan["severity"] == "reduced"
    plan = records.inspection_plans.plan_for(session, approved, _lot(session, plant, "L-R-12"))
    assert (plan.severity, plan.sample_size, plan.switching["reason"], plan.switching["score"]) == \
        ("normal", 125, "not_accepted_on_reduced", 0)


def test_withdrawing_the_approval_returns_to_normal(session):
    plant = make_plant(session)
    item = _aql_routing(session, plant)
    item = _approve_reduced(session, plant, True)
    for i in range(11):
        records.record_inspection(session, SYSTEM, _lot(session, plant, f"L-W-{i}"), item,
                                  sample_size=125 if i < 10 else 50, defects_found=0)
    withdrawn = _approve_reduced(session, plant, False)
    plan = records.inspection_plans.plan_for(session, withdrawn, _lot(session, plant, "L-W-11"))
    assert (plan.severity, plan.switching["reason"]) == ("normal", "approval_withdrawn")


def test_reduced_approval_needs_an_aql(session):
    plant = make_plant(session)
    rev = revisions.new_draft(session, SYSTEM, plant["routing"].master, change_summary="fixed sample")
    op = rev.operations[0]
    with pytest.raises(ValidationFailed) as err:
        routings.add_inspection_item(session, SYSTEM, op, name="Seal", method="visual", sample_size=5,
                                     acceptance_criteria="no leak", accept_number=0, reduced_inspection_approved=True)
    assert err.value.field == "reduced_inspection_approved"
    item = routings.add_inspection_item(session, SYSTEM, op, name="Seal", method="visual", sample_size=5,
                                        acceptance_criteria="no leak", accept_number=0)
    with pytest.raises(ValidationFailed) as err:
        routings.update_inspection_item(session, SYSTEM, item, reduced_inspection_approved=True)
    assert err.value.field == "reduced_inspection_approved" and item.reduced_inspection_approved is False
