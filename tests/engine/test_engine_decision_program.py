"""A decision table is evaluated in one script-worker round trip, with the cell-by-cell meaning."""
from __future__ import annotations

from engine.sandbox import pool
from engine.workflows.specs import Document, validate
from tests.engine.conftest import BPMN_DIR

RISK = (BPMN_DIR / "t_risk.dmn").read_text()

TRICKY = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" xmlns:sealtrail="https://sealtrail.org/dmn"
             id="d_tricky" name="Tricky" namespace="https://sealtrail.org/dmn">
  <decision id="tricky" name="Tricky cells">
    <extensionElements>{tests}</extensionElements>
    <decisionTable id="tricky_table" hitPolicy="FIRST">
      <input id="in_n" label="N"><inputExpression id="in_n_e" typeRef="integer"><text>n + 0</text></inputExpression></input>
      <input id="in_code" label="Code"><inputExpression id="in_code_e" typeRef="string"><text>code</text></inputExpression></input>
      <input id="in_flag" label="Flag"><inputExpression id="in_flag_e" typeRef="boolean"><text>flag</text></inputExpression></input>
      <output id="out_band" name="band" typeRef="string"/>
      <output id="out_note" name="result.note" typeRef="string"/>
      <rule id="r_question_in_quotes">
        <inputEntry id="a1"><text>3 &lt;= ? &lt; 7</text></inputEntry>
        <inputEntry id="a2"><text>"why?"</text></inputEntry>
        <inputEntry id="a3"><text>-</text></inputEntry>
        <outputEntry id="a4"><text>"mid"</text></outputEntry>
        <outputEntry id="a5"><text>"asked # not a comment"</text></outputEntry>
      </rule>
      <rule id="r_either_end">
        <inputEntry id="b1"><text>? &lt; 3 or ? &gt;= 7</text></inputEntry>
        <inputEntry id="b2"><text>not in ("x", "y")</text></inputEntry>
        <inputEntry id="b3"><text>not ?</text></inputEntry>
        <outputEntry id="b4"><text>"edge"</text></outputEntry>
        <outputEntry id="b5"><text>"quiet"</text></outputEntry>
      </rule>
      <rule id="r_rest">
        <inputEntry id="c1"><text>-</text></inputEntry>
        <inputEntry id="c2"><text>-</text></inputEntry>
        <inputEntry id="c3"><text>-</text></inputEntry>
        <outputEntry id="c4"><text>"other"</text></outputEntry>
        <outputEntry id="c5"><text>""</text></outputEntry>
      </rule>
    </decisionTable>
  </decision>
</definitions>"""


def _case(ident: str, given: str, expect: str, rule: str) -> str:
    return (f'<sealtrail:test id="{ident}" rule="{rule}"><sealtrail:given>{given}</sealtrail:given>'
            f'<sealtrail:expect>{expect}</sealtrail:expect></sealtrail:test>')


CASES = "".join([
    _case("t_mid", '{"n": 5, "code": "why?", "flag": true}',
          '{"band": "mid", "result": {"note": "asked # not a comment"}}', "r_question_in_quotes"),
    _case("t_mid_other_code", '{"n": 5, "code": "why", "flag": true}', '{"band": "other"}', "r_rest"),
    _case("t_edge_low", '{"n": 1, "code": "z", "flag": false}', '{"band": "edge"}', "r_either_end"),
    _case("t_edge_high", '{"n": 9, "code": "z", "flag": false}', '{"band": "edge"}', "r_either_end"),
    _case("t_edge_listed", '{"n": 9, "code": "x", "flag": false}', '{"band": "other"}', "r_rest"),
    _case("t_edge_flagged", '{"n": 9, "code": "z", "flag": true}', '{"band": "other"}', "r_rest"),
])


def _count_round_trips(monkeypatch) -> list:
    calls = []
    real = pool.run_code

    def counting(*args, **kwargs):
        calls.append(args[1])
        return real(*args, **kwargs)

    monkeypatch.setattr(pool, "run_code", counting)
    return calls


def test_every_example_costs_one_round_trip(monkeypatch):
    calls = _count_round_trips(monkeypatch)
    result = validate([Document("t_risk.dmn", RISK.encode())])
    assert result.ok, result.problems
    assert len(calls) == len(result.decisions["t_risk"].table.tests) == 2  # was 2 inputs + 6 cells + 2 outputs each


def test_cells_keep_their_cell_by_cell_meaning(monkeypatch):
    calls = _count_round_trips(monkeypatch)
    result = validate([Document("tricky.dmn", TRICKY.format(tests=CASES).encode())])
    assert result.problems == []
    assert len(calls) == 6
    broken = validate([Document("tricky.dmn", TRICKY.format(tests=CASES.replace(
        '{"band": "other"}</sealtrail:expect>', '{"band": "edge"}</sealtrail:expect>', 1)).encode())])
    assert [p.reason for p in broken.problems] == [
        "test t_mid_other_code: expected band = 'edge', the table gives 'other' (rule r_rest)"]


def test_a_failing_input_names_its_column_and_limits_still_apply():
    missing = _case("t_missing", '{"code": "z", "flag": false}', '{"band": "edge"}', "r_either_end")
    found = validate([Document("tricky.dmn", TRICKY.format(tests=missing).encode())])
    [problem] = found.problems
    assert problem.reason == ("test t_missing fails: DecisionFailed: decision tricky, input 'N': "
                              "NameError: name 'n' is not defined")
    huge = TRICKY.replace("<text>n + 0</text>", "<text>n + len('a' * 10 ** 8)</text>")
    found = validate([Document("tricky.dmn", huge.format(tests=_case(
        "t_huge", '{"n": 1, "code": "z", "flag": false}', '{"band": "edge"}', "r_either_end")).encode())])
    [problem] = found.problems
    assert "decision tricky, table: ScriptLimitExceeded: script exceeded its limits: repetition" in problem.reason


def test_a_wrong_type_is_named_not_a_type_error():
    text = _case("t_text", '{"n": "5", "code": "z", "flag": false}', '{"band": "edge"}', "r_either_end")
    found = validate([Document("tricky.dmn", TRICKY.replace("<text>n + 0</text>", "<text>n</text>")
                               .format(tests=text).encode())])
    [problem] = found.problems
    assert "input 'N' (n) is '5', not of type integer" in problem.reason


def test_names_the_program_binds_never_shadow_task_data():
    from engine.workflows.decision_program import compile_table
    from engine.workflows.decisions import Parser
    from engine.workflows import xmlsafe

    shadow = RISK.replace('<outputEntry id="r_high_3"><text>"high"</text>', '<outputEntry id="r_high_3"><text>dmnin</text>')
    parser = Parser()
    parser.add_dmn_xml(xmlsafe.parse(shadow, "t_risk.dmn"), "t_risk.dmn")
    program = compile_table(parser.get_engine("t_risk", None).decision_table, {}, frozenset())
    assert "lambda dmnin:" not in program.source and "lambda dmnin1:" in program.source
