"""Batch-release reviews with their exceptions, and periodic audit-trail reviews."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from engine.db import Base, UTCDateTime, utcnow
from engine.production.models import Lot
from engine.processes.models.common import in_list

REVIEW_STATUSES = ("open", "superseded", "released", "rejected")
EXCEPTION_ACTIONS = ("justified", "raise_deviation")
AUDIT_REVIEW_STATUSES = ("scheduled", "assembled", "recorded")


class ReleaseReview(Base):
    """One round of review by exception of a lot; a re-review supersedes the previous round."""

    __tablename__ = "release_reviews"
    __table_args__ = (CheckConstraint(in_list("status", REVIEW_STATUSES), name="status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id"), index=True)
    process_instance_id: Mapped[int | None] = mapped_column(Integer, index=True)
    round: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(16), default="open")
    checks: Mapped[list] = mapped_column(JSON, default=list)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    computed_by: Mapped[str] = mapped_column(String(200))
    reviewed_by: Mapped[str | None] = mapped_column(String(200))
    review_comment: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_comment: Mapped[str | None] = mapped_column(Text)

    lot: Mapped[Lot] = relationship()
    exceptions: Mapped[list[ReleaseException]] = relationship(
        back_populates="review", cascade="all, delete-orphan", order_by="ReleaseException.id"
    )


class ReleaseException(Base):
    """A check that failed for the lot, and how the reviewer dispositioned it."""

    __tablename__ = "release_exceptions"
    __table_args__ = (
        UniqueConstraint("review_id", "key"),
        CheckConstraint(f"action IS NULL OR {in_list('action', EXCEPTION_ACTIONS)}", name="action"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("release_reviews.id"), index=True)
    key: Mapped[str] = mapped_column(String(200))
    check_code: Mapped[str] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(Text)
    details: Mapped[dict | None] = mapped_column(JSON)
    action: Mapped[str | None] = mapped_column(String(24))
    justification: Mapped[str | None] = mapped_column(Text)
    deviation_id: Mapped[int | None] = mapped_column(ForeignKey("deviations.id"))
    dispositioned_by: Mapped[str | None] = mapped_column(String(200))
    dispositioned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    review: Mapped[ReleaseReview] = relationship(back_populates="exceptions")

    def summary(self) -> dict:
        return {"key": self.key, "check": self.check_code, "message": self.message, "details": self.details,
                "action": self.action, "justification": self.justification, "deviation_id": self.deviation_id}


class AuditReview(Base):
    """A periodic or on-demand review of the audit trail, pinned to the chain head it covered."""

    __tablename__ = "audit_reviews"
    __table_args__ = (CheckConstraint(in_list("status", AUDIT_REVIEW_STATUSES), name="status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    process_instance_id: Mapped[int | None] = mapped_column(Integer, index=True)
    period_start: Mapped[datetime] = mapped_column(UTCDateTime)
    period_end: Mapped[datetime] = mapped_column(UTCDateTime)
    on_demand: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default="scheduled")
    head_seq: Mapped[int | None] = mapped_column(BigInteger)
    head_hash: Mapped[str | None] = mapped_column(String(64))
    events: Mapped[list | None] = mapped_column(JSON)
    findings: Mapped[list | None] = mapped_column(JSON)
    summary: Mapped[str | None] = mapped_column(Text)
    period: Mapped[str] = mapped_column(String(16), default="P1M")
    deviation_ids: Mapped[list | None] = mapped_column(JSON)
    assembled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    recorded_by: Mapped[str | None] = mapped_column(String(200))
    recorded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
