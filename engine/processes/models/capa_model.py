"""CAPA records and their actions."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, CheckConstraint, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from engine.db import Base, UTCDateTime, utcnow
from engine.processes.models.common import in_list
from engine.users.models import User

CAPA_SOURCES = ("deviation", "complaint", "audit_finding", "trend", "other")
CAPA_STATUSES = ("open", "planned", "implemented", "closed")
ACTION_KINDS = ("corrective", "preventive")


class Capa(Base):
    """A corrective and preventive action record from its source to closure."""

    __tablename__ = "capas"
    __table_args__ = (
        CheckConstraint(in_list("source_type", CAPA_SOURCES), name="source_type"),
        CheckConstraint(in_list("status", CAPA_STATUSES), name="status"),
        CheckConstraint("effectiveness_days > 0", name="effectiveness_days_positive"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    process_instance_id: Mapped[int | None] = mapped_column(Integer, index=True)
    source_type: Mapped[str] = mapped_column(String(16))
    source_reference: Mapped[str] = mapped_column(String(100), default="")
    deviation_id: Mapped[int | None] = mapped_column(ForeignKey("deviations.id"), index=True)
    problem_statement: Mapped[str] = mapped_column(Text)
    effectiveness_days: Mapped[int] = mapped_column(Integer, default=30)
    five_whys: Mapped[list | None] = mapped_column(JSON)
    fishbone: Mapped[dict | None] = mapped_column(JSON)
    root_cause: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="open")
    due_on: Mapped[date | None] = mapped_column(Date)
    escalations: Mapped[int] = mapped_column(Integer, default=0)
    reopened: Mapped[int] = mapped_column(Integer, default=0)
    implemented_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    effective: Mapped[bool | None] = mapped_column(Boolean)
    effectiveness_evidence: Mapped[str | None] = mapped_column(Text)
    opened_by: Mapped[str] = mapped_column(String(200))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    actions: Mapped[list[CapaAction]] = relationship(
        back_populates="capa", cascade="all, delete-orphan", order_by="CapaAction.id"
    )

    def current_actions(self) -> list[CapaAction]:
        return [a for a in self.actions if not a.superseded]

    def summary(self) -> dict:
        return {"id": self.id, "number": self.number, "status": self.status, "source_type": self.source_type,
                "source_reference": self.source_reference, "problem_statement": self.problem_statement,
                "effectiveness_days": self.effectiveness_days,
                "due_on": self.due_on.isoformat() if self.due_on else None}


class CapaAction(Base):
    """One planned action with an owner and a due date; a re-plan supersedes the previous set."""

    __tablename__ = "capa_actions"
    __table_args__ = (CheckConstraint(in_list("kind", ACTION_KINDS), name="kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    capa_id: Mapped[int] = mapped_column(ForeignKey("capas.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(Text)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    due_on: Mapped[date] = mapped_column(Date)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    evidence: Mapped[str | None] = mapped_column(Text)
    superseded: Mapped[bool] = mapped_column(Boolean, default=False)

    capa: Mapped[Capa] = relationship(back_populates="actions")
    owner: Mapped[User] = relationship()

    @property
    def owner_name(self) -> str:
        return self.owner.username if self.owner else ""

