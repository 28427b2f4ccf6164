"""BPMN editor: role-restricted, server-side validation with element ids, signed deploy, diff."""
from __future__ import annotations

from sqlalchemy import select

from audit.models import Signature
from engine.workflows.models import ProcessVersion
from tests.web.conftest import BPMN_DIR, PASSWORD, csrf_token, deploy_test_process

XML = (BPMN_DIR / "web_change.bpmn").read_text()


def test_editor_is_for_process_owners_only(client, fresh_db, personas, login):
    deploy_test_process(fresh_db)
    login(personas("qa"))
    for path in ("/editor/", "/editor/web_change", "/editor/web_change/v1.bpmn"):
        assert client.get(path).status_code == 403
    token = csrf_token(client, "/inbox/")
    assert client.post("/editor/web_change/deploy", data={"xml": XML, "comment": "x",
                                                          "csrf_token": token}).status_code == 403


def test_validate_lists_problems_with_element_ids(client, fresh_db, personas, login):
    deploy_test_process(fresh_db)
    login(personas("pe"))
    token = csrf_token(client, "/editor/web_change")
    ok = client.post("/editor/web_change/validate", data={"xml": XML, "csrf_token": token}).get_json()
    assert ok == {"ok": True, "problems": []}
    broken = XML.replace('sourceRef="build_context" targetRef="approve_change_qa"',
                         'sourceRef="build_context" targetRef="nowhere"')
    result = client.post("/editor/web_change/validate", data={"xml": broken, "csrf_token": token}).get_json()
    assert result["ok"] is False and result["problems"]
    evil = XML.replace('change = {', 'import os\nchange = {')
    result = client.post("/editor/web_change/validate", data={"xml": evil, "csrf_token": token}).get_json()
    assert result["ok"] is False
    assert any(p["element_id"] == "build_context" for p in result["problems"])
    doctype = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>' + XML.split("?>", 1)[1]
    result = client.post("/editor/web_change/validate", data={"xml": doctype, "csrf_token": token}).get_json()
    assert result["ok"] is False and "root:" not in str(result)


def test_deploy_is_signed_and_diffable(client, fresh_db, personas, login):
    deploy_test_process(fresh_db)
    pe = personas("pe")
    login(pe)
    token = csrf_token(client, "/editor/web_change")
    edited = XML.replace('name="Collect the impact"', 'name="Collect the impact and risks"')
    no_comment = client.post("/editor/web_change/deploy", data={"xml": edited, "comment": "", "csrf_token": token,
                                                              "password": PASSWORD, "totp_code": pe.code()})
    assert no_comment.status_code == 422 and "comment is required" in no_comment.get_data(as_text=True)
    wrong = client.post("/editor/web_change/deploy", data={"xml": edited, "comment": "rename", "csrf_token": token,
                                                         "password": PASSWORD, "totp_code": "000000"})
    assert wrong.status_code == 422 and "not correct" in wrong.get_data(as_text=True)
    assert "Collect the impact and risks" in wrong.get_data(as_text=True)  # the edit is not lost
    response = client.post("/editor/web_change/deploy", data={"xml": edited, "comment": "rename the step",
                                                             "csrf_token": token, "password": PASSWORD,
                                                             "totp_code": pe.code()})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    with fresh_db.sessions() as s:
        versions = s.scalars(select(ProcessVersion.version).where(ProcessVersion.process_id == "web_change")).all()
        assert sorted(versions) == [1, 2]
        sig = s.scalars(select(Signature).where(Signature.record_id == "web_change:v2")).one()
        assert sig.meaning == "approved" and sig.printed_name == "Pat Engineer"
    html = client.get("/editor/web_change/diff?a=1&b=2").get_data(as_text=True)
    assert 'data-element-id="build_context"' in html and "diff-changed" in html
    assert "Collect the impact and risks" in html
    assert client.get("/editor/web_change/diff?a=1&b=9").status_code == 404


def test_bpmn_diff_kinds():
    from web.bpmndiff import diff

    new = XML.replace('<bpmn:endEvent id="end" name="Decided">', '<bpmn:endEvent id="end" name="Done">')
    new = new.replace('<bpmn:sequenceFlow id="f3" sourceRef="approve_change_qa" targetRef="end" />',
                      '<bpmn:sequenceFlow id="f3" sourceRef="approve_change_qa" targetRef="end" />'
                      '<bpmn:task id="extra" name="Extra" />')
    new = new.replace('<bpmndi:BPMNShape id="end_di" bpmnElement="end"><dc:Bounds x="562"',
                      '<bpmndi:BPMNShape id="end_di" bpmnElement="end"><dc:Bounds x="600"')
    changes = {c.element_id: c.kind for c in diff(XML, new)}
    assert changes == {"end": "changed", "extra": "added"}  # moving a shape is not a change
    assert {c.element_id: c.kind for c in diff(new, XML)} == {"end": "changed", "extra": "removed"}


SMUGGLED = """<bpmn:process id="smuggled" name="Smuggled" isExecutable="true">
    <bpmn:startEvent id="smuggled_start"><bpmn:outgoing>smuggled_flow</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="smuggled_flow" sourceRef="smuggled_start" targetRef="smuggled_end"/>
    <bpmn:endEvent id="smuggled_end"><bpmn:incoming>smuggled_flow</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
  <bpmndi:BPMNDiagram"""


def test_a_deploy_signs_exactly_what_it_deploys(client, fresh_db, personas, login):
    """A file that also holds another process is refused: one signature, one process (issue #20, item 9)."""
    deploy_test_process(fresh_db)
    pe = personas("pe")
    login(pe)
    token = csrf_token(client, "/editor/web_change")
    two = XML.replace("<bpmndi:BPMNDiagram", SMUGGLED, 1)
    assert two != XML
    checked = client.post("/editor/web_change/validate", data={"xml": two, "csrf_token": token}).get_json()
    assert checked["ok"] is False and any("smuggled" in p["message"] for p in checked["problems"])
    response = client.post("/editor/web_change/deploy", data={"xml": two, "comment": "one more", "csrf_token": token,
                                                             "password": PASSWORD, "totp_code": pe.code()})
    assert response.status_code == 422
    assert "also contains the process(es) smuggled" in response.get_data(as_text=True)
    with fresh_db.sessions() as s:
        assert s.scalars(select(ProcessVersion).where(ProcessVersion.process_id == "smuggled")).all() == []
        assert s.scalars(select(ProcessVersion.version).where(ProcessVersion.process_id == "web_change")).all() == [1]
        assert s.scalars(select(Signature).where(Signature.record_type == "process_version")).all() == []
