"""The demo deviation shows the class the deviation class table gave it and the rule that decided."""
from __future__ import annotations

import re

from sqlalchemy import select

from audit.models import AuditEntry
from engine.demo.quality_instances import start_demo_processes
from engine.workflows import open_tasks
from tests.web.conftest import make_app


def _signed_in(demo_db, username):
    app = make_app(demo_db)
    client = app.test_client()
    html = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
    response = client.post("/login", data={"username": username, "csrf_token": token,
                                           "password": demo_db.demo.credentials()[username].password})
    assert response.status_code == 302
    return client


def test_demo_deviation_shows_its_class_and_the_deciding_rule(demo_db):
    with demo_db.sessions.begin() as s:
        instance_id = start_demo_processes(s, demo_db.settings(), demo_db.demo)["deviation"]
        [triage] = open_tasks(s, instance_id)
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "workflow.decision_taken",
                                                   AuditEntry.object_id == str(instance_id))).one()
        assert entry.after_value["decision"] == "deviation_class" and entry.after_value["version"] == 1
        rule = entry.after_value["rules"][0]
        cls = entry.after_value["outputs"]["classification"]
    qa = _signed_in(demo_db, "chen.jing")  # the demo's QA engineer: triage is in her lane
    for path in (f"/tasks/{triage.id}", f"/processes/{instance_id}"):
        html = qa.get(path).get_data(as_text=True)
        assert 'data-decision="deviation_class" data-version="1"' in html, path
        # the class in the reader's language (the recorded value is in the audit entry above)
        shown = {"minor": "轻微", "major": "重大", "critical": "关键"}[cls]
        assert f"<code data-rule>{rule}</code>" in html and f"<strong>{shown}</strong>" in html, path
        assert "决策表第 1 版" in html  # the demo QA engineer reads Chinese


def test_demo_change_shows_the_regulatory_notification_decision(demo_db):
    with demo_db.sessions.begin() as s:
        instance_id = start_demo_processes(s, demo_db.settings(), demo_db.demo)["change_control"]
        [assess] = open_tasks(s, instance_id)
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "workflow.decision_taken",
                                                   AuditEntry.object_id == str(instance_id))).one()
        assert entry.after_value["decision"] == "change_regulatory_notification"
        rule = entry.after_value["rules"][0]
        required = entry.after_value["outputs"]["regulatory_notification_required"]
    assert assess.spec_name == "assess_change"
    pe = _signed_in(demo_db, "xu.ming")  # assesses what wang.fang submitted
    html = pe.get(f"/tasks/{assess.id}").get_data(as_text=True)
    assert 'data-decision="change_regulatory_notification" data-version="1"' in html
    assert f"<code data-rule>{rule}</code>" in html
    assert "变更的法规通报" in html and "需要法规通报" in html  # the table's labels, in the reader's language
    assert f"<strong>{'是' if required else '否'}</strong>" in html  # yes/no, in Chinese
