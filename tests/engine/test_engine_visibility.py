"""Rules with one home in engine/workflows: who sees which task and instance (``visibility``), what
a signature means (``tasks.signature_meaning``)."""
from __future__ import annotations

from audit import SYSTEM
from engine.workflows import claim, complete_task, runtime, start_instance
from engine.workflows.tasks import meaning_preview, signature_meaning
from engine.workflows.visibility import can_see_instance, can_see_task, visible_tasks
from tests.engine.test_engine_run import REQUEST, only_task


def test_lane_claim_and_completion_decide_who_sees_a_task(world, session):
    world.deploy("approval.bpmn")
    instance = start_instance(session, world.actor("alice"), "t_approval", user=world.user("alice"))
    request = only_task(session, instance)
    complete_task(session, task_id=request.id, data=REQUEST, **world.signing("alice"))
    approve = only_task(session, instance)
    quinn, quentin, oscar, alice = (world.user(n) for n in ("quinn", "quentin", "oscar", "alice"))
    assert [t.id for t in visible_tasks(session, quinn)] == [approve.id]
    assert [t.id for t in visible_tasks(session, quentin)] == [approve.id]
    claim(session, user=quinn, task_id=approve.id)
    # claimed by Quinn: out of Quentin's inbox, still visible to him (same lane) and in "mine" for Quinn
    assert visible_tasks(session, quentin) == [] and can_see_task(quentin, approve)
    assert [t.id for t in visible_tasks(session, quinn, scope="mine")] == [approve.id]
    assert visible_tasks(session, quinn, scope="unclaimed") == []
    # an outsider sees neither the task nor the instance; the one who completed a step sees both
    assert not can_see_task(oscar, approve) and visible_tasks(session, oscar) == []
    assert can_see_task(alice, request) and not can_see_task(alice, approve)
    assert [t.id for t in visible_tasks(session, alice, state="completed")] == [request.id]
    assert can_see_instance(session, alice, instance)
    assert not can_see_instance(session, world.user("olive"), instance)
    assert can_see_instance(session, world.user("pat"), instance)  # production manager oversees
    # an API token with the read scope (no person) sees every task
    assert [t.id for t in visible_tasks(session, None)] == [approve.id]


def test_signature_meaning_has_one_home_for_the_dialog_and_the_completion(world, session):
    world.deploy("approval.bpmn")
    instance = start_instance(session, world.actor("alice"), "t_approval", user=world.user("alice"))
    request = only_task(session, instance)
    assert meaning_preview(session, request, REQUEST) == "authored"
    complete_task(session, task_id=request.id, data=REQUEST, **world.signing("alice"))
    approve = only_task(session, instance)
    task = runtime.find_task(runtime.load(session, instance, SYSTEM), approve.id)
    assert signature_meaning(task, {"approved": False, "comment": "no"}) == "rejected"
    assert meaning_preview(session, approve, {"approved": True}) == "approved"
    assert meaning_preview(session, approve, {}) == "reviewed"  # entries incomplete: the default until filled
    done = complete_task(session, task_id=approve.id, data={"approved": False, "comment": "no"},
                         **world.signing("quinn"))
    assert done.task.meaning == "rejected" == meaning_preview(session, done.task)
