"""Delegation where people work (issue #18): the delegate sees the delegated lane's tasks in the
inbox, the task page and the API, and signs them — the signature manifests both names."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from audit.models import Signature
from engine.delegations.acting import create_delegation, revoke_delegation
from engine.delegations.models import Delegation
from engine.users import actor_for, get_user
from engine.workflows.models import WorkflowTask
from tests.web.conftest import PASSWORD, csrf_token, deploy_test_process, open_task_id, start_change

HOUR = dt.timedelta(hours=1)


def _delegate(db, delegator, delegate, *, processes=("web_change",)):
    now = dt.datetime.now(dt.timezone.utc)  # the pages judge delegations by the server's clock
    with db.sessions.begin() as s:
        giver = get_user(s, delegator.id)
        return create_delegation(s, actor_for(giver), delegator=giver, delegate=get_user(s, delegate.id),
                                 roles=["qa_manager"], process_ids=list(processes), valid_from=now - HOUR,
                                 valid_until=now + 24 * HOUR, reason="annual leave", now=now).id


def test_the_delegate_sees_and_signs_the_delegated_task(fresh_db, personas, client, login):
    deploy_test_process(fresh_db)
    task_id = open_task_id(fresh_db, start_change(fresh_db, personas("pe")))
    qa, op = personas("qa"), personas("op")
    login(op)
    assert task_id not in client.get("/inbox/").get_data(as_text=True)
    assert client.get(f"/tasks/{task_id}").status_code == 403
    assert client.get("/api/v1/tasks").get_json()["tasks"] == []
    _delegate(fresh_db, qa, op)
    assert f"/tasks/{task_id}" in client.get("/inbox/").get_data(as_text=True)
    assert [t["task_id"] for t in client.get("/api/v1/tasks").get_json()["tasks"]] == [task_id]
    assert client.get(f"/api/v1/tasks/{task_id}").status_code == 200
    page = client.get(f"/tasks/{task_id}")
    assert page.status_code == 200
    assert f"{op.printed_name} for {qa.printed_name}" in page.get_data(as_text=True)
    token = csrf_token(client, f"/tasks/{task_id}")
    done = client.post(f"/tasks/{task_id}", data={"qa_decision": "approve", "qa_comment": "ok", "csrf_token": token,
                                                  "password": PASSWORD, "totp_code": op.code()})
    assert done.status_code == 302, done.get_data(as_text=True)[:2000]
    with fresh_db.sessions() as s:
        row = s.get(WorkflowTask, task_id)
        assert row.state == "completed" and row.completed_by_name == f"{op.printed_name} for {qa.printed_name}"
        assert s.scalars(select(Signature).where(Signature.record_id == task_id)).one().printed_name == op.printed_name


def test_a_delegation_for_another_process_or_revoked_shows_nothing(fresh_db, personas, client, login):
    deploy_test_process(fresh_db)
    task_id = open_task_id(fresh_db, start_change(fresh_db, personas("pe")))
    qa, op = personas("qa"), personas("op")
    _delegate(fresh_db, qa, op, processes=("another_process",))
    login(op)
    assert f"/tasks/{task_id}" not in client.get("/inbox/").get_data(as_text=True)
    assert client.get(f"/tasks/{task_id}").status_code == 403
    running = _delegate(fresh_db, qa, op)
    assert client.get(f"/tasks/{task_id}").status_code == 200
    with fresh_db.sessions.begin() as s:
        giver = get_user(s, qa.id)
        revoke_delegation(s, actor_for(giver), s.get(Delegation, running), reason="back early",
                          now=dt.datetime.now(dt.timezone.utc))
    assert client.get(f"/tasks/{task_id}").status_code == 403
    assert client.get("/api/v1/tasks").get_json()["tasks"] == []
