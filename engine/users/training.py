"""Training records: who is trained on which document revision (ISO 13485 §6.2).

``is_trained`` is the one rule the shop-floor interlock and the release review both use: a
passed training record on exactly the document revision in effect, dated on or before the day
of work.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from audit import Actor, chain
from engine.db import utcnow
from engine.errors import Conflict, ValidationFailed
from engine.masterdata.models import DocumentRevision
from engine.users.models import TRAINING_METHODS, TRAINING_RESULTS, TrainingRecord, User

# Documents an operator must be trained on before performing an operation that links them.
TRAINED_PURPOSES = ("sop", "process_card", "work_instruction")


def record_training(session: Session, actor: Actor, user: User, document_revision: DocumentRevision, *,
                    trained_on: date, trainer: str = "", notes: str = "", method: str = "classroom",
                    result: str = "pass", score: float | None = None,
                    recorded_by: User | None = None) -> TrainingRecord:
    """Record that ``user`` was trained on ``document_revision`` on ``trained_on`` (passed or failed)."""
    if document_revision.state == "draft":
        raise ValidationFailed(f"{document_revision.describe()} is a draft: training is recorded on a revision "
                               "in review, released or (for history) obsolete", field="document_revision")
    if trained_on > utcnow().date():
        raise ValidationFailed("trained_on is in the future", field="trained_on")
    if method not in TRAINING_METHODS:
        raise ValidationFailed(f"method must be one of {', '.join(TRAINING_METHODS)}", field="method")
    if result not in TRAINING_RESULTS:
        raise ValidationFailed("result must be pass or fail", field="result")
    if score is not None and not 0 <= score <= 100:
        raise ValidationFailed("score is a percentage (0 to 100)", field="score")
    if result == "pass" and passed_record(session, user, document_revision) is not None:
        raise Conflict(f"{user.username} is already recorded as trained on {document_revision.describe()}",
                       field="document_revision")
    record = TrainingRecord(user=user, document_revision=document_revision, trained_on=trained_on, trainer=trainer,
                            method=method, result=result, score=score, notes=notes, recorded_at=utcnow(),
                            recorded_by_id=recorded_by.id if recorded_by else None)
    session.add(record)
    session.flush()
    chain.append(session, actor, "training.record", "training_record", record.id,
                 after={"user": user.username, "document": document_revision.describe(),
                        "document_revision_id": document_revision.id, "trained_on": trained_on, "trainer": trainer,
                        "method": method, "result": result, "score": score})
    return record


def passed_record(session: Session, user: User, document_revision: DocumentRevision,
                  on: date | None = None) -> TrainingRecord | None:
    """The passed training record of ``user`` on ``document_revision`` (dated on or before ``on``)."""
    query = select(TrainingRecord).where(TrainingRecord.user_id == user.id,
                                         TrainingRecord.document_revision_id == document_revision.id,
                                         TrainingRecord.result == "pass")
    if on is not None:
        query = query.where(TrainingRecord.trained_on <= on)
    return session.scalars(query).first()


def is_trained(session: Session, user: User, document_revision: DocumentRevision, on: date | None = None) -> bool:
    """True when ``user`` passed training on exactly ``document_revision`` (by ``on`` when given)."""
    return passed_record(session, user, document_revision, on) is not None


def document_revision_in_effect(session: Session, document_id: int, at: datetime) -> DocumentRevision | None:
    """The revision of a document in effect at ``at`` (released, or obsoleted since)."""
    revs = session.scalars(select(DocumentRevision).where(DocumentRevision.document_id == document_id,
                                                          DocumentRevision.state.in_(("released", "obsolete"))))
    best = None
    for rev in revs:
        start = rev.effective_from or rev.released_at
        if start is None or start > at or (rev.obsoleted_at is not None and rev.obsoleted_at <= at):
            continue
        if best is None or start > (best.effective_from or best.released_at):
            best = rev
    return best
