"""Batch (lot) release: review by exception, exception dispositions, release or reject."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from audit import chain
from engine.errors import Conflict, NotFound, RuleViolation, ValidationFailed
from engine.processes import holds
from engine.processes.deviations import hold_lot, open_deviation
from engine.processes.models import ReleaseException, ReleaseReview
from engine.processes.release_checks import exceptions_for
from engine.processes.workflow import start
from engine.production.lots import change_lot_status
from engine.production.models import Lot

RELEASABLE = ("completed", "on_hold")


def request_release(session: Session, actor, lot: Lot):
    """Start the batch-release workflow of a completed lot; returns the instance."""
    if lot.status not in RELEASABLE:
        raise Conflict(f"lot {lot.lot_number} is {lot.status}: only a completed lot is reviewed for release",
                       field="lot")
    running = session.scalar(select(ReleaseReview).where(ReleaseReview.lot_id == lot.id,
                                                         ReleaseReview.status == "open"))
    if running is not None:
        raise Conflict(f"lot {lot.lot_number} is already under release review", field="lot")
    return start(session, actor, "batch_release",
                 {"lot_id": lot.id, "lot": {"lot_number": lot.lot_number, "item": lot.item.code}},
                 business_key=lot.lot_number)


def get_review(session: Session, review_id: int) -> ReleaseReview:
    review = session.get(ReleaseReview, review_id)
    if review is None:
        raise NotFound(f"release review {review_id} does not exist", field="review")
    return review


def review_summary(review: ReleaseReview) -> dict:
    """What the reviewer and the QA manager see: every check, every exception and its disposition."""
    exceptions = [e.summary() for e in review.exceptions]
    return {"id": review.id, "round": review.round, "status": review.status,
            "lot": review.lot.lot_number, "item": review.lot.item.code, "checks": review.checks,
            "exceptions": exceptions, "exception_count": len(exceptions), "no_exceptions": not exceptions,
            "computed_at": review.computed_at.isoformat()}


def compute_review(session: Session, actor, lot: Lot, *, instance_id: int | None = None) -> ReleaseReview:
    """A new round of review by exception (an open earlier round of the lot is superseded)."""
    earlier = list(session.scalars(select(ReleaseReview).where(ReleaseReview.lot_id == lot.id)))
    for old in earlier:
        if old.status == "open":
            old.status = "superseded"
    result = exceptions_for(session, lot)
    review = ReleaseReview(lot_id=lot.id, process_instance_id=instance_id, round=len(earlier) + 1,
                           checks=result["checks"], computed_by=actor.name)
    review.exceptions = [ReleaseException(key=e["key"], check_code=e["check"], message=e["message"],
                                          details=e["details"]) for e in result["exceptions"]]
    session.add(review)
    session.flush()
    chain.append(session, actor, "release.review_computed", "lot", lot.lot_number,
                 after={"review": review.id, "round": review.round, "exceptions": [e.key for e in review.exceptions]})
    return review


def disposition_exceptions(session: Session, actor, review: ReleaseReview, *, dispositions: list[dict],
                           comment: str) -> ReleaseReview:
    """Each exception justified or raised as a deviation (which holds the lot); all must be covered."""
    if review.status != "open":
        raise Conflict(f"release review {review.id} is {review.status}", field="review")
    by_key = {e.key: e for e in review.exceptions}
    given: dict[str, dict] = {}
    for i, row in enumerate(dispositions):
        key = row.get("key")
        if key not in by_key:
            raise ValidationFailed(f"{key!r} is not an exception of this review", field=f"exception_dispositions[{i}].key")
        if key in given:
            raise ValidationFailed(f"{key} is dispositioned twice", field=f"exception_dispositions[{i}].key")
        if not (row.get("justification") or "").strip():
            raise ValidationFailed("give a justification", field=f"exception_dispositions[{i}].justification")
        given[key] = row
    missing = [k for k in by_key if k not in given]
    if missing:
        raise ValidationFailed(f"exceptions without disposition: {', '.join(missing)}",
                               details=[{"field": "exception_dispositions", "message": f"{k} needs a disposition"}
                                        for k in missing])
    now = datetime.now(timezone.utc)
    for key, row in given.items():
        exc = by_key[key]
        exc.action, exc.justification = row["action"], row["justification"].strip()
        exc.dispositioned_by, exc.dispositioned_at = actor.name, now
        if exc.action == "raise_deviation" and exc.deviation_id is None:
            dev = open_deviation(session, actor, lot=review.lot, source="release_review",
                                 description=f"{exc.message} — {exc.justification}",
                                 details={"release_review": review.id, "exception": key})
            exc.deviation_id = dev.id
            # The form promises "the lot goes on hold": hold it now, linked to the deviation so that
            # the deviation's disposition is what lifts it.
            hold_lot(session, actor, review.lot, reason=f"raised from release review {review.id}: {exc.message}",
                     deviation_id=dev.id)
    review.reviewed_by, review.review_comment = actor.name, comment
    session.flush()
    chain.append(session, actor, "release.exceptions_dispositioned", "lot", review.lot.lot_number, reason=comment or None,
                 after={"review": review.id, "dispositions": {k: v["action"] for k, v in given.items()}})
    return review


def release_lot(session: Session, actor, review: ReleaseReview, *, comment: str) -> dict:
    """Release the lot: refused while it is held or any current exception is not justified."""
    lot = session.scalars(select(Lot).where(Lot.id == review.lot_id).with_for_update()).one()
    holds.assert_not_held(session, lot)
    if review.status != "open":
        raise Conflict(f"release review {review.id} is {review.status}", field="review")
    justified = {e.key for e in review.exceptions if e.action == "justified"}
    now_open = [e for e in exceptions_for(session, lot)["exceptions"] if e["key"] not in justified]
    if now_open:
        raise RuleViolation("the lot cannot be released: " + "; ".join(e["message"] for e in now_open),
                            details=[{"field": e["key"], "message": e["message"]} for e in now_open])
    change_lot_status(session, actor, lot, "released", reason=comment or f"released by QA (review {review.id})")
    review.status, review.decided_by, review.decided_at = "released", actor.name, lot.dispositioned_at
    review.decision_comment = comment or None
    session.flush()
    chain.append(session, actor, "release.decided", "release_review", review.id,
                 after={"decision": "released", "lot": lot.lot_number, "justified_exceptions": sorted(justified)})
    return {"lot": lot.lot_number, "status": lot.status}


def reject_lot(session: Session, actor, review: ReleaseReview, *, comment: str) -> dict:
    """Reject the lot (it is not distributed); the reason is mandatory."""
    if not (comment or "").strip():
        raise ValidationFailed("rejecting a lot needs a reason", field="release_comment")
    lot = session.scalars(select(Lot).where(Lot.id == review.lot_id).with_for_update()).one()
    change_lot_status(session, actor, lot, "rejected", reason=comment)
    review.status, review.decided_by, review.decided_at = "rejected", actor.name, lot.dispositioned_at
    review.decision_comment = comment
    session.flush()
    chain.append(session, actor, "release.decided", "release_review", review.id,
                 after={"decision": "rejected", "lot": lot.lot_number})
    return {"lot": lot.lot_number, "status": lot.status}
