"""Task claims and completions work as the least-privileged app role (PostgreSQL grants)."""
from __future__ import annotations

import pytest
from sqlalchemy import text

from engine.workflows import Document, claim, complete_task, deploy, open_tasks, start_instance
from tests.conftest import ON_POSTGRES
from tests.engine.conftest import BPMN_DIR, World

postgres_only = pytest.mark.skipif(not ON_POSTGRES, reason="roles and privileges exist on PostgreSQL only")


@postgres_only
def test_claims_and_completions_work_as_the_app_role(fresh_db):
    """Regression: with the documented grants every claim and completion answered 500
    (permission denied for table wf_task)."""
    with fresh_db.sessions.begin() as session:
        world = World(session)
        for name in ("alice", "quinn", "quentin"):
            world.user(name)
        deploy(session, world.actor("alice"), [Document("approval.bpmn", (BPMN_DIR / "approval.bpmn").read_bytes())])
        instance = start_instance(session, world.actor("alice"), "t_approval")
        task_id = open_tasks(session, instance.id)[0].id
    with fresh_db.sessions.begin() as session:
        claim(session, user=world.user("alice"), task_id=task_id)
    with fresh_db.sessions.begin() as session:
        done = complete_task(session, task_id=task_id, data={"number": "CR-9", "amount": 50,
                                                             "reason": "grants regression test"},
                             **world.signing("alice"))
    assert done is not None
    with fresh_db.engine.connect() as conn:
        state = conn.execute(text("SELECT state FROM wf_task WHERE id = :i"), {"i": task_id}).scalar_one()
    assert state == "completed"
