"""Editing a routing draft in the browser and proposing it to change control (pages, roles)."""
from __future__ import annotations

import re

import pyotp
import pytest
from sqlalchemy import select

from audit import SYSTEM
from engine.masterdata.models import Routing
from engine.masterdata.revisions import new_draft
from engine.processes.changes import find_change_for_instance
from engine.workflows import deploy_all_shipped
from engine.workflows.models import WorkflowTask
from tests.web.conftest import PASSWORD, csrf_token, make_app, make_persona, sign_in


@pytest.fixture()
def engineer(demo_db):
    with demo_db.sessions.begin() as s:
        deploy_all_shipped(s, SYSTEM)
        routing = s.scalar(select(Routing).where(Routing.code == "RT-DRIP"))
        rev = new_draft(s, SYSTEM, routing, change_summary="narrower UV intensity window")
        rev_id = rev.id
        param_id = next(p.id for op in rev.operations for p in op.parameters if p.name == "UV intensity")
    app = make_app(demo_db)
    client = app.test_client()
    persona = make_persona(demo_db, "pe")
    assert sign_in(client, persona).status_code == 302
    yield client, persona, rev_id, param_id
    app.extensions["sealtrail.engine"].dispose()


def _limits(**overrides):
    return {"unit": "mW/cm^2", "target": "60", "lsl": "52", "usl": "68", "lcl": "55", "ucl": "65",
            "critical": "on", "reason": "capability study", **overrides}


@pytest.mark.requirement("ISO13485-7.3.9")
def test_edit_a_limit_then_propose_and_sign_the_change(engineer, demo_db):
    client, persona, rev_id, param_id = engineer
    page = f"/drafts/routing/{rev_id}"
    token = csrf_token(client, page)
    bad = client.post(f"{page}/parameters/{param_id}", data={**_limits(lsl="fifty"), "csrf_token": token})
    assert bad.status_code == 422 and "Enter a number" in bad.get_data(as_text=True)
    bad = client.post(f"{page}/parameters/{param_id}", data={**_limits(lsl="71"), "csrf_token": token})
    assert bad.status_code == 422 and "lsl 71.0 is above usl 68.0" in bad.get_data(as_text=True)
    saved = client.post(f"{page}/parameters/{param_id}", data={**_limits(), "csrf_token": token})
    assert saved.status_code == 302
    html = client.get(page).get_data(as_text=True)
    assert "parameter UV intensity: lsl 50.0 → 52.0, usl 70.0 → 68.0" in html
    proposed = client.post("/drafts/propose", data={"rev": f"routing:{rev_id}", "title": "Narrow UV intensity",
                                                     "reason": "Cpk study", "csrf_token": token})
    assert proposed.status_code == 302 and "/tasks/" in proposed.headers["Location"]
    task_page = client.get(proposed.headers["Location"]).get_data(as_text=True)
    assert "RT-DRIP" in task_page and "Narrow UV intensity" in task_page  # prefilled for review
    task_id = proposed.headers["Location"].rsplit("/", 1)[1]
    form = {name: value for name, value in re.findall(r'name="([^"]+)"[^>]*value="([^"]*)"', task_page)}
    assert form["changed_revisions.0.code"] == "RT-DRIP" and form["changed_revisions.0.label"] == "B"
    assert re.search(r'name="changed_revisions.0.kind"[^>]*>\s*(<option[^>]*>[^<]*</option>\s*)*'
                     r'<option value="routing" selected', task_page)
    form["changed_revisions.0.kind"] = "routing"
    form.update({"password": PASSWORD, "totp_code": pyotp.TOTP(persona.secret).now(), "change_action": "submit",
                 "change_urgency": "routine", "change_reason": "Cpk study",
                 "change_description": "UV intensity 52–68 mW/cm²", "change_comment": ""})
    signed = client.post(f"/tasks/{task_id}", data=form)
    assert signed.status_code == 302, re.findall(r'invalid[^>]*>\s*<label for="([^"]+)"', signed.get_data(as_text=True))
    with demo_db.sessions() as s:
        done = s.get(WorkflowTask, task_id)
        change = find_change_for_instance(s, done.instance_id)
        assert change.status == "submitted"
        assert any(c.get("parameter") == "UV intensity" for c in change.impact["changes"])
        waiting = s.scalars(select(WorkflowTask).where(WorkflowTask.instance_id == done.instance_id,
                                                       WorkflowTask.state == "ready")).all()
        assert [(t.spec_name, t.lane) for t in waiting] == [("assess_change", "process_engineer")]


@pytest.mark.requirement("ISO13485-7.3.9")
@pytest.mark.parametrize("key", ["op", "qa", "auditor"])
def test_only_process_engineers_edit_and_propose(demo_db, key):
    with demo_db.sessions.begin() as s:
        routing = s.scalar(select(Routing).where(Routing.code == "RT-DRIP"))
        rev = new_draft(s, SYSTEM, routing, change_summary="x")
        rev_id, param_id = rev.id, rev.operations[0].parameters[0].id
    app = make_app(demo_db)
    client = app.test_client()
    assert sign_in(client, make_persona(demo_db, key)).status_code == 302
    token = csrf_token(client, "/inbox/")
    assert client.get("/drafts/").status_code == 403
    assert client.get(f"/drafts/routing/{rev_id}").status_code == 403
    assert client.post(f"/drafts/routing/{rev_id}/parameters/{param_id}",
                       data={**_limits(), "csrf_token": token}).status_code == 403
    assert client.post("/drafts/propose", data={"rev": f"routing:{rev_id}", "title": "x",
                                                 "csrf_token": token}).status_code == 403
    app.extensions["sealtrail.engine"].dispose()
