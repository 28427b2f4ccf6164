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
