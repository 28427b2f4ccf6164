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
from tests.web.conftest import PASSWORD, csrf_token, deploy_test_process, open_task_id, sign_in, start_change

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


def _create_form(client, delegate, *, roles=("qa_manager",), start="2026-01-01", end=None, **extra):
    now = dt.datetime.now(dt.timezone.utc).date()
    token = csrf_token(client, "/delegations/")
    return {"csrf_token": token, "delegate": str(delegate.id), "roles": list(roles), "valid_from": now.isoformat(),
            "valid_until": end or (now + dt.timedelta(days=6)).isoformat(), "reason": "annual leave", **extra}


def _client(app, persona):
    client = app.test_client()
    assert sign_in(client, persona).status_code == 302
    return client


def test_a_person_delegates_and_revokes_on_the_page_under_signatures(fresh_db, personas, client, login, app):
    deploy_test_process(fresh_db)
    task_id = open_task_id(fresh_db, start_change(fresh_db, personas("pe")))
    qa, op = personas("qa"), personas("op")
    login(qa)
    assert client.get("/delegations/").status_code == 200
    unsigned = client.post("/delegations/", data=_create_form(client, op, totp_code="000000", password="wrong"))
    assert unsigned.status_code == 422
    not_held = client.post("/delegations/", data=_create_form(client, op, roles=("auditor",), password=PASSWORD,
                                                                 totp_code=qa.code()))
    assert not_held.status_code == 422 and "does not hold" in not_held.get_data(as_text=True)
    done = client.post("/delegations/", data=_create_form(client, op, password=PASSWORD, totp_code=qa.code()))
    assert done.status_code == 302, done.get_data(as_text=True)[:2000]
    with fresh_db.sessions() as s:
        [row] = s.scalars(select(Delegation)).all()
        [signature] = s.scalars(select(Signature).where(Signature.record_type == "delegation")).all()
        assert (row.delegator_id, row.delegate_id, row.roles) == (qa.id, op.id, ["qa_manager"])
        assert signature.record_id == str(row.id) and signature.printed_name == qa.printed_name
        delegation_id = row.id
    page = client.get("/delegations/").get_data(as_text=True)
    assert f'data-delegation="{delegation_id}"' in page and op.printed_name in page
    client = _client(app, op)  # the delegate sees it, and the task, but may not revoke it
    assert f'data-delegation="{delegation_id}"' in client.get("/delegations/").get_data(as_text=True)
    assert client.get(f"/tasks/{task_id}").status_code == 200
    refused = client.post(f"/delegations/{delegation_id}/revoke", data={
        "csrf_token": csrf_token(client, "/delegations/"), "reason": "mine now", "password": PASSWORD,
        "totp_code": op.code()})
    assert refused.status_code == 403
    client = _client(app, qa)
    revoked = client.post(f"/delegations/{delegation_id}/revoke", data={
        "csrf_token": csrf_token(client, "/delegations/"), "reason": "back early", "password": PASSWORD,
        "totp_code": qa.code()})
    assert revoked.status_code == 302, revoked.get_data(as_text=True)[:2000]
    with fresh_db.sessions() as s:
        assert s.get(Delegation, delegation_id).revoked_at is not None
        assert len(s.scalars(select(Signature).where(Signature.record_type == "delegation")).all()) == 2
    assert _client(app, op).get(f"/tasks/{task_id}").status_code == 403


def test_only_an_administrator_delegates_someone_elses_roles(fresh_db, personas, client, login, app):
    qa, op, pe, admin = personas("qa"), personas("op"), personas("pe"), personas("admin")
    login(pe)
    refused = client.post("/delegations/", data=_create_form(client, op, delegator=str(qa.id), password=PASSWORD,
                                                              totp_code=pe.code()))
    assert refused.status_code == 403
    client = _client(app, admin)
    done = client.post("/delegations/", data=_create_form(client, op, delegator=str(qa.id), password=PASSWORD,
                                                           totp_code=admin.code()))
    assert done.status_code == 302, done.get_data(as_text=True)[:2000]
    with fresh_db.sessions() as s:
        assert [(d.delegator_id, d.delegate_id) for d in s.scalars(select(Delegation))] == [(qa.id, op.id)]
