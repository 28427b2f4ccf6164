"""A sharing profile's draft released through change control (#18): the page or ``sealtrail share
profile-submit`` opens a change request carrying the draft, signed by the proposer as the change's
submission. Review, approvals and the effective date follow the shipped change-control process;
implementing the change releases exactly the reviewed text (engine.governance.profile_release)."""
from __future__ import annotations

from engine.governance import profile_release
from engine.processes import changes
from engine.processes.deploy_changes import CHANGE_PROCESS, SUBMIT_STEP
from engine.processes.models import ChangeRequest
from engine.workflows.instances import actor_of, open_tasks, start_instance
from engine.workflows.tasks import complete_task


def route_profile(session, user, name: str, *, comment: str, password, totp_code: str, policy,
                  signing_session_id: str | None = None) -> ChangeRequest:
    """Open a change request proposing the draft of sharing profile ``name`` for release.

    The draft is checked again (``parse_profile``) and locked in review; the proposer signs the
    change's submission (password + TOTP, ``SignatureError`` otherwise). Nothing is released until
    the change is implemented. The caller owns the transaction: on any error nothing is kept."""
    actor = actor_of(user)
    instance = start_instance(session, actor, CHANGE_PROCESS, user=user)
    rev = profile_release.propose(session, actor, instance.id, name, reason=comment)
    row = next(t for t in open_tasks(session, instance.id) if t.spec_name == SUBMIT_STEP)
    complete_task(session, user=user, task_id=row.id, password=password, totp_code=totp_code, policy=policy,
                  signing_session_id=signing_session_id, comment=comment, data={
                      "change_title": f"Release {rev.describe()}"[:200], "change_description": comment,
                      "change_reason": comment, "change_urgency": "routine", "changed_revisions": [],
                      "changed_objects": [], "changed_profile": name[:200],
                      "effective_from": policy.clock().date().isoformat(),
                      "change_action": "submit", "change_comment": ""})
    return changes.find_change_for_instance(session, instance.id)
