"""The per-process deploy route (#14): only a QA manager switches a process's deploys to change control."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from audit.models import AuditEntry
from engine.workflows.deploy import via_change_control
from tests.web.conftest import csrf_token, deploy_test_process


@pytest.mark.parametrize("role, allowed", [("qa", True), ("pe", False), ("op", False), ("auditor", False),
                                           ("qe", False)])
def test_deploy_route_setting_is_for_qa_managers(client, fresh_db, personas, login, role, allowed):
    deploy_test_process(fresh_db)
    login(personas(role))
    page = client.get("/editor/web_change/deploy-route")
    assert page.status_code == (200 if allowed else 403)
    token = csrf_token(client, "/inbox/")
    response = client.post("/editor/web_change/deploy-route",
                           data={"via_change_control": "1", "reason": "SOP-QA-012 §4", "csrf_token": token})
    assert response.status_code == (303 if allowed else 403)
    with fresh_db.sessions() as s:
        assert via_change_control(s, "web_change") is allowed
        entries = s.scalars(select(AuditEntry).where(AuditEntry.action == "workflow.deploy_route_changed")).all()
        assert len(entries) == (1 if allowed else 0)


def test_deploy_route_needs_a_reason(client, fresh_db, personas, login):
    deploy_test_process(fresh_db)
    login(personas("qa"))
    token = csrf_token(client, "/editor/web_change/deploy-route")
    response = client.post("/editor/web_change/deploy-route",
                           data={"via_change_control": "1", "reason": " ", "csrf_token": token})
    assert response.status_code == 303
    with fresh_db.sessions() as s:
        assert not via_change_control(s, "web_change")


def test_editor_deploy_of_a_routed_process_opens_a_change_request(client, fresh_db, personas, login):
    from audit import SYSTEM
    from engine.processes.models import ChangeDeployment, ChangeRequest
    from engine.workflows import deploy_all_shipped
    from engine.workflows.deploy import list_versions, set_deploy_route
    from tests.web.conftest import PASSWORD
    from tests.web.test_web_editor import XML

    deploy_test_process(fresh_db)
    with fresh_db.sessions.begin() as s:
        assert not deploy_all_shipped(s, SYSTEM).problems  # the change-control process
        set_deploy_route(s, SYSTEM, "web_change", via_change_control=True, reason="SOP-QA-012")
    pe = personas("pe")
    login(pe)
    page = client.get("/editor/web_change").get_data(as_text=True)
    assert 'id="deploy-via-change"' in page
    token = csrf_token(client, "/editor/web_change")
    edited = XML.replace('name="Collect the impact"', 'name="Collect the impact and risks"')
    wrong = client.post("/editor/web_change/deploy", data={"xml": edited, "comment": "rename", "csrf_token": token,
                                                         "password": PASSWORD, "totp_code": "000000"})
    assert wrong.status_code == 422
    with fresh_db.sessions() as s:
        assert s.query(ChangeDeployment).count() == 0  # a refused signature opens nothing
    response = client.post("/editor/web_change/deploy", data={"xml": edited, "comment": "rename the step",
                                                             "csrf_token": token, "password": PASSWORD,
                                                             "totp_code": pe.code()}, follow_redirects=True)
    assert response.status_code == 200
    with fresh_db.sessions() as s:
        assert [v.version for v in list_versions(s, "web_change")] == [1]  # proposed, not deployed
        [proposal] = s.query(ChangeDeployment).all()
        change = s.query(ChangeRequest).filter_by(process_instance_id=proposal.process_instance_id).one()
        assert "Collect the impact and risks" in proposal.bpmn_xml and change.status == "submitted"
    assert change.number in response.get_data(as_text=True)
