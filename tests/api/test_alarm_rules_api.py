"""Alarm rules over the API: QA signed in may edit (with CSRF), tokens and other roles may not."""
from __future__ import annotations

import json
import uuid

from sqlalchemy import select

from audit.models import AuditEntry
from tests.api.conftest import bearer
from tests.web.conftest import csrf_token, make_app, make_persona, sign_in


def _rule(name):
    return {"rule": {"name": name, "code": "VAC_LOSS", "action": "hold", "priority": 5}, "reason": "CAPA-12"}


def test_qa_edits_rules_with_csrf_and_every_change_is_audited(fresh_db):
    app = make_app(fresh_db)
    try:
        qa = make_persona(fresh_db, "qa")
        client = app.test_client()
        assert sign_in(client, qa).status_code == 302
        token = csrf_token(client, "/inbox/")
        name = f"vacuum loss {uuid.uuid4().hex[:4]}"
        refused = client.post("/api/v1/alarm-rules", json=_rule(name))
        assert refused.status_code == 403 and "CSRF" in refused.get_json()["detail"]
        created = client.post("/api/v1/alarm-rules", json=_rule(name), headers={"X-CSRFToken": token})
        assert created.status_code == 201, created.get_json()
        rule = created.get_json()
        changed = client.patch(f"/api/v1/alarm-rules/{rule['id']}", headers={"X-CSRFToken": token},
                               json={"changes": {"action": "deviation"}, "reason": "hold too broad",
                                     "expected_version": 1})
        assert changed.status_code == 200 and changed.get_json()["version"] == 2
        stale = client.patch(f"/api/v1/alarm-rules/{rule['id']}", headers={"X-CSRFToken": token},
                             json={"changes": {"action": "log"}, "reason": "x", "expected_version": 1})
        assert stale.status_code == 409
        bad = client.patch(f"/api/v1/alarm-rules/{rule['id']}", headers={"X-CSRFToken": token},
                           json={"changes": {"action": "explode"}, "reason": "x"})
        assert bad.status_code == 422 and bad.get_json()["errors"][0]["field"] == "action"
        with fresh_db.sessions.begin() as s:
            entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "alarm_rule.updated")).one()
            assert entry.actor_id == str(qa.id) and entry.reason == "hold too broad"
            assert json.loads(entry.before)["action"] == "hold" and json.loads(entry.after)["action"] == "deviation"
        listed = client.get("/api/v1/alarm-rules").get_json()["rules"]
        assert [r["name"] for r in listed] == [name]
    finally:
        app.extensions["sealtrail.engine"].dispose()


def test_tokens_and_operators_cannot_edit_rules(fresh_db, client, full_token):
    assert client.post("/api/v1/alarm-rules", json=_rule("by token"), headers=bearer(full_token)).status_code == 403
    assert client.get("/api/v1/alarm-rules", headers=bearer(full_token)).status_code == 200
    app = make_app(fresh_db)
    try:
        operator = make_persona(fresh_db, "op")
        browser = app.test_client()
        assert sign_in(browser, operator).status_code == 302
        response = browser.post("/api/v1/alarm-rules", json=_rule("by operator"),
                                headers={"X-CSRFToken": csrf_token(browser, "/inbox/")})
        assert response.status_code == 403
    finally:
        app.extensions["sealtrail.engine"].dispose()
