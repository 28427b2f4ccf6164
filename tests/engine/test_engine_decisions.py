"""DMN decision tables: verification at validate time, test sheets, deploy pins, recorded decisions."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from audit.models import AuditEntry
from engine.errors import DeploymentRefused
from engine.workflows import Document, deploy, start_instance, validate_documents
from engine.workflows.deploy import latest_decision, list_versions
from engine.workflows.models import InstanceEvent, ProcessDecision
from engine.workflows.specs import validate
from tests.engine.conftest import BPMN_DIR

RISK = (BPMN_DIR / "t_risk.dmn").read_text()
PROCESS = (BPMN_DIR / "risk.bpmn").read_text()


def dmn(text: str = RISK, name: str = "t_risk.dmn") -> Document:
    return Document(name, text.encode())


def reasons(text: str) -> list[str]:
    return [f"{p.element_id}: {p.reason}" for p in validate([dmn(text)]).problems]


def test_the_sound_table_and_its_test_sheet_pass():
    result = validate([dmn()])
    assert result.ok and list(result.decisions) == ["t_risk"]
    assert [t.id for t in result.decisions["t_risk"].table.tests] == ["test_low", "test_high"]


def test_unique_overlap_and_gap_are_named_with_rule_ids_and_inputs():
    bad = RISK.replace("<text>&lt; 5</text></inputEntry>\n        <inputEntry id=\"r_sterile_low_2\">",
                       "<text>&lt; 6</text></inputEntry>\n        <inputEntry id=\"r_sterile_low_2\">")
    bad = bad.replace('<text>in ("label", "packaging")</text>', '<text>"label"</text>')
    found = reasons(bad)
    assert "r_high: rules r_sterile_low and r_high overlap: both match score = 5, category = 'sterility' " \
           "(hit policy UNIQUE)" in found
    assert "t_risk: no rule matches score = 4, category = 'packaging' (add a rule or a default output)" in found


def test_a_default_output_closes_the_gaps():
    gap = RISK.replace('<text>in ("label", "packaging")</text>', '<text>"label"</text>')
    assert any("no rule matches" in r for r in reasons(gap))
    with_default = gap.replace(
        '<outputValues id="out_level_values"><text>"low","medium","high"</text></outputValues>',
        '<outputValues id="out_level_values"><text>"low","medium","high"</text></outputValues>'
        '<defaultOutputEntry id="d1"><text>"medium"</text></defaultOutputEntry>').replace(
        '<output id="out_escalate" label="Escalate" name="escalate" typeRef="boolean"/>',
        '<output id="out_escalate" label="Escalate" name="escalate" typeRef="boolean">'
        '<defaultOutputEntry id="d2"><text>True</text></defaultOutputEntry></output>')
    assert reasons(with_default) == []


def test_first_reports_unreachable_rules():
    first = RISK.replace('hitPolicy="UNIQUE"', 'hitPolicy="FIRST"').replace(
        '<inputEntry id="r_high_1"><text>&gt;= 5</text>', '<inputEntry id="r_high_1"><text>&lt; 3</text>')
    found = reasons(first)
    assert "r_high: rule r_high is unreachable: earlier rules match every input it matches (hit policy FIRST)" \
        in found
    assert "t_risk: no rule matches score = 5, category = 'label' (add a rule or a default output)" in found


def test_types_allowed_values_and_hit_policies():
    assert ("r_low: rule r_low, output 'level' 'lowish' is not one of the allowed values \"low\",\"medium\",\"high\""
            in reasons(RISK.replace('<text>"low"</text>', '<text>"lowish"</text>')))
    assert ("r_low: rule r_low, input 'Score' cell '\"five\"': 'five' is not of type integer (the input's typeRef)"
            in reasons(RISK.replace("<text>&lt; 5</text></inputEntry>\n        <inputEntry id=\"r_low_2\">",
                                    "<text>\"five\"</text></inputEntry>\n        <inputEntry id=\"r_low_2\">")))
    assert ("r_high: rule r_high, output 'escalate' 1 is not of type boolean (the output's typeRef)"
            in reasons(RISK.replace('<outputEntry id="r_high_4"><text>True', '<outputEntry id="r_high_4"><text>1')))
    assert reasons(RISK.replace('hitPolicy="UNIQUE"', 'hitPolicy="PRIORITY"')) == [
        "t_risk: hit policy PRIORITY is not supported (SpiffWorkflow runs UNIQUE, FIRST, COLLECT)"]
    assert reasons(RISK.replace("<text>score</text>", "<text>__import__('os')</text>"))[0].startswith(
        "in_score: input expression refused by the script policy")


def test_a_failing_example_blocks_the_deployment(world, session):
    wrong = RISK.replace('{"level": "low"}', '{"level": "medium"}')
    assert reasons(wrong) == ["test_low: test test_low: expected level = 'medium', the table gives 'low' (rule r_low)"]
    with pytest.raises(DeploymentRefused, match="test_low"):
        deploy(session, world.actor("alice"), [dmn(wrong), Document("risk.bpmn", PROCESS.encode())])
    assert latest_decision(session, "t_risk") is None and list_versions(session, "t_risk_process") == []


def test_business_rule_task_needs_a_known_decision(session):
    result = validate_documents(session, [Document("risk.bpmn", PROCESS.encode())])
    assert [p.reason for p in result.problems] == ["decision 't_risk' is neither in the files given nor deployed"]


def _decisions(session, instance_id: int) -> list[dict]:
    rows = session.scalars(select(InstanceEvent).where(InstanceEvent.instance_id == instance_id,
                                                       InstanceEvent.kind == "decision"))
    return [json.loads(r.detail_json) for r in rows]


def test_decision_is_recorded_with_inputs_rule_and_pinned_version(world, session):
    result = deploy(session, world.actor("alice"), [dmn(), Document("risk.bpmn", PROCESS.encode())])
    assert [(d.decision_id, d.version, d.rule_count) for d in result.decisions_deployed] == [("t_risk", 1, 3)]
    pin = session.scalar(select(ProcessDecision).where(ProcessDecision.process_version_id == result.deployed[0].id))
    assert (pin.decision_id, pin.decision_version_id) == ("t_risk", result.decisions_deployed[0].id)
    instance = start_instance(session, world.actor("eve"), "t_risk_process", data={"score": 7, "category": "label"})
    assert instance.status == "completed"
    [taken] = _decisions(session, instance.id)
    assert (taken["rules"], taken["version"], taken["outputs"]) == (["r_high"], 1, {"level": "high", "escalate": True})
    assert taken["inputs"] == {"Score": 7, "Category": "label"} and taken["rule_descriptions"] == ["High score"]
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "workflow.decision_taken")).one()
    assert entry.object_id == str(instance.id) and entry.after_value["rules"] == ["r_high"]
    assert entry.after_value["content_sha256"] == result.decisions_deployed[0].content_sha256


def test_a_changed_table_redeploys_the_processes_that_use_it(world, session):
    deploy(session, world.actor("alice"), [dmn(), Document("risk.bpmn", PROCESS.encode())])
    old = start_instance(session, world.actor("eve"), "t_risk_process", data={"score": 7, "category": "label"})
    changed = RISK.replace('<text>"high"</text>', '<text>"medium"</text>').replace(
        '{"level": "high", "escalate": true}', '{"level": "medium", "escalate": true}')
    again = deploy(session, world.actor("alice"), [dmn(changed)], skip_unchanged=True)
    assert [d.version for d in again.decisions_deployed] == [2]
    assert [(v.process_id, v.version) for v in again.deployed] == [("t_risk_process", 2)]
    new = start_instance(session, world.actor("eve"), "t_risk_process", data={"score": 7, "category": "label"})
    assert _decisions(session, new.id)[0]["outputs"]["level"] == "medium"
    assert _decisions(session, new.id)[0]["version"] == 2
    assert _decisions(session, old.id)[0]["version"] == 1
    unchanged = deploy(session, world.actor("alice"), [dmn(changed)], skip_unchanged=True)
    assert unchanged.decisions_deployed == [] and unchanged.deployed == []


def test_runtime_refuses_inputs_no_rule_matches_and_values_of_the_wrong_type(world, session):
    from engine.errors import WorkflowFailed

    deploy(session, world.actor("alice"), [dmn(), Document("risk.bpmn", PROCESS.encode())])
    with pytest.raises(WorkflowFailed, match="no rule matches"):
        with session.begin_nested():
            start_instance(session, world.actor("eve"), "t_risk_process", data={"score": 2, "category": "unknown"})
    with pytest.raises(WorkflowFailed, match=r"input 'Score' \(score\) is '7', not of type integer"):
        with session.begin_nested():
            start_instance(session, world.actor("eve"), "t_risk_process", data={"score": "7", "category": "label"})
    with pytest.raises(WorkflowFailed, match=r"input 'Category' \(category\) is None, not of type string"):
        start_instance(session, world.actor("eve"), "t_risk_process", data={"score": 7, "category": None})


def test_cli_refuses_an_overlapping_table_with_a_gap(tmp_path, run_cli):
    bad = tmp_path / "bad.dmn"
    bad.write_text(RISK.replace('<inputEntry id="r_high_1"><text>&gt;= 5</text>',
                                '<inputEntry id="r_high_1"><text>&gt;= 4</text>').replace(
        '<text>in ("label", "packaging")</text>', '<text>"label"</text>'))
    refused = run_cli(["bpmn", "validate", str(BPMN_DIR / "risk.bpmn"), str(bad)])
    assert refused.exit_code == 1
    assert "rules r_low and r_high overlap: both match score = 4, category = 'label'" in refused.output
    assert "no rule matches score = 3, category = 'packaging'" in refused.output
    ok = run_cli(["bpmn", "validate", str(BPMN_DIR / "risk.bpmn"), str(BPMN_DIR / "t_risk.dmn")])
    assert ok.exit_code == 0 and "t_risk (3 rules, 2 tests passed)" in ok.output


def test_cli_deploys_tables_with_the_diagrams_and_skips_unchanged(run_cli, cli_engineer):
    engineer, _, credentials = cli_engineer
    files = [str(BPMN_DIR / "risk.bpmn"), str(BPMN_DIR / "t_risk.dmn")]
    first = run_cli(["bpmn", "deploy", *files, "--comment", "risk table", "--by", engineer], input=credentials())
    assert first.exit_code == 0, first.output
    assert "deployed decision t_risk v1" in first.output and "deployed t_risk_process v1" in first.output
    again = run_cli(["bpmn", "deploy", *files, "--comment", "again", "--by", engineer], input=credentials())
    assert again.exit_code == 1 and "t_risk_process v1 has the same content" in again.output


def test_rules_no_example_exercises_are_warnings_and_the_shipped_sheets_cover_every_rule():
    from engine.workflows.deploy import shipped_bpmn_dir

    result = validate([dmn()])
    assert result.ok and [(w.element_id, w.severity) for w in result.warnings] == [("r_sterile_low", "warning")]
    shipped = [Document(p.name, p.read_bytes()) for p in sorted(shipped_bpmn_dir().glob("*.dmn"))]
    checked = validate(shipped)
    assert checked.ok and len(checked.decisions) >= 2 and checked.warnings == []
