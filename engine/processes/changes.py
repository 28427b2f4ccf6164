"""Change control (ECO): register a request, analyse its impact, assess, reject, implement, close."""
from __future__ import annotations

import hashlib
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from audit import chain
from engine.errors import Conflict, NotFound, ValidationFailed
from engine.governance import profile_release
from engine.masterdata.models import (Bom, BomRevision, Document, DocumentRevision, Equipment, Item, OperationParameter,
                                      Product, ProductRevision, Routing, RoutingOperation, RoutingRevision, Tooling)
from engine.masterdata.revisions import release, return_to_draft, submit_for_review
from engine.processes import impact, sop_training
from engine.processes.diffs import effective_revision
from engine.processes.models import ChangeDeployment, ChangeRequest, ChangeRevision
from engine.processes.models.change_model import URGENCIES
from engine.processes.models.common import next_number
from engine.users.accounts import actor_for
from engine.users.models import User
from engine.workflows.decisions import evidence
from engine.workflows.deploy import deploy
from engine.workflows.models import WorkflowTask
from engine.workflows.specs import Document as DiagramDocument

REVISION_MODELS = {"product": (Product, ProductRevision, "product_id"), "bom": (Bom, BomRevision, "bom_id"),
                   "routing": (Routing, RoutingRevision, "routing_id"),
                   "document": (Document, DocumentRevision, "document_id")}
OBJECT_MODELS = {"item": Item, "equipment": Equipment, "tooling": Tooling, "document": Document}
IMPLEMENT_STEP = "confirm_change_implementation"  # bpmn/change_control.bpmn: the implementer signs it
OPEN_STATUSES = ("submitted", "assessed", "rejected", "approved")


def get_change(session: Session, ident: int | str) -> ChangeRequest:
    """The change request by id or number; NotFound otherwise."""
    column = ChangeRequest.id if isinstance(ident, int) else ChangeRequest.number
    change = session.scalar(select(ChangeRequest).where(column == ident))
    if change is None:
        raise NotFound(f"change request {ident} does not exist", field="change")
    return change


def find_change_for_instance(session: Session, instance_id: int) -> ChangeRequest | None:
    return session.scalar(select(ChangeRequest).where(ChangeRequest.process_instance_id == instance_id))


def parse_day(value: str, field: str) -> date:
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise ValidationFailed(f"{value!r} is not a date (YYYY-MM-DD)", field=field) from None


def resolve_revision(session: Session, kind: str, code: str, label: str, *, field: str):
    """The revision row ``kind code rev label``; ValidationFailed naming ``field`` otherwise."""
    if kind not in REVISION_MODELS:
        raise ValidationFailed(f"unknown revision kind {kind!r}", field=field)
    master_model, rev_model, fk = REVISION_MODELS[kind]
    rev = session.scalar(select(rev_model).join(master_model).where(master_model.code == code,
                                                                    rev_model.label == label))
    if rev is None:
        raise ValidationFailed(f"{kind} {code} rev {label} does not exist", field=field)
    return rev


def resolve_object(session: Session, kind: str, code: str, *, field: str):
    """An item/equipment/tooling/document by code, or a parameter ``ROUTING/OPERATION/PARAMETER``."""
    if kind == "parameter":
        parts = code.split("/")
        if len(parts) != 3:
            raise ValidationFailed("a parameter is named ROUTING/OPERATION/PARAMETER", field=field)
        param = session.scalar(
            select(OperationParameter).join(RoutingOperation).join(RoutingRevision).join(Routing)
            .where(Routing.code == parts[0], RoutingOperation.code == parts[1], OperationParameter.name == parts[2],
                   RoutingRevision.state == "released"))
        if param is None:
            raise ValidationFailed(f"no parameter {code} in an effective routing revision", field=field)
        return param
    model = OBJECT_MODELS.get(kind)
    if model is None:
        raise ValidationFailed(f"unknown object kind {kind!r}", field=field)
    obj = session.scalar(select(model).where(model.code == code))
    if obj is None:
        raise ValidationFailed(f"{kind} {code} does not exist", field=field)
    return obj


def _to_review(session: Session, actor, rev, change: ChangeRequest) -> None:
    submit_for_review(session, actor, rev, reason=f"{change.number}: submitted for change control")


def _to_draft(session: Session, actor, rev, reason: str) -> None:
    if rev.state == "in_review":
        return_to_draft(session, actor, rev, reason=reason)


def submit(session: Session, actor, *, instance_id: int | None, title: str, description: str, reason: str,
           urgency: str, revisions: list[dict], objects: list[dict], effective_from: str) -> ChangeRequest:
    """Register (or revise) the change of ``instance_id``, put its drafts in review, compute impact."""
    if urgency not in URGENCIES:
        raise ValidationFailed(f"urgency must be one of {', '.join(URGENCIES)}", field="change_urgency")
    day = parse_day(effective_from, "effective_from")
    change = find_change_for_instance(session, instance_id) if instance_id else None
    if change is None:
        change = ChangeRequest(number=next_number(session, ChangeRequest, "CC"), process_instance_id=instance_id,
                               title=title, requested_by=actor.name)
        session.add(change)
    elif change.status not in ("submitted", "rejected", "assessed"):
        raise Conflict(f"{change.number} is {change.status}: it cannot be revised", field="change")
    revs = [resolve_revision(session, r.get("kind"), r.get("code"), r.get("label"),
                             field=f"changed_revisions[{i}]") for i, r in enumerate(revisions)]
    objs = [resolve_object(session, o.get("kind"), o.get("code"), field=f"changed_objects[{i}]")
            for i, o in enumerate(objects)]
    deployment = deployment_of(session, instance_id) if instance_id else None
    profile = profile_release.of_instance(session, instance_id) if instance_id else None
    if not revs and not objs and deployment is None and profile is None:
        raise ValidationFailed("name at least one revision or object that changes", field="changed_revisions")
    session.flush()
    for i, rev in enumerate(revs):
        _claim(session, change, rev, field=f"changed_revisions[{i}]")
    # A revised request may drop revisions: return those to draft and forget them.
    keep = {(r.revision_kind, r.id) for r in revs}
    for link in list(change.revisions):
        if (link.kind, link.revision_id) not in keep:
            _, model, _ = REVISION_MODELS[link.kind]
            dropped = session.get(model, link.revision_id)
            if dropped is not None:
                _to_draft(session, actor, dropped, f"{change.number}: no longer part of the change")
            change.revisions.remove(link)
    for rev in revs:
        if not any(link.kind == rev.revision_kind and link.revision_id == rev.id for link in change.revisions):
            old = _effective(session, rev)
            change.revisions.append(ChangeRevision(kind=rev.revision_kind, revision_id=rev.id, code=rev.master.code,
                                                   label=rev.label, replaces_label=old.label if old else None))
        if rev.state == "draft":
            rev.change_ref = change.number  # still content while draft: stamped before review locks it
            session.flush()
            _to_review(session, actor, rev, change)
    before = {"status": change.status} if change.id else None
    change.title, change.description, change.reason, change.urgency = title, description, reason, urgency
    change.changed_objects = [{"kind": o.get("kind"), "code": o.get("code")} for o in objects]
    change.effective_from = datetime.combine(day, time(0, 0), tzinfo=timezone.utc)
    result = impact.analyse(session, revs, objs)
    if deployment is not None:  # what the reviewers approve: this exact diagram
        result["changes"] = [*result.get("changes", []), {
            "subject": f"process {deployment.process_id}",
            "change": f"deploy the proposed diagram (SHA-256 {deployment.content_sha256[:16]}…): {deployment.comment}"}]
    if profile is not None:  # #18: the profile's text as reviewed, and the tokens bound to it
        profile_release.to_review(session, actor, profile, change.number)
        result["changes"] = [*result.get("changes", []), *profile_release.impact_rows(session, profile)]
    change.flags = result.pop("flags")
    change.impact = result
    change.status = "submitted"
    session.flush()
    chain.append(session, actor, "change.submitted", "change_request", change.number, before=before,
                 reason=reason if before else None,
                 after={"title": title, "urgency": urgency, "revisions": [r.describe() for r in revs],
                        "objects": change.changed_objects, "impact_counts": result["counts"],
                        **({"deploys": deployment.summary()} if deployment is not None else {}),
                        **({"share_profile": profile.summary()} if profile is not None else {}),
                        "validation_required": change.flags["validation_required"],
                        "regulatory_facts": change.flags["regulatory_facts"]})
    return change


def record_regulatory_decision(session: Session, actor, change: ChangeRequest, decision: dict | None) -> ChangeRequest:
    """Set the change's regulatory-notification flag as the decision table decided (``decision`` is the
    summary the instance history holds); the risk assessment confirms it or overrides it with a reason."""
    if decision is None:
        raise Conflict(f"{change.number}: the regulatory-notification table has not decided yet", field="change")
    required = (decision.get("outputs") or {}).get("regulatory_notification_required")
    if not isinstance(required, bool):
        raise ValidationFailed("the regulatory-notification decision gave no yes/no answer",
                               field="regulatory_notification_required")
    flags = dict(change.flags or {})
    before = {k: flags.get(k) for k in ("regulatory_notification_required", "regulatory_decision") if k in flags}
    flags["regulatory_notification_required"] = required
    flags["regulatory_decision"] = evidence(decision)
    change.flags = flags  # a new dict: the JSON column sees the change
    session.flush()
    chain.append(session, actor, "change.regulatory_flag_decided", "change_request", change.number,
                 before=before or None,
                 after={"regulatory_notification_required": required, "regulatory_decision": evidence(decision)})
    return change


def _effective(session: Session, rev):
    return effective_revision(session, rev)


def _claim(session: Session, change: ChangeRequest, rev, *, field: str) -> None:
    if rev.state not in ("draft", "in_review"):
        raise ValidationFailed(f"{rev.describe()} is {rev.state}: only a draft can be changed", field=field)
    other = session.scalar(
        select(ChangeRequest).join(ChangeRevision)
        .where(ChangeRevision.kind == rev.revision_kind, ChangeRevision.revision_id == rev.id,
               ChangeRequest.id != change.id, ChangeRequest.status.in_(OPEN_STATUSES)))
    if other is not None:
        raise Conflict(f"{rev.describe()} is already part of {other.number}", field=field)
    if rev.state == "in_review" and rev.change_ref not in (None, change.number):
        raise Conflict(f"{rev.describe()} is in review under {rev.change_ref}", field=field)


def record_assessment(session: Session, actor, change: ChangeRequest, *, risk_level: str, risk_assessment: str,
                      validation_required: bool, validation_plan: str,
                      regulatory_notification_required: bool, flag_override_justification: str = "") -> ChangeRequest:
    """Record the engineer's risk assessment; overriding a rule-based flag needs a written justification,
    which the audit entry carries as its reason."""
    if validation_required and not validation_plan.strip():
        raise ValidationFailed("validation is required: give the validation plan", field="validation_plan")
    flags = dict(change.flags or {})
    # Instances of a change-control version without the decision table never had the flag decided:
    # unticking it then needs a justification too (the question is asked, never silently dropped).
    flags.setdefault("regulatory_notification_required", True)
    overrides = [name for name, given in (("validation_required", validation_required),
                                          ("regulatory_notification_required", regulatory_notification_required))
                 if flags.get(name) and not given]
    justification = (flag_override_justification or "").strip()
    if overrides and not justification:
        raise ValidationFailed(f"the impact analysis set {', '.join(overrides)}: justify overriding it",
                               field="flag_override_justification")
    change.risk_level, change.risk_assessment = risk_level, risk_assessment
    change.validation_required, change.validation_plan = validation_required, validation_plan or None
    change.regulatory_notification_required = regulatory_notification_required
    change.status = "assessed"
    session.flush()
    chain.append(session, actor, "change.assessed", "change_request", change.number,
                 reason=f"flags overridden ({', '.join(overrides)}): {justification}" if overrides else None,
                 before={"flags": {k: bool(flags.get(k)) for k in overrides}} if overrides else None,
                 after={"risk_level": risk_level, "validation_required": validation_required,
                        "regulatory_notification_required": regulatory_notification_required,
                        "overrides": overrides, "override_justification": justification or None})
    return change


def record_rejection(session: Session, actor, change: ChangeRequest, *, decisions: dict) -> ChangeRequest:
    """Approvals refused: nothing is released, drafts return to their author for rework."""
    refused = {who: d[1] for who, d in decisions.items() if d and d[0] != "approve"}
    for link in change.revisions:
        _, model, _ = REVISION_MODELS[link.kind]
        rev = session.get(model, link.revision_id)
        if rev is not None:
            _to_draft(session, actor, rev, f"{change.number} rejected: returned for rework")
    _profile_to_draft(session, actor, change, f"{change.number} rejected: returned for rework")
    change.status = "rejected"
    change.rejections += 1
    session.flush()
    chain.append(session, actor, "change.rejected", "change_request", change.number,
                 reason="; ".join(f"{who}: {why}" for who, why in refused.items()) or "not approved",
                 after={"status": "rejected", "refused_by": sorted(refused), "round": change.rejections})
    return change


def withdraw(session: Session, actor, change: ChangeRequest | None, *, reason: str) -> dict:
    """Withdraw the request: its drafts return to draft; nothing is released."""
    if change is None:
        return {"status": "withdrawn", "number": None}
    for link in change.revisions:
        _, model, _ = REVISION_MODELS[link.kind]
        rev = session.get(model, link.revision_id)
        if rev is not None:
            _to_draft(session, actor, rev, f"{change.number} withdrawn")
    _profile_to_draft(session, actor, change, f"{change.number} withdrawn")
    before = {"status": change.status}
    change.status = "withdrawn"
    session.flush()
    chain.append(session, actor, "change.withdrawn", "change_request", change.number, before=before,
                 after={"status": "withdrawn"}, reason=reason or "withdrawn by the requester")
    return change.summary()


def schedule_release(session: Session, actor, change: ChangeRequest, *, effective_from: str) -> dict:
    """Fix the effective date; the workflow waits until then (now when the date is today or past)."""
    if change.status not in ("assessed", "approved"):
        raise Conflict(f"{change.number} is {change.status}: only an approved change is implemented", field="change")
    day = parse_day(effective_from, "effective_from")
    now = datetime.now(timezone.utc)
    if day < now.date() - timedelta(days=1):
        raise ValidationFailed("the effective date cannot lie in the past", field="effective_from")
    release_at = max(datetime.combine(day, time(0, 0), tzinfo=timezone.utc), now)
    before = {"status": change.status}
    change.status, change.effective_from = "approved", release_at
    session.flush()
    chain.append(session, actor, "change.release_scheduled", "change_request", change.number, before=before,
                 after={"status": "approved", "release_at": release_at.isoformat()},
                 reason="approved by every required approver")
    return {"release_at": release_at.isoformat(), "change": change.number}


def implement(session: Session, actor, change: ChangeRequest) -> ChangeRequest:
    """Release every revision of the change at once (the old ones become obsolete): all or nothing."""
    if change.status != "approved":
        raise Conflict(f"{change.number} is {change.status}: only an approved change is implemented", field="change")
    # The timer fired at (or after) the effective instant; never claim an effective time ahead of the clock.
    now = datetime.now(timezone.utc)
    when = min(change.effective_from or now, now)
    released = []
    for link in change.revisions:
        _, model, _ = REVISION_MODELS[link.kind]
        rev = session.get(model, link.revision_id)
        if rev.state != "in_review":
            raise Conflict(f"{rev.describe()} is {rev.state}, not in review: it changed outside {change.number}",
                           field="changed_revisions")
        release(session, actor, rev, effective_from=when, reason=f"{change.number}: {change.title}")
        link.released_at = datetime.now(timezone.utc)
        released.append(rev.describe())
        if isinstance(rev, DocumentRevision):  # operators who must work to it get their task now
            sop_training.assign_training(session, actor, rev)
    deployment = deployment_of(session, change.process_instance_id) if change.process_instance_id else None
    if deployment is not None:
        released.append(_deploy_proposal(session, actor, change, deployment))
    profile = profile_release.of_instance(session, change.process_instance_id) if change.process_instance_id else None
    if profile is not None:
        released.append(profile_release.release(session, actor, profile, change.number,
                                                f"{change.number}: {change.title}"))
    before = {"status": change.status}
    change.status, change.implemented_at, change.effective_from = "implemented", datetime.now(timezone.utc), when
    session.flush()
    chain.append(session, actor, "change.implemented", "change_request", change.number, before=before,
                 after={"status": "implemented", "released": released, "effective_from": when.isoformat()},
                 reason="revisions released by change control")
    return change


def _profile_to_draft(session: Session, actor, change: ChangeRequest, reason: str) -> None:
    profile = profile_release.of_instance(session, change.process_instance_id) if change.process_instance_id else None
    if profile is not None:
        profile_release.to_draft(session, actor, profile, reason)


def deployment_of(session: Session, instance_id: int) -> ChangeDeployment | None:
    """The process diagram the change-control instance ``instance_id`` proposes to deploy (#14), if any."""
    return session.scalar(select(ChangeDeployment).where(ChangeDeployment.process_instance_id == instance_id))


def change_of_version(session: Session, version_id: int) -> ChangeRequest | None:
    """The change request whose implementation deployed process version ``version_id`` (#14), if any."""
    return session.scalar(select(ChangeRequest).join(
        ChangeDeployment, ChangeDeployment.process_instance_id == ChangeRequest.process_instance_id)
        .where(ChangeDeployment.process_version_id == version_id))


def propose_deployment(session: Session, actor, instance_id: int, document, *, process_id: str,
                       comment: str) -> ChangeDeployment:
    """Attach the diagram ``document`` (validated, form versions pinned: ``deploy.prepare_single``) to
    the change-control instance ``instance_id``: implementing its change deploys exactly this content."""
    if deployment_of(session, instance_id) is not None:
        raise Conflict(f"workflow instance {instance_id} already carries a proposed deployment", field="change")
    proposal = ChangeDeployment(process_instance_id=instance_id, process_id=process_id,
                                file_name=document.file_name, bpmn_xml=document.content.decode("utf-8"),
                                content_sha256=document.sha256, comment=comment, proposed_by_id=actor.id,
                                proposed_by_name=actor.name)
    session.add(proposal)
    session.flush()
    chain.append(session, actor, "change.deployment_proposed", "process_instance", instance_id, reason=comment,
                 after=proposal.summary())
    return proposal


def _implementer(session: Session, instance_id: int, actor):
    """Who signed the change's "confirm implementation" step: ``actor`` when the step is being signed
    now (its effective date reached at once), else its recorded completion (a timer fired later)."""
    row = session.scalar(select(WorkflowTask).where(
        WorkflowTask.instance_id == instance_id, WorkflowTask.spec_name == IMPLEMENT_STEP,
        WorkflowTask.state == "completed").order_by(WorkflowTask.completed_at.desc()).limit(1))
    if row is not None and row.completed_by_id is not None:
        return actor_for(session.get(User, row.completed_by_id)), row.signature_id
    if getattr(actor, "kind", None) != "user":
        raise Conflict(f"the change has no signed {IMPLEMENT_STEP} step: nothing is deployed", field="change")
    return actor, None


def _deploy_proposal(session: Session, actor, change: ChangeRequest, proposal: ChangeDeployment) -> str:
    """Deploy the reviewed diagram, byte for byte (hash checked), as the implementer who signed."""
    content = proposal.bpmn_xml.encode("utf-8")
    if hashlib.sha256(content).hexdigest() != proposal.content_sha256:
        raise Conflict(f"the diagram {change.number} carries is not the reviewed one (hash differs)", field="change")
    implementer, signature_id = _implementer(session, change.process_instance_id, actor)
    result = deploy(session, implementer, [DiagramDocument(proposal.file_name, content)],
                    comment=f"{change.number}: {proposal.comment}", only_process=proposal.process_id)
    [version] = result.deployed
    if version.content_sha256 != proposal.content_sha256:
        raise Conflict(f"deploying {change.number} would change the reviewed diagram (a form it uses was "
                       "re-pinned): nothing is deployed", field="change")
    proposal.process_version_id, proposal.deployed_at = version.id, datetime.now(timezone.utc)
    session.flush()
    chain.append(session, implementer, "change.deployment_implemented", "process_version",
                 f"{version.process_id}:v{version.version}", reason=f"{change.number}: {change.title}",
                 after={"change": change.number, "content_sha256": version.content_sha256,
                        "signed_step": IMPLEMENT_STEP, "signature_id": signature_id})
    return f"{version.process_id} v{version.version}"


def close(session: Session, actor, change: ChangeRequest, *, result: str, notes: str) -> ChangeRequest:
    """Record the verification of effectiveness and close the change."""
    if change.status != "implemented":
        raise Conflict(f"{change.number} is {change.status}: only an implemented change is closed", field="change")
    change.status, change.closed_at = "closed", datetime.now(timezone.utc)
    change.verification_result, change.verification_notes = result, notes
    session.flush()
    chain.append(session, actor, "change.closed", "change_request", change.number,
                 after={"status": "closed", "verification": result}, before={"status": "implemented"},
                 reason=notes or "verified")
    return change
