"""Deploy-time validation: each kind of bad BPMN is refused with file, element id, line, reason."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from engine.errors import DeploymentRefused
from engine.workflows import Document, list_versions, validate_documents
from engine.workflows.specs import validate
from tests.engine.conftest import BPMN_DIR

APPROVAL = (BPMN_DIR / "approval.bpmn").read_text()


def line_of(text: str, needle: str) -> int:
    """1-based line of the first line containing ``needle``."""
    for number, line in enumerate(text.splitlines(), 1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in text")


def problems(text: str, name: str = "bad.bpmn", **kwargs):
    return validate([Document(name, text.encode())], **kwargs).problems


def one(text: str, **kwargs):
    found = problems(text, **kwargs)
    assert len(found) == 1, found
    return found[0]


def test_the_reference_diagram_is_valid():
    result = validate([Document("approval.bpmn", APPROVAL.encode())])
    assert result.ok and set(result.processes) == {"t_approval"}


def test_malformed_xml_names_the_line():
    text = APPROVAL.replace('<bpmn:endEvent id="end_done">', '<bpmn:endEvent id="end_done"', 1)
    p = one(text)
    assert p.file == "bad.bpmn" and "malformed XML" in p.reason
    assert p.line == line_of(text, 'id="end_done"') + 1


def test_doctype_and_entities_are_refused():
    xxe = ('<?xml version="1.0"?>\n<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
           + APPROVAL.split("\n", 1)[1].replace('name="Test approval"', 'name="&x;"'))
    p = one(xxe)
    assert "DOCTYPE" in p.reason


def test_billion_laughs_is_refused():
    bomb = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
            '<lolz>&lol2;</lolz>')
    assert "DOCTYPE" in one(bomb).reason


def test_oversize_upload_is_refused():
    p = one(APPROVAL, max_bytes=1000)
    assert "above the 1000-byte limit" in p.reason


def test_xsd_violation_has_a_line():
    text = APPROVAL.replace("<bpmn:incoming>f1</bpmn:incoming>", "<bpmn:bogus>f1</bpmn:bogus>", 1)
    p = one(text)
    assert p.line == line_of(text, "bpmn:bogus")


@pytest.mark.parametrize("kind,label", [("linkEventDefinition", "link"), ("compensateEventDefinition", "compensation")])
def test_link_and_compensation_events_are_refused(kind, label):
    text = APPROVAL.replace('<bpmn:endEvent id="end_rejected">\n      <bpmn:incoming>f_no</bpmn:incoming>',
                            f'<bpmn:endEvent id="end_rejected">\n      <bpmn:incoming>f_no</bpmn:incoming>\n'
                            f'      <bpmn:{kind} id="Def_1" />', 1)
    p = one(text)
    assert p.element_id == "end_rejected" and label in p.reason and "none-events" in p.reason
    assert p.line == line_of(text, 'id="end_rejected"')


def test_missing_and_dangling_message_ref():
    text = (BPMN_DIR / "message.bpmn").read_text()
    missing = one(text.replace(' messageRef="msg_lab"', ""))
    assert missing.element_id == "wait_lab" and "no messageRef" in missing.reason
    assert missing.line == line_of(text, 'id="wait_lab"')
    dangling = one(text.replace('messageRef="msg_lab"', 'messageRef="msg_nope"'))
    assert "msg_nope" in dangling.reason


@pytest.mark.parametrize("expr,words", [('"PXYZ"', "not a valid ISO 8601"), ("PT1H", "must be a quoted string expression"), ("3600", "must evaluate to an ISO 8601 string"),
                                        ('"PT0S"', "not a valid"), ("__import__('os')", "refused")])
def test_bad_timer_is_caught_at_deploy_time(expr, words):
    text = (BPMN_DIR / "timers.bpmn").read_text().replace('>"PT1H"<', f">{expr}<")
    p = one(text)
    assert p.element_id == "overdue" and words in p.reason
    assert p.line == line_of(text, 'id="overdue"')


def test_user_task_lane_and_form_rules():
    no_lane = one(APPROVAL.replace("<bpmn:flowNodeRef>ut_ack</bpmn:flowNodeRef>", ""))
    assert no_lane.element_id == "ut_ack" and "no lane" in no_lane.reason
    bad_lane = problems(APPROVAL.replace('name="production_manager"', 'name="Production"'))
    assert any(p.element_id == "ut_ack" and "'Production' is not a role" in p.reason for p in bad_lane)
    no_form = one(APPROVAL.replace('<spiffworkflow:property name="formJsonSchemaFilename" value="t_ack" />', ""))
    assert no_form.element_id == "ut_ack" and "names no form" in no_form.reason
    missing_form = one(APPROVAL.replace('value="t_ack"', 'value="t_nothing_here"'))
    assert missing_form.element_id == "ut_ack" and "not found" in missing_form.reason
    assert missing_form.line == line_of(APPROVAL, 'id="ut_ack"')


def test_task_property_rules():
    text = APPROVAL.replace('value="reviewed"', 'value="review"').replace('value="P2D"', 'value="two days"')
    text = text.replace('value="initiator,ut_request"', 'value="initiator,ut_nowhere"')
    reasons = " | ".join(p.reason for p in problems(text))
    assert "signatureMeaning 'review'" in reasons and "dueIn 'two days'" in reasons and "ut_nowhere" in reasons


def test_service_task_must_name_a_registered_operation_with_its_parameters():
    unknown = one(APPROVAL.replace('id="set_business_key"', 'id="launch_missiles"'))
    assert unknown.element_id == "st_key" and "unknown service operation 'launch_missiles'" in unknown.reason
    assert unknown.line == line_of(APPROVAL, 'id="st_key"')
    wrong = problems(APPROVAL.replace('parameter id="key"', 'parameter id="kee"'))
    reasons = {p.reason for p in wrong}
    assert "operation 'set_business_key' needs parameter 'key'" in reasons
    assert "operation 'set_business_key' has no parameter 'kee'" in reasons
    evil = one(APPROVAL.replace('type="str" value="number"', 'type="str" value="open(\'/etc/passwd\').read()"'))
    assert "parameter 'key' refused by the script policy" in evil.reason


def test_scripts_and_conditions_must_pass_the_policy():
    script = one(APPROVAL.replace('risk = "high"', 'import os\nrisk = "high"'))
    assert script.element_id == "script_risk" and "import is not allowed" in script.reason
    assert script.line == line_of(APPROVAL, 'id="script_risk"')
    cond = one(APPROVAL.replace("approved == True</", "().__class__.__bases__</"))
    assert cond.element_id == "f_yes" and "'__bases__' is not allowed" in cond.reason


def test_dangling_target_ref_is_named_clearly():
    p = one(APPROVAL.replace('<bpmn:sequenceFlow id="f6" sourceRef="ut_ack" targetRef="end_done" />',
                             '<bpmn:sequenceFlow id="f6" sourceRef="ut_ack" targetRef="end_gone" />'))
    assert p.element_id == "f6" and "targetRef 'end_gone' names no element" in p.reason


def test_unsupported_elements_are_named():
    text = APPROVAL.replace('<bpmn:exclusiveGateway id="gw_approved" name="Approved?" default="f_no">',
                            '<bpmn:complexGateway id="gw_approved" name="Approved?" default="f_no">')
    text = text.replace("</bpmn:exclusiveGateway>", "</bpmn:complexGateway>")
    p = one(text)
    assert p.element_id == "gw_approved" and p.line == line_of(text, 'id="gw_approved"')
    assert "complex gateways are not supported" in p.reason
    dmn = one(APPROVAL.replace('<bpmn:scriptTask id="script_risk" name="Classify risk">',
                               '<bpmn:businessRuleTask id="script_risk" name="Classify risk">')
              .replace("</bpmn:scriptTask>", "</bpmn:businessRuleTask>").replace("<bpmn:script>", "<!--")
              .replace("</bpmn:script>", "-->"))
    assert dmn.element_id == "script_risk" and "names no decision (spiffworkflow:calledDecisionId)" in dmn.reason


def test_spiffworkflow_structural_errors_get_our_line_number():
    # A duplicate outgoing flow reference passes our lint; SpiffWorkflow's ValidationException
    # carries the id only, and we add the line.
    text = APPROVAL.replace('<bpmn:exclusiveGateway id="gw_approved" name="Approved?" default="f_no">',
                            '<bpmn:exclusiveGateway id="gw_approved" name="Approved?">')
    p = one(text)
    assert p.element_id in {"gw_approved", "f_no"} and p.line == line_of(text, f'id="{p.element_id}"')


def test_not_executable_and_call_to_unknown_process():
    assert "no executable process" in one(APPROVAL.replace('isExecutable="true"', 'isExecutable="false"')).reason
    parent = (BPMN_DIR / "parent.bpmn").read_text()
    p = one(parent)
    assert p.element_id == "call_child" and "'t_child' is neither in this file nor deployed" in p.reason


def test_call_activity_resolves_to_a_deployed_process(world, session):
    world.deploy("child.bpmn")
    result = validate_documents(session, [Document("parent.bpmn", (BPMN_DIR / "parent.bpmn").read_bytes())])
    assert result.ok and set(result.processes["t_parent"].subprocess_specs) == {"t_child"}


def test_a_bad_file_never_becomes_a_version(world, session):
    bad = APPROVAL.replace('id="set_business_key"', 'id="launch_missiles"')
    with pytest.raises(DeploymentRefused) as err:
        from engine.workflows import deploy

        deploy(session, world.actor("alice"), [Document("approval.bpmn", bad.encode())])
    assert err.value.details[0]["element_id"] == "st_key" and err.value.details[0]["line"]
    assert list_versions(session, "t_approval") == []


def test_cli_validate_exit_codes_and_json(tmp_path, run_cli):
    _cli = run_cli
    good = BPMN_DIR / "approval.bpmn"
    bad = tmp_path / "bad.bpmn"
    bad.write_text(APPROVAL.replace('id="set_business_key"', 'id="launch_missiles"').replace('>"PT1H"<', ">x<"))
    ok = _cli(["bpmn", "validate", str(good)])
    assert ok.exit_code == 0 and "valid: t_approval" in ok.output
    refused = _cli(["bpmn", "validate", str(bad)])
    assert refused.exit_code == 1
    st_line = line_of(APPROVAL, 'id="st_key"')
    assert f"bad.bpmn:{st_line}: st_key (Set business key): unknown service operation" in refused.output
    as_json = _cli(["bpmn", "validate", "--json", str(bad)])
    assert as_json.exit_code == 1
    body = json.loads(as_json.output)
    assert body["valid"] is False and body["problems"][0]["element_id"] == "st_key"


def test_cli_deploy_validates_first_then_is_signed_by_a_process_engineer(tmp_path, run_cli, fresh_db,
                                                                          cli_engineer):
    from audit.models import Signature

    _, engineer_id, signed = cli_engineer
    _cli = run_cli
    bad = tmp_path / "approval.bpmn"
    bad.write_text(APPROVAL.replace('id="set_business_key"', 'id="launch_missiles"'))
    refused = _cli(["bpmn", "deploy", str(bad), "--comment", "x", "--by", "pat.engineer"])
    assert refused.exit_code == 1 and "launch_missiles" in refused.output
    approval = str(BPMN_DIR / "approval.bpmn")
    for by, why in (("nobody.here", "no such user"), ("olga.operator", "needs the role process_engineer")):
        denied = _cli(["bpmn", "deploy", approval, "--comment", "initial", "--by", by], input=signed())
        assert denied.exit_code == 1 and why in denied.output
    first = _cli(["bpmn", "deploy", approval, "--comment", "initial", "--by", "pat.engineer"], input=signed())
    assert first.exit_code == 0 and "deployed t_approval v1" in first.output, first.output
    again = _cli(["bpmn", "deploy", approval, "--comment", "again", "--by", "pat.engineer"], input=signed())
    assert again.exit_code == 1 and "t_approval v1 has the same content" in again.output
    with fresh_db.sessions.begin() as s:
        [version] = list_versions(s, "t_approval")
        assert version.comment == "initial" and version.deployed_by_id == str(engineer_id)
        [signature] = s.scalars(select(Signature).where(Signature.record_type == "process_version")).all()
        assert signature.record_id == "t_approval:v1" and signature.user_id == str(engineer_id)


def test_shipped_files_are_deployed_once_and_newer_ones_only_reported(world, session, tmp_path):
    from engine.workflows import deploy, deploy_all_shipped
    from engine.workflows.specs import Document

    for name in ("parent.bpmn", "child.bpmn", "approval.bpmn"):
        (tmp_path / name).write_bytes((BPMN_DIR / name).read_bytes())
    first = deploy_all_shipped(session, world.actor("alice"), tmp_path)
    assert sorted(v.process_id for v in first.deployed) == ["t_approval", "t_child", "t_parent"]
    again = deploy_all_shipped(session, world.actor("alice"), tmp_path)
    assert again.deployed == [] and len(again.unchanged) == 3 and again.newer_shipped == []
    # A person deploys their own v2 of the approval: the shipped v1 content never replaces it.
    edited = (BPMN_DIR / "approval.bpmn").read_text().replace('name="', 'name="Edited ', 1)
    mine = deploy(session, world.actor("alice"), [Document("approval.bpmn", edited.encode())])
    assert [(v.process_id, v.version) for v in mine.deployed] == [("t_approval", 2)]
    after_mine = deploy_all_shipped(session, world.actor("alice"), tmp_path)
    assert after_mine.deployed == [], after_mine.deployed
    assert after_mine.newer_shipped == [], [(v.process_id, v.version, v.content_sha256[:8]) for v in list_versions(session)]
    assert list_versions(session, "t_approval")[0].version == 2
    # An upgrade ships a changed child: reported for a person to deploy, not deployed.
    child = (BPMN_DIR / "child.bpmn").read_text().replace('name="Child review"', 'name="Child review (v2)"')
    (tmp_path / "child.bpmn").write_text(child)
    third = deploy_all_shipped(session, world.actor("alice"), tmp_path)
    assert third.deployed == [] and [(v.process_id, v.version) for v in third.newer_shipped] == [("t_child", 1)]
    assert [v.version for v in list_versions(session, "t_child")] == [1]
    (tmp_path / "broken.bpmn").write_text("<not-bpmn")
    refused = deploy_all_shipped(session, world.actor("alice"), tmp_path)
    assert refused.deployed == [] and refused.problems[0].file == "broken.bpmn"
