"""Service operations the quality diagrams call (``spiffworkflow:serviceTaskOperator``).

Each is a thin adapter: it resolves the record from the instance or an id, calls the use case
with the context's session and actor, and returns JSON-able data for the task's result variable.
"""
from __future__ import annotations

from engine.errors import Forbidden, NotFound
from engine.processes import audit_reviews, capas, changes, deviations, release, sop_training
from engine.processes.models import AuditReview
from engine.production.models import Lot
from engine.workflows import decisions
from engine.workflows.operations import OperationContext, operation

REGULATORY_DECISION = "change_regulatory_notification"  # bpmn/change_regulatory_notification.dmn


def _instance_id(ctx: OperationContext) -> int | None:
    return ctx.instance.id if ctx.instance is not None else None


def _own_instance(ctx: OperationContext, process_id: str) -> bool:
    return ctx.instance is not None and ctx.instance.process_id == process_id


def _owned(ctx: OperationContext, record, what: str):
    """``record`` if it belongs to this instance: task data is user-submitted, ids in it are not trusted."""
    owner = getattr(record, "process_instance_id", None)
    if ctx.instance is not None and owner is not None and owner != ctx.instance.id:
        raise Forbidden(f"{what} belongs to another workflow instance", field=what)
    return record


def _deviation(ctx: OperationContext, deviation_id: int):
    return _owned(ctx, deviations.get_deviation(ctx.session, deviation_id), "deviation_id")


def _capa(ctx: OperationContext, capa_id: int):
    return _owned(ctx, capas.get_capa(ctx.session, capa_id), "capa_id")


def _review(ctx: OperationContext, review_id: int):
    return _owned(ctx, release.get_review(ctx.session, review_id), "review_id")


def _change(ctx: OperationContext):
    change = changes.find_change_for_instance(ctx.session, _instance_id(ctx))
    if change is None:
        raise NotFound("this workflow instance has no change request yet", field="change")
    return change


# --- change control ----------------------------------------------------------------------

@operation("change.analyse_impact")
def change_analyse_impact(ctx: OperationContext, *, title: str, description: str, reason: str, urgency: str,
                          revisions: list, objects: list, effective_from: str) -> dict:
    """Register or revise the change request and compute its impact over the master data."""
    change = changes.submit(ctx.session, ctx.actor, instance_id=_instance_id(ctx), title=title,
                            description=description, reason=reason, urgency=urgency, revisions=revisions,
                            objects=objects, effective_from=effective_from)
    if _own_instance(ctx, "change_control") and ctx.instance.business_key != change.number:
        ctx.instance.business_key = change.number
    return change.summary()


@operation("change.record_regulatory_decision")
def change_record_regulatory_decision(ctx: OperationContext) -> dict:
    """Set the change's regulatory-notification flag from the decision this instance's table just took."""
    change = _change(ctx)
    taken = decisions.last_decision_taken(ctx.session, _instance_id(ctx), REGULATORY_DECISION)
    return changes.record_regulatory_decision(ctx.session, ctx.actor, change, taken).summary()


@operation("change.record_assessment")
def change_record_assessment(ctx: OperationContext, *, risk_level: str, risk_assessment: str,
                             validation_required: bool, validation_plan: str,
                             regulatory_notification_required: bool, flag_override_justification: str = "") -> dict:
    """Record the risk assessment and the confirmed (or overridden, with a justification) flags."""
    return changes.record_assessment(ctx.session, ctx.actor, _change(ctx), risk_level=risk_level,
                                     risk_assessment=risk_assessment, validation_required=validation_required,
                                     validation_plan=validation_plan,
                                     regulatory_notification_required=regulatory_notification_required,
                                     flag_override_justification=flag_override_justification).summary()


@operation("change.record_rejection")
def change_record_rejection(ctx: OperationContext, *, decisions: dict) -> dict:
    """Return the change to its requester: nothing is released, drafts go back to draft."""
    cleaned = {k: v for k, v in decisions.items() if v}
    return changes.record_rejection(ctx.session, ctx.actor, _change(ctx), decisions=cleaned).summary()


@operation("change.withdraw")
def change_withdraw(ctx: OperationContext, *, reason: str) -> dict:
    """Withdraw the request (before or after a rejection)."""
    change = changes.find_change_for_instance(ctx.session, _instance_id(ctx)) if ctx.instance else None
    return changes.withdraw(ctx.session, ctx.actor, change, reason=reason)


@operation("change.schedule_release")
def change_schedule_release(ctx: OperationContext, *, effective_from: str) -> dict:
    """Fix the effective date; returns ``release_at`` the workflow waits for."""
    return changes.schedule_release(ctx.session, ctx.actor, _change(ctx), effective_from=effective_from)


@operation("change.implement")
def change_implement(ctx: OperationContext) -> dict:
    """Release every revision of the change atomically (the old ones become obsolete)."""
    return changes.implement(ctx.session, ctx.actor, _change(ctx)).summary()


@operation("change.close")
def change_close(ctx: OperationContext, *, result: str, notes: str) -> dict:
    """Record the verification of effectiveness and close the change."""
    return changes.close(ctx.session, ctx.actor, _change(ctx), result=result, notes=notes).summary()


# --- deviation -----------------------------------------------------------------------------

@operation("deviation.contain")
def deviation_contain(ctx: OperationContext, *, deviation_id: int, classification: str, lot_numbers: list,
                      rationale: str, decision: dict | None = None) -> dict:
    """Classify the deviation (as the class table decided) and put the affected lots on hold."""
    dev = _deviation(ctx, deviation_id)
    return deviations.contain(ctx.session, ctx.actor, dev, classification=classification,
                              lot_numbers=lot_numbers, rationale=rationale, decision=decision)


@operation("deviation.record_dispositions")
def deviation_record_dispositions(ctx: OperationContext, *, deviation_id: int, dispositions: list,
                                  investigation: str, root_cause: str) -> dict:
    """Record one proposed disposition per held lot (applied when the deviation closes)."""
    dev = _deviation(ctx, deviation_id)
    return deviations.record_dispositions(ctx.session, ctx.actor, dev, dispositions=dispositions,
                                          investigation=investigation, root_cause=root_cause)


@operation("deviation.capa_source")
def deviation_capa_source(ctx: OperationContext, *, deviation_id: int) -> dict:
    """The CAPA source (this deviation) handed to the CAPA call activity."""
    dev = _deviation(ctx, deviation_id)
    dev.capa_required = True
    return deviations.capa_source(dev)


@operation("deviation.close")
def deviation_close(ctx: OperationContext, *, deviation_id: int) -> dict:
    """Apply the approved dispositions, lift the holds, close the deviation."""
    dev = _deviation(ctx, deviation_id)
    return deviations.close(ctx.session, ctx.actor, dev)


# --- CAPA ------------------------------------------------------------------------------------

@operation("capa.open")
def capa_open(ctx: OperationContext, *, source: dict, problem: str, effectiveness_days: int) -> dict:
    """Open the CAPA record."""
    capa = capas.open_capa(ctx.session, ctx.actor, source=source, problem=problem,
                           effectiveness_days=effectiveness_days, instance_id=_instance_id(ctx))
    if _own_instance(ctx, "capa") and not ctx.instance.business_key:
        ctx.instance.business_key = capa.number
    return capa.summary()


@operation("capa.record_plan")
def capa_record_plan(ctx: OperationContext, *, capa_id: int, five_whys: list, fishbone: dict, root_cause: str,
                     actions: list) -> dict:
    """Record the root cause analysis and the action plan; returns due instant and waiting period."""
    return capas.record_plan(ctx.session, ctx.actor, _capa(ctx, capa_id), five_whys=five_whys,
                             fishbone=fishbone, root_cause=root_cause, actions=actions)


@operation("capa.extend_due")
def capa_extend_due(ctx: OperationContext, *, capa_id: int, due_date: str, note: str) -> dict:
    """A new due date after escalation of an overdue CAPA."""
    return capas.extend_due(ctx.session, ctx.actor, _capa(ctx, capa_id), due_date=due_date,
                            note=note)


@operation("capa.record_implementation")
def capa_record_implementation(ctx: OperationContext, *, capa_id: int, results: list) -> dict:
    """Every action completed with evidence; the effectiveness period starts."""
    return capas.record_implementation(ctx.session, ctx.actor, _capa(ctx, capa_id),
                                       results=results)


@operation("capa.reopen")
def capa_reopen(ctx: OperationContext, *, capa_id: int, reason: str) -> dict:
    """Reopen the CAPA for a new analysis."""
    return capas.reopen(ctx.session, ctx.actor, _capa(ctx, capa_id), reason=reason)


@operation("capa.close")
def capa_close(ctx: OperationContext, *, capa_id: int, effective: str, evidence: str) -> dict:
    """Close the CAPA after an effective effectiveness check."""
    return capas.close(ctx.session, ctx.actor, _capa(ctx, capa_id), effective=effective,
                       evidence=evidence)


# --- batch release -------------------------------------------------------------------------

@operation("release.review")
def release_review(ctx: OperationContext, *, lot_id: int) -> dict:
    """Review by exception: run every release check on the lot."""
    lot = ctx.session.get(Lot, lot_id)
    if lot is None:
        raise NotFound(f"lot {lot_id} does not exist", field="lot_id")
    review = release.compute_review(ctx.session, ctx.actor, lot, instance_id=_instance_id(ctx))
    return release.review_summary(review)


@operation("release.disposition_exceptions")
def release_disposition_exceptions(ctx: OperationContext, *, review_id: int, dispositions: list,
                                   comment: str) -> dict:
    """Record the reviewer's disposition of every exception (justified or deviation raised)."""
    review = release.disposition_exceptions(ctx.session, ctx.actor, _review(ctx, review_id),
                                            dispositions=dispositions, comment=comment)
    return release.review_summary(review)


@operation("release.release_lot")
def release_release_lot(ctx: OperationContext, *, review_id: int, comment: str) -> dict:
    """Release the lot (refused while held or with an unjustified exception)."""
    return release.release_lot(ctx.session, ctx.actor, _review(ctx, review_id), comment=comment)


@operation("release.reject_lot")
def release_reject_lot(ctx: OperationContext, *, review_id: int, comment: str) -> dict:
    """Reject the lot."""
    return release.reject_lot(ctx.session, ctx.actor, _review(ctx, review_id), comment=comment)


# --- audit-trail review ----------------------------------------------------------------------

@operation("audit_review.assemble")
def audit_review_assemble(ctx: OperationContext, *, period_start: str, period_end: str) -> dict:
    """Collect the period's risky audit events and pin the chain head they are covered by."""
    review = audit_reviews.assemble(ctx.session, ctx.actor, instance_id=_instance_id(ctx),
                                    period_start=period_start, period_end=period_end)
    return audit_reviews.summary(review)


@operation("audit_review.record")
def audit_review_record(ctx: OperationContext, *, review_id: int, findings: list, summary: str) -> dict:
    """Record the approved review, raise a deviation for unexplained events, schedule the next one."""
    review = ctx.session.get(AuditReview, review_id)
    if review is None:
        raise NotFound(f"audit review {review_id} does not exist", field="review_id")
    _owned(ctx, review, "review_id")
    return audit_reviews.record(ctx.session, ctx.actor, review, findings=findings, summary_text=summary)


# --- read and acknowledge a new document revision --------------------------------------------

@operation("training.acknowledge")
def training_acknowledge(ctx: OperationContext, *, document: str, revision: str, trainee: str) -> dict:
    """Record the signer's read-and-acknowledge training on the document revision of the task."""
    return sop_training.acknowledge(ctx.session, ctx.actor, document=document, revision=revision, trainee=trainee)
