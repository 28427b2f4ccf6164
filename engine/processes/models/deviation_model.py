"""Deviations, the lots they hold, and the disposition decided per lot."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, CheckConstraint, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from engine.db import Base, UTCDateTime, utcnow
from engine.masterdata.models import OperationParameter, RoutingOperation
from engine.production.models import Lot
from engine.processes.models.common import in_list

CLASSIFICATIONS = ("minor", "major", "critical")
DEVIATION_STATUSES = ("open", "contained", "dispositioned", "approved", "closed")
DISPOSITIONS = ("use_as_is", "rework", "scrap", "return_to_supplier")


class Deviation(Base):
    """A departure from the approved process or specification, raised by a person or a rule."""

    __tablename__ = "deviations"
    __table_args__ = (
        CheckConstraint(f"classification IS NULL OR {in_list('classification', CLASSIFICATIONS)}",
                        name="classification"),
        CheckConstraint(in_list("status", DEVIATION_STATUSES), name="status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    process_instance_id: Mapped[int | None] = mapped_column(Integer, unique=True)
    source: Mapped[str] = mapped_column(String(64))  # user, measurement, alarm source system…
    description: Mapped[str] = mapped_column(Text)
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("lots.id"), index=True)
    routing_operation_id: Mapped[int | None] = mapped_column(ForeignKey("routing_operations.id"))
    parameter_id: Mapped[int | None] = mapped_column(ForeignKey("operation_parameters.id"))
    value: Mapped[float | None] = mapped_column(Float)
    unit: Mapped[str | None] = mapped_column(String(32))
    details: Mapped[dict | None] = mapped_column(JSON)
    classification: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="open")
    triage_rationale: Mapped[str | None] = mapped_column(Text)
    investigation_summary: Mapped[str | None] = mapped_column(Text)
    root_cause: Mapped[str | None] = mapped_column(Text)
    capa_required: Mapped[bool | None] = mapped_column(Boolean)
    raised_by: Mapped[str] = mapped_column(String(200))
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    lot: Mapped[Lot | None] = relationship()
    operation: Mapped[RoutingOperation | None] = relationship()
    parameter: Mapped[OperationParameter | None] = relationship()
    lots: Mapped[list[DeviationLot]] = relationship(
        back_populates="deviation", cascade="all, delete-orphan", order_by="DeviationLot.id"
    )

    @property
    def is_open(self) -> bool:
        return self.status != "closed"

    @property
    def lot_number(self) -> str | None:
        return self.lot.lot_number if self.lot else None

    @property
    def operation_code(self) -> str | None:
        return self.operation.code if self.operation else None

    @property
    def parameter_name(self) -> str | None:
        return self.parameter.name if self.parameter else None


class LotHold(Base):
    """A hold on a lot: while any hold is active the lot is ``on_hold`` and cannot be released."""

    __tablename__ = "lot_holds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id"), index=True)
    deviation_id: Mapped[int | None] = mapped_column(ForeignKey("deviations.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    status_before: Mapped[str] = mapped_column(String(16))
    held_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    held_by: Mapped[str] = mapped_column(String(200))
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    released_by: Mapped[str | None] = mapped_column(String(200))
    release_reason: Mapped[str | None] = mapped_column(Text)

    @property
    def active(self) -> bool:
        return self.released_at is None


class DeviationLot(Base):
    """A lot affected by a deviation, with its disposition and any rework recorded against it."""

    __tablename__ = "deviation_lots"
    __table_args__ = (
        UniqueConstraint("deviation_id", "lot_id"),
        CheckConstraint(f"disposition IS NULL OR {in_list('disposition', DISPOSITIONS)}", name="disposition"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    deviation_id: Mapped[int] = mapped_column(ForeignKey("deviations.id"), index=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id"), index=True)
    hold_id: Mapped[int | None] = mapped_column(ForeignKey("lot_holds.id"))
    disposition: Mapped[str | None] = mapped_column(String(24))
    justification: Mapped[str | None] = mapped_column(Text)
    rework_instructions: Mapped[str | None] = mapped_column(Text)
    dispositioned_by: Mapped[str | None] = mapped_column(String(200))
    dispositioned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    deviation: Mapped[Deviation] = relationship(back_populates="lots")
    lot: Mapped[Lot] = relationship()
    hold: Mapped[LotHold | None] = relationship()
