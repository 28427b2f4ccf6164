"""The editor's engine side: the test sheet written into a table, checked rows, trial runs."""
from __future__ import annotations

import pytest

from engine.errors import ValidationFailed
from engine.workflows.decision_authoring import parse_cases, read_test_sheet, try_table, with_test_sheet
from engine.workflows.specs import Document, validate
from tests.engine.conftest import BPMN_DIR

RISK = (BPMN_DIR / "t_risk.dmn").read_text()
MAX = 1 << 20


def test_the_sheet_is_replaced_and_runs_at_validation():
    assert [r["id"] for r in read_test_sheet(RISK, "t_risk.dmn", max_bytes=MAX)] == ["test_low", "test_high"]
    cases = parse_cases([{"id": "only", "given": '{"score": 1, "category": "packaging"}',
                          "expect": '{"level": "low", "escalate": false}', "rule": "r_low"}])
    written = with_test_sheet(RISK, "t_risk.dmn", cases, max_bytes=MAX)
    assert [r["id"] for r in read_test_sheet(written, "t_risk.dmn", max_bytes=MAX)] == ["only"]
    assert validate([Document("t_risk.dmn", written)]).ok
    wrong = with_test_sheet(RISK, "t_risk.dmn", [dict(cases[0], expect={"level": "high"})], max_bytes=MAX)
    assert [p.reason for p in validate([Document("t_risk.dmn", wrong)]).problems] == [
        "test only: expected level = 'high', the table gives 'low' (rule r_low)"]
    bare = with_test_sheet(RISK, "t_risk.dmn", [], max_bytes=MAX)
    assert b"sealtrail:test" not in bare and b"extensionElements" not in bare


@pytest.mark.parametrize(("row", "field"), [
    ({"id": "1x", "given": "{}", "expect": "{}"}, "tests[0].id"),
    ({"id": "a", "given": "[1]", "expect": "{}"}, "tests[0].given"),
    ({"id": "a", "given": "{}", "expect": "{oops"}, "tests[0].expect"),
    ({"id": "a", "given": "{}", "expect": "{}", "rule": "no spaces allowed"}, "tests[0].rule"),
    ({"id": "a", "given": '{"x": "' + "y" * 20000 + '"}', "expect": "{}"}, "tests[0].given"),
])
def test_rows_from_the_page_are_checked_by_field(row, field):
    with pytest.raises(ValidationFailed) as refused:
        parse_cases([row])
    assert refused.value.field == field


def test_duplicate_ids_and_too_many_rows_are_refused():
    with pytest.raises(ValidationFailed, match="used twice"):
        parse_cases([{"id": "a"}, {"id": "a"}])
    with pytest.raises(ValidationFailed, match="at most 200"):
        parse_cases([{"id": f"t{i}"} for i in range(201)])


def test_a_trial_runs_like_the_runtime_and_stores_nothing():
    tried = try_table(RISK, "t_risk.dmn", {"score": 4, "category": "sterility"}, max_bytes=MAX)
    assert tried == {"ok": True, "rules": ["r_sterile_low"], "default": False,
                     "rule_descriptions": ["Low score on sterility"], "outputs": {"level": "medium", "escalate": False}}
    assert "not of type integer" in try_table(RISK, "t_risk.dmn", {"score": "4", "category": "label"},
                                              max_bytes=MAX)["error"]
    assert not try_table("<definitions/>", "x.dmn", {}, max_bytes=MAX)["ok"]
