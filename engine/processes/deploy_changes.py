"""A deploy routed through change control (#14): instead of deploying, the editor (or
``sealtrail bpmn deploy``) opens a change request carrying the proposed diagram, signed by the
proposer as the change's submission. The change's review and approvals follow the shipped
change-control process; implementing it deploys exactly the reviewed content (changes.implement)."""
from __future__ import annotations

from engine.processes import changes
from engine.processes.models import ChangeRequest
from engine.workflows import specs
from engine.workflows.deploy import prepare_single
from engine.workflows.instances import actor_of, open_tasks, start_instance
from engine.workflows.tasks import complete_task
from engine.workflows.xmlsafe import DEFAULT_MAX_BYTES

CHANGE_PROCESS = "change_control"
SUBMIT_STEP = "submit_change"


def route_deployment(session, user, document: specs.Document, process_id: str, *, comment: str, password,
                     totp_code: str, policy, signing_session_id: str | None = None,
                     max_bytes: int = DEFAULT_MAX_BYTES) -> ChangeRequest:
    """Open a change request proposing ``document`` as the next version of ``process_id``.

    The diagram is validated and its forms pinned as a direct deploy would store it
    (DeploymentRefused otherwise); the proposer signs the change's submission (password + TOTP,
    ``SignatureError`` otherwise). No process version is created: the change's implementation does.
    The caller owns the transaction: on any error nothing is kept."""
    document = prepare_single(session, document, process_id, max_bytes=max_bytes)
    actor = actor_of(user)
    instance = start_instance(session, actor, CHANGE_PROCESS, user=user)
    changes.propose_deployment(session, actor, instance.id, document, process_id=process_id, comment=comment)
    row = next(t for t in open_tasks(session, instance.id) if t.spec_name == SUBMIT_STEP)
    complete_task(session, user=user, task_id=row.id, password=password, totp_code=totp_code, policy=policy,
                  signing_session_id=signing_session_id, comment=comment, data={
                      "change_title": f"Deploy {process_id}"[:200], "change_description": comment,
                      "change_reason": comment, "change_urgency": "routine", "changed_revisions": [],
                      "changed_objects": [], "changed_process": process_id[:200],
                      "effective_from": policy.clock().date().isoformat(), "change_action": "submit",
                      "change_comment": ""})
    return changes.find_change_for_instance(session, instance.id)
