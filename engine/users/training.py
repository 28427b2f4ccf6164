"""Training records: who is trained on which document revision (ISO 13485 §6.2)."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from audit import Actor, chain
from engine.db import utcnow
from engine.errors import Conflict, ValidationFailed
from engine.masterdata.models import DocumentRevision
from engine.users.models import TrainingRecord, User


def record_training(session: Session, actor: Actor, user: User, document_revision: DocumentRevision, *,
                    trained_on: date, trainer: str = "", notes: str = "",
                    recorded_by: User | None = None) -> TrainingRecord:
    """Record that ``user`` was trained on ``document_revision`` on ``trained_on``."""
    if document_revision.state == "draft":
        raise ValidationFailed(f"{document_revision.describe()} is a draft: training is recorded on a revision "
                               "in review, released or (for history) obsolete", field="document_revision")
    if trained_on > utcnow().date():
        raise ValidationFailed("trained_on is in the future", field="trained_on")
    existing = session.scalars(select(TrainingRecord).where(
        TrainingRecord.user_id == user.id, TrainingRecord.document_revision_id == document_revision.id)).first()
    if existing is not None:
        raise Conflict(f"{user.username} is already recorded as trained on {document_revision.describe()}",
                       field="document_revision")
    record = TrainingRecord(user=user, document_revision=document_revision, trained_on=trained_on, trainer=trainer,
                            notes=notes, recorded_at=utcnow(), recorded_by_id=recorded_by.id if recorded_by else None)
    session.add(record)
    session.flush()
    chain.append(session, actor, "training.record", "training_record", record.id,
                 after={"user": user.username, "document": document_revision.describe(),
                        "document_revision_id": document_revision.id, "trained_on": trained_on, "trainer": trainer})
    return record


def is_trained(session: Session, user: User, document_revision: DocumentRevision) -> bool:
    """True when ``user`` has a training record on exactly ``document_revision``."""
    return session.scalars(select(TrainingRecord.id).where(
        TrainingRecord.user_id == user.id, TrainingRecord.document_revision_id == document_revision.id)).first() is not None
