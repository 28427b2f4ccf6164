"""Inbox, task page, signing, instances, authorization by URL."""
from __future__ import annotations

import pytest

import re

from sqlalchemy import select

from audit.models import AuditEntry, Signature
from engine.workflows.models import WorkflowTask
from tests.web.conftest import PASSWORD, csrf_token, deploy_test_process, open_task_id, start_change


def _setup(fresh_db, personas):
    deploy_test_process(fresh_db)
    pe, qa = personas("pe"), personas("qa")
    instance_id = start_change(fresh_db, pe)
    return pe, qa, instance_id, open_task_id(fresh_db, instance_id)


def test_inbox_lists_my_roles_tasks_only(client, fresh_db, personas, login):
    pe, qa, instance_id, task_id = _setup(fresh_db, personas)
    login(qa)
    html = client.get("/inbox/").get_data(as_text=True)
    assert "CC-2026-0001" in html and f"/tasks/{task_id}" in html
    assert "QA approval" in html
    html = client.get("/inbox/?q=nothing-like-this").get_data(as_text=True)
    assert f"/tasks/{task_id}" not in html
    client.post("/logout", data={"csrf_token": csrf_token(client, "/inbox/")})
    login(personas("op"))
    assert f"/tasks/{task_id}" not in client.get("/inbox/").get_data(as_text=True)


def test_outsider_cannot_open_or_complete_a_task_by_url(client, fresh_db, personas, login):
    pe, qa, instance_id, task_id = _setup(fresh_db, personas)
    op = personas("op")
    login(op)
    assert client.get(f"/tasks/{task_id}").status_code == 403
    response = client.post(f"/tasks/{task_id}", data={"qa_decision": "approve", "qa_comment": "",
                                                      "password": PASSWORD, "totp_code": op.code(),
                                                      "csrf_token": csrf_token(client, "/inbox/")})
    assert response.status_code == 403
    assert client.get(f"/processes/{instance_id}").status_code == 403
    with fresh_db.sessions() as s:
        assert s.get(WorkflowTask, task_id).state == "ready"


def test_claim_and_release(client, fresh_db, personas, login):
    pe, qa, instance_id, task_id = _setup(fresh_db, personas)
    login(qa)
    token = csrf_token(client, "/inbox/")
    assert client.post(f"/inbox/{task_id}/claim", data={"csrf_token": token}).status_code == 302
    html = client.get("/inbox/?scope=mine").get_data(as_text=True)
    assert f"/tasks/{task_id}" in html and "Release" in html
    assert client.post(f"/inbox/{task_id}/unclaim", data={"csrf_token": token}).status_code == 302
    assert f"/tasks/{task_id}" not in client.get("/inbox/?scope=mine").get_data(as_text=True)
    assert client.post(f"/inbox/{task_id}/claim", data={}).status_code == 400  # CSRF


@pytest.mark.requirement("21CFR11.50")
def test_task_page_shows_form_context_and_signing_manifestation(client, fresh_db, personas, login):
    pe, qa, instance_id, task_id = _setup(fresh_db, personas)
    login(qa)
    html = client.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert 'name="qa_decision"' in html and 'name="qa_comment"' in html
    assert "routing RT-100" in html  # the read-only context (impact list)
    assert "Quinn QA" in html and "Reviewed" in html  # printed name + meaning in the dialog
    # the meaning follows from the decision: the dialog asks the server for it before opening
    assert f'data-meaning-url="/tasks/{task_id}/meaning"' in html
    assert 'name="password"' in html  # first signature of the session: password + TOTP


def test_validation_errors_per_field_in_the_users_language(client, fresh_db, personas, login):
    pe, qa, instance_id, task_id = _setup(fresh_db, personas)
    login(qa)
    token = csrf_token(client, f"/tasks/{task_id}")
    client.post("/language", data={"locale": "zh_CN", "csrf_token": token})  # the profile's language
    response = client.post(f"/tasks/{task_id}", data={"qa_decision": "reject", "qa_comment": "",
                                                      "csrf_token": token})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert re.search(r'data-field-error="qa_comment">[^<]*此字段为必填项', html)


@pytest.mark.requirement("21CFR11.50", "21CFR11.200")
def test_complete_with_signature_then_totp_only(client, fresh_db, personas, login):
    pe, qa, instance_id, task_id = _setup(fresh_db, personas)
    login(qa)
    token = csrf_token(client, f"/tasks/{task_id}")
    wrong = client.post(f"/tasks/{task_id}", data={"qa_decision": "approve", "qa_comment": "ok",
                                                   "password": "wrong-password", "totp_code": qa.code(),
                                                   "csrf_token": token})
    assert wrong.status_code == 422 and "password is not correct" in wrong.get_data(as_text=True)
    assert 'data-open="true"' in wrong.get_data(as_text=True)  # the dialog re-opens with the error
    response = client.post(f"/tasks/{task_id}", data={"qa_decision": "approve", "qa_comment": "ok",
                                                      "password": PASSWORD, "totp_code": qa.code(),
                                                      "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    with fresh_db.sessions() as s:
        row = s.get(WorkflowTask, task_id)
        assert row.state == "completed" and row.meaning == "approved"
        sig = s.scalars(select(Signature).where(Signature.record_id == task_id)).one()
        assert sig.printed_name == "Quinn QA" and sig.components == "password+totp"
        refused = s.scalars(select(AuditEntry).where(AuditEntry.action == "signature.refused")).all()
        assert [(e.object_type, e.payload_value["kind"]) for e in refused][-1:] == [("user", "wrong_password")]
    # the next signature of this session needs the authenticator code only
    second = start_change(fresh_db, pe, key="CC-2026-0002")
    task2 = open_task_id(fresh_db, second)
    html = client.get(f"/tasks/{task2}").get_data(as_text=True)
    assert 'name="password"' not in html
    response = client.post(f"/tasks/{task2}", data={"qa_decision": "approve", "qa_comment": "ok",
                                                    "totp_code": qa.code(), "csrf_token": token})
    assert response.status_code == 302
    with fresh_db.sessions() as s:
        sig = s.scalars(select(Signature).where(Signature.record_id == task2)).one()
        assert sig.components == "totp"
    # the instance page shows the path and the signature
    html = client.get(f"/processes/{instance_id}").get_data(as_text=True)
    assert "approve_change_qa" in html and "Quinn QA" in html and "Approved" in html
    assert client.get(f"/processes/{instance_id}/diagram.bpmn").status_code == 200
    # a completed task's URL now leads to the instance, not to a form
    assert client.get(f"/tasks/{task_id}").status_code == 302


def test_a_replayed_code_is_refused(client, fresh_db, personas, login):
    pe, qa, instance_id, task_id = _setup(fresh_db, personas)
    login(qa)
    token = csrf_token(client, f"/tasks/{task_id}")
    used = qa.code()
    client.post(f"/tasks/{task_id}", data={"qa_decision": "approve", "qa_comment": "ok", "password": PASSWORD,
                                           "totp_code": used, "csrf_token": token})
    second = start_change(fresh_db, pe, key="CC-2026-0003")
    task2 = open_task_id(fresh_db, second)
    response = client.post(f"/tasks/{task2}", data={"qa_decision": "approve", "qa_comment": "ok",
                                                    "totp_code": used, "csrf_token": token})
    assert response.status_code == 422 and "already used" in response.get_data(as_text=True)


def test_inbox_pages_in_sql(client, fresh_db, personas, login):
    deploy_test_process(fresh_db)
    pe, qa = personas("pe"), personas("qa")
    for i in range(55):
        start_change(fresh_db, pe, key=f"CC-2026-{i:04d}")
    login(qa)
    first = client.get("/inbox/?sort=key").get_data(as_text=True)
    assert "Page 1 of 2" in first and "55 in all" in first and "CC-2026-0000" in first
    second = client.get("/inbox/?sort=key&page=2").get_data(as_text=True)
    assert "CC-2026-0054" in second and "CC-2026-0000" not in second


@pytest.mark.requirement("21CFR11.50")
def test_the_dialog_shows_the_meaning_the_entries_give_and_a_different_one_signs_nothing(
        client, fresh_db, personas, login):
    """§11.50: the manifestation shown before signing is the meaning recorded (approved/rejected)."""
    pe, qa, instance_id, task_id = _setup(fresh_db, personas)
    login(qa)
    token = csrf_token(client, f"/tasks/{task_id}")
    asked = client.post(f"/tasks/{task_id}/meaning", data={"qa_decision": "reject", "qa_comment": "no"},
                        headers={"X-CSRFToken": token})
    assert asked.status_code == 200 and asked.get_json()["meaning"] == "rejected"
    stale = client.post(f"/tasks/{task_id}", data={"qa_decision": "approve", "qa_comment": "ok",
                                                   "meaning_shown": "rejected", "password": PASSWORD,
                                                   "totp_code": qa.code(), "csrf_token": token})
    html = stale.get_data(as_text=True)
    assert stale.status_code == 422 and "follows from your entries" in html and 'data-open="true"' in html
    assert 'name="meaning_shown" value="approved"' in html
    with fresh_db.sessions() as s:
        assert s.scalars(select(Signature).where(Signature.record_id == task_id)).first() is None
        assert s.get(WorkflowTask, task_id).state == "ready"
    signed = client.post(f"/tasks/{task_id}", data={"qa_decision": "approve", "qa_comment": "ok",
                                                    "meaning_shown": "approved", "password": PASSWORD,
                                                    "totp_code": qa.code(), "csrf_token": token})
    assert signed.status_code == 302, signed.get_data(as_text=True)[:2000]
    with fresh_db.sessions() as s:
        assert s.scalars(select(Signature).where(Signature.record_id == task_id)).one().meaning == "approved"
