"""A new SOP revision becomes effective through change control: each operator who must work to it
gets a read-and-acknowledge task of their own, the interlock refuses them until they sign it, and
signing it records the training the interlock accepts."""
from __future__ import annotations

import re

import pyotp
import pytest
from sqlalchemy import select

from audit import SYSTEM
from engine.db import utcnow
from engine.errors import InterlockRefused
from engine.masterdata import revisions
from engine.masterdata.models import Document, Equipment, Product
from engine.processes import changes
from engine.production import lots, records
from engine.users import accounts
from engine.users.training import is_trained, record_training
from engine.workflows import deploy_all_shipped
from engine.workflows.models import ProcessInstance, WorkflowTask
from engine.workflows.visibility import visible_tasks
from tests.web.conftest import PASSWORD, csrf_token, make_app, make_persona, sign_in


def _make_sop001_rev_c_effective(s) -> None:
    doc = s.scalar(select(Document).where(Document.code == "SOP-001"))
    draft = revisions.new_draft(s, SYSTEM, doc, change_summary="leak test: hold 10 s before reading")
    revisions.edit_draft(s, SYSTEM, draft, body=draft.body + "\n\nHold 10 s before reading the decay.",
                         reason="new step")
    change = changes.submit(s, SYSTEM, instance_id=None, title="SOP-001 hold time", description="hold 10 s",
                            reason="leak test repeatability", urgency="routine",
                            revisions=[{"kind": "document", "code": "SOP-001", "label": draft.label}], objects=[],
                            effective_from=utcnow().date().isoformat())
    change.status = "approved"  # the approvals are change control's own tests; here the release matters
    changes.implement(s, SYSTEM, change)


def _leak_start(s, user):
    product = s.scalar(select(Product).where(Product.code == "IS-200"))
    lot = lots.start_lot(s, SYSTEM, lots.plan_lot(s, SYSTEM, lot_number="IS200-2612-301", quantity=10,
                                                  product=product))
    leak = next(op for op in lot.routing_revision.operations if op.code == "LEAK")
    lt = s.scalar(select(Equipment).where(Equipment.code == "LT-01"))
    lt.calibration_due_on = utcnow().date()  # the demo's overdue tester, recalibrated for this test
    return records.start_operation(s, SYSTEM, lot, leak, operator=user, equipment=lt)


@pytest.mark.requirement("ISO13485-7.5.1")
def test_an_effective_sop_revision_gives_each_operator_a_task_and_the_interlock_uses_it(demo_db):
    operator = make_persona(demo_db, "op")
    with demo_db.sessions.begin() as s:
        deploy_all_shipped(s, SYSTEM)
        zhang = accounts.get_user_by_name(s, "zhang.wei")
        trained_on_b = is_trained(s, zhang, revisions.effective_revision(
            s, s.scalar(select(Document).where(Document.code == "SOP-001"))))
        assert trained_on_b
        _make_sop001_rev_c_effective(s)
    with demo_db.sessions.begin() as s:
        rows = s.scalars(select(WorkflowTask).where(WorkflowTask.process_id == "sop_training",
                                                    WorkflowTask.state == "ready")).all()
        owners = {accounts.get_user(s, t.assignee_id).username for t in rows}
        operators = {u.username for u in accounts.list_users(s) if "operator" in u.roles and u.active}
        assert owners == operators and len(rows) == len(operators) and "olly.operator" in owners
        olly, zhang = accounts.get_user_by_name(s, "olly.operator"), accounts.get_user_by_name(s, "zhang.wei")
        mine = [t for t in visible_tasks(s, olly) if t.process_id == "sop_training"]
        assert len(mine) == 1 and mine[0].assignee_id == olly.id  # only their own task in their inbox
        assert mine[0].business_key == "SOP-001 rev C · olly.operator"
        task_id = mine[0].id
        with pytest.raises(InterlockRefused) as refused:  # zhang was trained on rev B, not on rev C
            _leak_start(s, zhang)
        assert [b["record"] for b in refused.value.blocking] == ["SOP-001 rev C"]
        s.rollback()

    app = make_app(demo_db)
    try:
        client = app.test_client()
        assert sign_in(client, operator).status_code == 302
        inbox = client.get("/inbox/").get_data(as_text=True)
        assert "SOP-001 rev C · olly.operator" in inbox and "SOP-001 rev C · zhang.wei" not in inbox
        page = client.get(f"/tasks/{task_id}").get_data(as_text=True)
        assert "SOP-001" in page and "I have read this revision" in page
        assert 'id="document-view"' in page and "Hold 10 s before reading the decay." in page  # read it here
        token = csrf_token(client, f"/tasks/{task_id}")
        unread = client.post(f"/tasks/{task_id}", data={"csrf_token": token, "password": PASSWORD,
                                                        "totp_code": pyotp.TOTP(operator.secret).now()})
        assert unread.status_code == 422  # the acknowledgement is required
        signed = client.post(f"/tasks/{task_id}", data={"csrf_token": token, "sop_read_and_understood": "true",
                                                        "sop_questions": "", "password": PASSWORD,
                                                        "totp_code": operator.code()})
        assert signed.status_code == 302, re.findall(r'alert[^>]*>([^<]+)', signed.get_data(as_text=True))
    finally:
        app.extensions["sealtrail.engine"].dispose()
    with demo_db.sessions.begin() as s:
        olly = accounts.get_user_by_name(s, "olly.operator")
        rev_c = revisions.effective_revision(s, s.scalar(select(Document).where(Document.code == "SOP-001")))
        record = next(r for r in olly.training_records if r.document_revision_id == rev_c.id)
        assert (record.method, record.result) == ("read_and_acknowledge", "pass")
        instance = s.get(ProcessInstance, s.get(WorkflowTask, task_id).instance_id)
        assert instance.status == "completed"
        gowning = revisions.effective_revision(s, s.scalar(select(Document).where(Document.code == "SOP-003")))
        record_training(s, SYSTEM, olly, gowning, trained_on=utcnow().date())  # the other SOP of the leak test
        assert _leak_start(s, olly).operator_id == olly.id  # the interlock now lets olly start the leak test
        s.rollback()


def test_nobody_else_may_sign_an_operators_acknowledgement(demo_db):
    make_persona(demo_db, "op")
    with demo_db.sessions.begin() as s:
        deploy_all_shipped(s, SYSTEM)
        _make_sop001_rev_c_effective(s)
    with demo_db.sessions() as s:
        zhang = accounts.get_user_by_name(s, "zhang.wei")
        olly_task = s.scalar(select(WorkflowTask).where(WorkflowTask.business_key == "SOP-001 rev C · olly.operator"))
        assert olly_task.id not in {t.id for t in visible_tasks(s, zhang)}


def test_an_operator_cannot_start_their_own_acknowledgement(demo_db):
    from engine.errors import Forbidden
    from engine.workflows.instances import start_instance

    with demo_db.sessions.begin() as s:
        deploy_all_shipped(s, SYSTEM)
        li = accounts.get_user_by_name(s, "li.na")
        with pytest.raises(Forbidden, match="qa_manager"):
            start_instance(s, accounts.actor_for(li), "sop_training", user=li,
                           data={"document_code": "SOP-001", "document_revision": "B", "trainee": "li.na",
                                 "document_title": "Leak test", "trainee_name": "Li Na"})
