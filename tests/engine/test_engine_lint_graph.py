"""Lint over the shape and data of a diagram: unreachable and dead-end elements, missing flows,
gateways without a default, conditions over variables nothing sets. Errors block deploy; warnings
are listed and do not."""
from __future__ import annotations

import json

import pytest

from engine.errors import DeploymentRefused
from engine.workflows import Document, deploy
from engine.workflows.specs import validate
from tests.engine.conftest import BPMN_DIR
from tests.engine.test_engine_validation import APPROVAL, line_of

ORPHAN = ('<bpmn:userTask id="ut_orphan" name="Forgotten review">'
          '<bpmn:extensionElements><spiffworkflow:properties>'
          '<spiffworkflow:property name="formJsonSchemaFilename" value="t_ack" />'
          '</spiffworkflow:properties></bpmn:extensionElements>'
          '<bpmn:outgoing>f_orphan</bpmn:outgoing></bpmn:userTask>\n'
          '    <bpmn:sequenceFlow id="f_orphan" sourceRef="ut_orphan" targetRef="end_done" />\n'
          '    <bpmn:endEvent id="end_done">')


def with_orphan(text: str = APPROVAL) -> str:
    text = text.replace('<bpmn:endEvent id="end_done">', ORPHAN, 1)
    return text.replace("<bpmn:flowNodeRef>ut_ack</bpmn:flowNodeRef>",
                        "<bpmn:flowNodeRef>ut_ack</bpmn:flowNodeRef><bpmn:flowNodeRef>ut_orphan</bpmn:flowNodeRef>")


def run(text: str):
    return validate([Document("graph.bpmn", text.encode())])


def test_a_disconnected_task_is_an_error_naming_id_name_and_line():
    text = with_orphan()
    result = run(text)
    assert not result.ok
    [p] = result.problems
    assert (p.element_id, p.name, p.severity) == ("ut_orphan", "Forgotten review", "error")
    assert p.line == line_of(text, 'id="ut_orphan"') and "no incoming sequence flow" in p.reason
    assert "graph.bpmn:" in str(p) and "ut_orphan (Forgotten review)" in str(p)


def test_a_task_reached_only_from_an_orphan_is_unreachable():
    text = with_orphan().replace('targetRef="end_done" />\n    <bpmn:endEvent',
                                 'targetRef="ut_orphan2" />\n    <bpmn:task id="ut_orphan2" name="Next">'
                                 '<bpmn:outgoing>f_o2</bpmn:outgoing></bpmn:task>'
                                 '<bpmn:sequenceFlow id="f_o2" sourceRef="ut_orphan2" targetRef="end_done" />'
                                 '\n    <bpmn:endEvent', 1)
    found = {(p.element_id, p.reason.split(":")[0]) for p in run(text).problems}
    assert ("ut_orphan", "has no incoming sequence flow") in found
    assert ("ut_orphan2", "is unreachable") in found


def test_no_outgoing_flow_and_endless_loops_are_dead_ends():
    no_way_out = APPROVAL.replace('<bpmn:sequenceFlow id="f6" sourceRef="ut_ack" targetRef="end_done" />', "")
    reasons = {p.element_id: p.reason for p in run(no_way_out).problems}
    assert "no outgoing sequence flow" in reasons["ut_ack"]
    assert "no incoming sequence flow" in reasons["end_done"]
    loop = APPROVAL.replace('<bpmn:sequenceFlow id="f6" sourceRef="ut_ack" targetRef="end_done" />',
                            '<bpmn:sequenceFlow id="f6" sourceRef="ut_ack" targetRef="ut_ack" />'
                            '<bpmn:sequenceFlow id="f7" sourceRef="start" targetRef="end_done" />')
    reasons = {p.element_id: p.reason for p in run(loop).problems}
    assert reasons == {"ut_ack": "is a dead end: no path from here reaches an end event"}, reasons


def test_gateway_without_default_and_unknown_condition_variables_are_warnings():
    text = APPROVAL.replace(' default="f_no"', "").replace(
        '<bpmn:sequenceFlow id="f_no" name="no" sourceRef="gw_approved" targetRef="end_rejected" />',
        '<bpmn:sequenceFlow id="f_no" name="no" sourceRef="gw_approved" targetRef="end_rejected">'
        '<bpmn:conditionExpression>approved == False and budget_ok</bpmn:conditionExpression></bpmn:sequenceFlow>')
    result = run(text)
    assert result.ok, result.problems
    warned = {(w.element_id, w.severity) for w in result.warnings}
    assert ("gw_approved", "warning") in warned and ("f_no", "warning") in warned
    [cond] = [w for w in result.warnings if w.element_id == "f_no"]
    assert "'budget_ok'" in cond.reason and "'approved'" not in cond.reason


def test_declared_start_data_and_script_results_count_as_set():
    text = APPROVAL.replace('<bpmn:startEvent id="start">',
                            '<bpmn:startEvent id="start"><bpmn:extensionElements><spiffworkflow:properties>'
                            '<spiffworkflow:property name="startData" value="budget_ok" />'
                            '</spiffworkflow:properties></bpmn:extensionElements>').replace(
        "approved == True", "approved == True and budget_ok and risk == 'low'")
    assert not run(text).warnings


def test_read_only_required_field_nothing_fills_is_a_warning():
    schema = {"type": "object", "properties": {"ticket": {"type": "string", "readOnly": True},
                                               "approved": {"type": "boolean"}},
              "required": ["ticket", "approved"]}
    result = validate([Document("graph.bpmn", APPROVAL.encode())], draft_forms={"t_approve": schema})
    [w] = [w for w in result.warnings if w.element_id == "ut_approve"]
    assert "'ticket'" in w.reason and w.severity == "warning"


def test_errors_block_deploy_warnings_do_not(session, world):
    with pytest.raises(DeploymentRefused) as refused:
        deploy(session, world.actor("alice"), [Document("graph.bpmn", with_orphan().encode())])
    assert any(d["element_id"] == "ut_orphan" for d in refused.value.details)
    warned = APPROVAL.replace("approved == True", "approved == True and unknown_flag")
    result = deploy(session, world.actor("alice"), [Document("graph.bpmn", warned.encode())])
    assert [v.process_id for v in result.deployed] == ["t_approval"]


def test_shipped_diagrams_have_no_findings():
    from engine.workflows.deploy import shipped_bpmn_dir

    docs = [Document(p.name, p.read_bytes()) for p in sorted([*shipped_bpmn_dir().glob("*.bpmn"),
                                                               *shipped_bpmn_dir().glob("*.dmn")])]
    result = validate(docs)
    assert result.ok and not result.warnings, result.problems + result.warnings


def test_cli_validate_names_the_unreachable_task(tmp_path, run_cli):
    bad = tmp_path / "orphan.bpmn"
    bad.write_text(with_orphan())
    out = run_cli(["bpmn", "validate", str(bad)])
    assert out.exit_code == 1
    line = line_of(with_orphan(), 'id="ut_orphan"')
    assert f"orphan.bpmn:{line}: ut_orphan (Forgotten review): has no incoming sequence flow" in out.output
    warned = tmp_path / "warned.bpmn"
    warned.write_text(APPROVAL.replace("approved == True", "approved == True and unknown_flag"))
    out = run_cli(["bpmn", "validate", "--json", str(warned)])
    body = json.loads(out.output)
    assert out.exit_code == 0 and body["valid"] and body["warnings"][0]["severity"] == "warning"
    assert body["warnings"][0]["element_id"] == "f_yes"


def test_reference_diagrams_stay_clean():
    for name in ("approval.bpmn", "timers.bpmn", "message.bpmn"):
        result = validate([Document(name, (BPMN_DIR / name).read_bytes())])
        assert result.ok and not result.warnings, (name, result.problems, result.warnings)
