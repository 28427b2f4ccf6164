"""The workbench's server side (#14): the properties panel's choices rendered into the editor
page, and the live script-policy check that names the refused line."""
from __future__ import annotations

import json
import re

from tests.web.conftest import csrf_token, deploy_test_process


def _config(html: str) -> dict:
    match = re.search(r'<script type="application/json" id="editor-config">(.*?)</script>', html, re.S)
    assert match, "no panel configuration on the editor page"
    return json.loads(match.group(1))


def test_the_panel_offers_what_a_deployment_accepts(client, fresh_db, personas, login):
    deploy_test_process(fresh_db)
    login(personas("pe"))
    config = _config(client.get("/editor/web_change").get_data(as_text=True))
    assert "approve_change_qa.json" in config["forms"] and "qa_manager" in config["roles"]
    assert config["meanings"]["approved"] == "Approved"
    withdraw = next(op for op in config["operations"] if op["name"] == "change.withdraw")
    assert withdraw["params"] == [{"name": "reason", "type": "str", "required": True}]
    assert [p["id"] for p in config["processes"]] == ["web_change"]
    assert config["labels"]["st-form"] == "Form"


def test_script_check_names_the_refused_line(client, fresh_db, personas, login):
    login(personas("pe"))
    token = csrf_token(client, "/editor/")
    ok = client.post("/editor/check-script", data={"kind": "script", "source": "x = 1\ny = x + 1",
                                                    "csrf_token": token}).get_json()
    assert ok == {"ok": True, "line": None, "message": ""}
    refused = client.post("/editor/check-script", data={"kind": "script", "csrf_token": token,
                                                         "source": "x = 1\ny = ().__class__.__base__"}).get_json()
    assert refused["ok"] is False and refused["line"] == 2 and "__base__" in refused["message"]
    expression = client.post("/editor/check-script", data={"kind": "expression", "source": "x = 1",
                                                            "csrf_token": token}).get_json()
    assert expression["ok"] is False
    bad_kind = client.post("/editor/check-script", data={"kind": "shell", "source": "ls", "csrf_token": token})
    assert bad_kind.status_code == 422


def test_script_check_is_for_process_owners_only(client, fresh_db, personas, login):
    login(personas("qa"))
    token = csrf_token(client, "/inbox/")
    assert client.post("/editor/check-script", data={"kind": "script", "source": "x = 1",
                                                      "csrf_token": token}).status_code == 403


def test_simulate_runs_the_edited_diagram_in_memory(client, fresh_db, personas, login):
    from tests.web.test_web_editor import XML

    deploy_test_process(fresh_db)
    login(personas("pe"))
    token = csrf_token(client, "/editor/web_change")
    body = {"xml": XML, "csrf_token": token, "start_data": '{"change_title": "x"}', "task_data": "{}",
            "now": "2026-03-01T08:00:00"}
    result = client.post("/editor/web_change/simulate", data=body).get_json()
    assert result["ok"] is True and result["run"]["status"] == "completed"
    assert result["run"]["path"][0] == "start" and "approve_change_qa" in result["run"]["path"]
    lanes = {s["element_id"]: s["lane"] for s in result["run"]["steps"]}
    assert lanes["approve_change_qa"] == "qa_manager"
    bad = client.post("/editor/web_change/simulate", data={**body, "task_data": "[1]"})
    assert bad.status_code == 422 and "task_data" in bad.get_json()["problems"][0]["message"]
    bad = client.post("/editor/web_change/simulate", data={**body, "now": "tomorrow"})
    assert bad.status_code == 422 and "now" in bad.get_json()["problems"][0]["message"]
    broken = XML.replace('sourceRef="build_context" targetRef="approve_change_qa"',
                         'sourceRef="build_context" targetRef="nowhere"')
    refused = client.post("/editor/web_change/simulate", data={**body, "xml": broken}).get_json()
    assert refused["ok"] is False and refused["problems"] and "run" not in refused


FORM = {"type": "object", "title": "Pre-screen", "x-title-zh": "预审", "required": ["decision"],
        "properties": {"decision": {"type": "string", "title": "Decision", "x-title-zh": "决定",
                                    "enum": ["go", "back"],
                                    "x-enum-labels": {"go": {"en": "Go", "zh": "继续"}, "back": {"en": "Back", "zh": "退回"}}}}}


def test_form_builder_previews_in_both_languages_and_saves_versions(client, fresh_db, personas, login):
    login(personas("pe"))
    page = client.get("/editor/forms/prescreen")
    assert page.status_code == 200 and "prescreen" in page.get_data(as_text=True)
    token = csrf_token(client, "/editor/forms/prescreen")
    shown = client.post("/editor/forms/preview", data={"schema": json.dumps(FORM), "csrf_token": token}).get_json()
    assert shown["ok"] and "Decision" in shown["en"] and "决定" in shown["zh"] and "退回" in shown["zh"]
    refused = client.post("/editor/forms/preview", data={"schema": '{"type": "nope"}', "csrf_token": token})
    assert refused.status_code == 422 and refused.get_json()["ok"] is False
    no_comment = client.post("/editor/forms/prescreen", data={"schema": json.dumps(FORM), "comment": "",
                                                               "csrf_token": token})
    assert no_comment.status_code == 422
    saved = client.post("/editor/forms/prescreen", data={"schema": json.dumps(FORM), "comment": "first",
                                                          "csrf_token": token})
    assert saved.status_code == 302
    assert "prescreen@1" in client.get("/editor/forms/prescreen").get_data(as_text=True)
    assert "prescreen.json" in _config(_editor_page(client, fresh_db))["forms"]
    assert client.get("/editor/forms/..%2Fetc").status_code == 404
    assert client.get("/editor/forms/?name=bad%20name").status_code == 404


def _editor_page(client, db) -> str:
    deploy_test_process(db)
    return client.get("/editor/web_change").get_data(as_text=True)


def test_form_builder_is_for_process_owners_only(client, fresh_db, personas, login):
    login(personas("qa"))
    assert client.get("/editor/forms/").status_code == 403
    token = csrf_token(client, "/inbox/")
    assert client.post("/editor/forms/prescreen", data={"schema": json.dumps(FORM), "comment": "x",
                                                         "csrf_token": token}).status_code == 403


def test_move_running_instances_dry_run_then_signed(client, fresh_db, personas, login):
    from audit import SYSTEM
    from engine.workflows import Document, deploy
    from engine.workflows.models import ProcessInstance, ProcessVersion
    from sqlalchemy import select
    from tests.web.conftest import PASSWORD, start_change
    from tests.web.test_web_editor import XML

    deploy_test_process(fresh_db)
    pe, qa = personas("pe"), personas("qa")
    first = start_change(fresh_db, pe, title="A", key="CC-1")
    second = start_change(fresh_db, pe, title="B", key="CC-2")
    with fresh_db.sessions.begin() as s:  # v2 renames the open QA step: both can move
        deploy(s, SYSTEM, [Document("web_change.bpmn", XML.replace(
            'name="QA approval / 质量批准"', 'name="QA review / 质量审核"').encode())], comment="rename")
        # v3 changes the completed script: nothing may move there
        deploy(s, SYSTEM, [Document("web_change.bpmn", XML.replace(
            'name="Collect the impact"', 'name="Gather the impact"').encode())], comment="script renamed")
    login(qa)  # (a process engineer is refused: tests/web/test_web_authz_matrix.py, rule bpmn.migrate)
    dry = client.get("/editor/moves/web_change?to=3").get_data(as_text=True)
    assert "0 of 2 running instance(s) can move to v3" in dry and "build_context" in dry
    report = client.get("/editor/moves/web_change?to=2").get_data(as_text=True)
    assert "2 of 2 running instance(s) can move to v2" in report
    token = csrf_token(client, "/editor/moves/web_change?to=2")
    refused = client.post("/editor/moves/web_change", data={"to": "2", "reason": "", "csrf_token": token})
    assert refused.status_code == 422
    wrong = client.post("/editor/moves/web_change", data={"to": "2", "reason": "clearer name", "csrf_token": token,
                                                         "password": PASSWORD, "totp_code": "000000"})
    assert wrong.status_code == 422
    moved = client.post("/editor/moves/web_change", data={"to": "2", "reason": "clearer name", "csrf_token": token,
                                                         "password": PASSWORD, "totp_code": qa.code()})
    assert moved.status_code == 302, moved.get_data(as_text=True)[:1500]
    with fresh_db.sessions() as s:
        v2 = s.scalar(select(ProcessVersion.id).where(ProcessVersion.version == 2))
        assert {i.process_version_id for i in s.scalars(select(ProcessInstance).where(
            ProcessInstance.id.in_([first, second])))} == {v2}


def test_the_processes_page_links_qa_managers_to_the_move(client, fresh_db, personas, login):
    deploy_test_process(fresh_db)
    login(personas("qa"))
    assert "/editor/moves/web_change" in client.get("/processes/?process=web_change").get_data(as_text=True)
    assert "/editor/moves/" not in client.get("/processes/").get_data(as_text=True)
