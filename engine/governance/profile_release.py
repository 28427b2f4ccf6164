"""A sharing profile's draft through change control (#18): the change-control process
(bpmn/change_control.bpmn, engine.processes.changes) calls these as it would release a master-data
revision. A draft is proposed by a change-control instance and locked in review; rejection or
withdrawal returns it to draft; implementing the change releases it and supersedes the revision in
effect. A released revision is never edited again. Each step is audited (flush, no commit).
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from audit import Actor, chain
from engine.db import utcnow
from engine.errors import Conflict, RevisionRuleViolation, ValidationFailed
from engine.governance.models import ShareProfileRevision
from engine.governance.profile_revisions import (OBJECT_TYPE, audit_id, bound_tokens, check_content, find_released,
                                                 open_revision, table_changes)


def of_instance(session: Session, instance_id: int) -> ShareProfileRevision | None:
    """The profile revision the change-control instance ``instance_id`` proposes, if any."""
    return session.scalar(select(ShareProfileRevision).where(ShareProfileRevision.process_instance_id == instance_id))


def propose(session: Session, actor: Actor, instance_id: int, name: str, *, reason: str) -> ShareProfileRevision:
    """Attach profile ``name``'s draft to the change-control instance ``instance_id`` (audited)."""
    rev = open_revision(session, name)
    if rev is None or rev.status != "draft":
        raise ValidationFailed(f"sharing profile {name} has no draft to submit"
                               + (f" ({rev.describe()} is already in review)" if rev is not None else ""),
                               field="profile")
    if of_instance(session, instance_id) is not None:
        raise Conflict(f"workflow instance {instance_id} already carries a sharing profile", field="change")
    check_content(rev.name, rev.content)  # the shipped schema may have moved since the draft was saved
    rev.process_instance_id = instance_id
    session.flush()
    chain.append(session, actor, "share_profile.proposed", OBJECT_TYPE, audit_id(rev), reason=reason,
                 after={"process_instance_id": instance_id, "sha256": rev.sha256})
    return rev


def to_review(session: Session, actor: Actor, rev: ShareProfileRevision, change_number: str) -> None:
    """Lock the draft for review under ``change_number`` (a resubmitted change locks it again)."""
    if rev.status == "in_review":
        return
    if rev.status != "draft":
        raise RevisionRuleViolation(f"{rev.describe()} is {rev.status}: only a draft goes to review",
                                    field="status", obj=rev.describe())
    rev.status, rev.change_ref = "in_review", change_number
    session.flush()
    chain.append(session, actor, "share_profile.submitted", OBJECT_TYPE, audit_id(rev),
                 reason=f"{change_number}: submitted for change control",
                 before={"status": "draft"}, after={"status": "in_review", "change_ref": change_number})


def to_draft(session: Session, actor: Actor, rev: ShareProfileRevision, reason: str) -> None:
    """Return a revision in review to its author (change rejected or withdrawn)."""
    if rev.status != "in_review":
        return
    rev.status = "draft"
    session.flush()
    chain.append(session, actor, "share_profile.returned_to_draft", OBJECT_TYPE, audit_id(rev), reason=reason,
                 before={"status": "in_review"}, after={"status": "draft"})


def release(session: Session, actor: Actor, rev: ShareProfileRevision, change_number: str, reason: str) -> str:
    """Release ``rev`` (in review under ``change_number``); the revision in effect is superseded."""
    session.refresh(rev, attribute_names=["status", "content", "sha256"])
    if rev.status != "in_review" or rev.change_ref != change_number:
        raise Conflict(f"{rev.describe()} is {rev.status}, not in review under {change_number}: nothing is released",
                       field="profile")
    if check_content(rev.name, rev.content).sha256 != rev.sha256:
        raise Conflict(f"{rev.describe()} is not the reviewed text (hash differs): nothing is released",
                       field="profile")
    now = utcnow()
    previous = find_released(session, rev.name)
    if previous is not None:
        previous.status, previous.superseded_at = "superseded", now
        session.flush()  # before the new one is released: one released revision per profile
        chain.append(session, actor, "share_profile.superseded", OBJECT_TYPE, audit_id(previous), reason=reason,
                     before={"status": "released"}, after={"status": "superseded", "superseded_by": rev.revision})
    rev.status, rev.released_at, rev.released_by_id, rev.released_by_name = "released", now, actor.id, actor.name
    session.flush()
    chain.append(session, actor, "share_profile.released", OBJECT_TYPE, audit_id(rev), reason=reason,
                 before={"status": "in_review", "released": previous.revision if previous else None},
                 after={"status": "released", "sha256": rev.sha256, "change_ref": change_number})
    return rev.describe()


def impact_rows(session: Session, rev: ShareProfileRevision) -> list[dict]:
    """The lines a change's impact analysis shows for ``rev``: what recipients see differently and
    the API tokens bound to the profile (they read the new revision once it is released)."""
    subject = f"sharing profile {rev.name}"
    released = find_released(session, rev.name)
    prefix = f"rev {released.revision} → {rev.revision}: " if released is not None else f"rev {rev.revision}: "
    rows = [{"subject": subject, "area": "sharing", "change": prefix + line} for line in table_changes(session, rev)]
    tokens = bound_tokens(session, rev.name)
    for token in tokens:
        rows.append({"subject": subject, "area": "api_token",
                     "change": f"API token {token.public_id} ({token.name}"
                               f"{', for ' + token.share_recipient if token.share_recipient else ''}) is bound to "
                               "this profile: it reads the new revision once released"})
    if not tokens:
        rows.append({"subject": subject, "area": "api_token", "change": "no API token is bound to this profile"})
    return rows
