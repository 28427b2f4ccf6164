"""Planning records: work-centre shifts, and versioned production plans (draft → released → superseded).

A plan is computed once and never edited: re-planning makes a new version. Releasing a version is
signed (Part 11) and supersedes the version released before it.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint, Date, Float, ForeignKey, Integer, String, Text, UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from engine.db import Base, UTCDateTime, utcnow
from engine.masterdata.models import Equipment, RoutingOperation
from engine.production.models import Lot
from engine.users.models import User

PLAN_STATES = ("draft", "released", "superseded")


class WorkCentreShift(Base):
    """A work centre is open on ``weekday`` (0 = Monday) from ``starts_minute`` to ``ends_minute``
    (minutes after midnight in ``timezone``; ``ends_minute`` up to 1440) with ``capacity`` parallel stations.

    Shifts are planning parameters, not regulated records: replaced as a whole per work centre
    (``calendars.set_shifts``), every change audited."""

    __tablename__ = "work_centre_shifts"
    __table_args__ = (
        UniqueConstraint("work_centre", "weekday", "starts_minute"),
        CheckConstraint("weekday >= 0 AND weekday <= 6", name="weekday"),
        CheckConstraint("starts_minute >= 0 AND ends_minute <= 1440 AND starts_minute < ends_minute",
                        name="minutes"),
        CheckConstraint("capacity >= 1", name="capacity"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    work_centre: Mapped[str] = mapped_column(String(64), index=True)
    weekday: Mapped[int] = mapped_column(Integer)
    starts_minute: Mapped[int] = mapped_column(Integer)
    ends_minute: Mapped[int] = mapped_column(Integer)
    capacity: Mapped[int] = mapped_column(Integer, default=1)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")  # IANA name: where the clock hangs
    name: Mapped[str] = mapped_column(String(64), default="")


class ProductionPlan(Base):
    """One version of the production plan for a horizon, with the solver's figures."""

    __tablename__ = "production_plans"
    __table_args__ = (CheckConstraint(f"state IN ({', '.join(repr(s) for s in PLAN_STATES)})", name="state"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, unique=True)
    state: Mapped[str] = mapped_column(String(16), default="draft")
    horizon_start: Mapped[datetime] = mapped_column(UTCDateTime)
    horizon_days: Mapped[int] = mapped_column(Integer)
    timezone: Mapped[str] = mapped_column(String(64))
    solver_status: Mapped[str] = mapped_column(String(16))
    objective: Mapped[float | None] = mapped_column(Float)
    best_bound: Mapped[float | None] = mapped_column(Float)
    gap: Mapped[float | None] = mapped_column(Float)
    wall_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    total_lateness_minutes: Mapped[int] = mapped_column(Integer, default=0)
    makespan_minutes: Mapped[int] = mapped_column(Integer, default=0)
    inputs_sha256: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    released_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    operations: Mapped[list[PlannedOperation]] = relationship(
        back_populates="plan", order_by="PlannedOperation.starts_at")
    blockers: Mapped[list[PlanBlocker]] = relationship(back_populates="plan", order_by="PlanBlocker.id")
    released_by: Mapped[User | None] = relationship(foreign_keys=[released_by_id])

    def describe(self) -> str:
        return f"plan v{self.version}"


class PlannedOperation(Base):
    """An operation of a lot placed on a work centre, equipment and operator from ``starts_at`` to ``ends_at``."""

    __tablename__ = "planned_operations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("production_plans.id"), index=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id"), index=True)
    routing_operation_id: Mapped[int] = mapped_column(ForeignKey("routing_operations.id"))
    work_centre: Mapped[str] = mapped_column(String(64))
    equipment_id: Mapped[int | None] = mapped_column(ForeignKey("equipment.id"))
    operator_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_on: Mapped[date | None] = mapped_column(Date)
    lateness_minutes: Mapped[int] = mapped_column(Integer, default=0)

    plan: Mapped[ProductionPlan] = relationship(back_populates="operations")
    lot: Mapped[Lot] = relationship()
    operation: Mapped[RoutingOperation] = relationship()
    equipment: Mapped[Equipment | None] = relationship()
    operator: Mapped[User | None] = relationship()


class PlanBlocker(Base):
    """Why a planned lot could not be placed in a plan (one row per reason)."""

    __tablename__ = "plan_blockers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("production_plans.id"), index=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    field: Mapped[str] = mapped_column(String(32))
    record: Mapped[str] = mapped_column(String(200))
    message: Mapped[str] = mapped_column(Text)

    plan: Mapped[ProductionPlan] = relationship(back_populates="blockers")
    lot: Mapped[Lot] = relationship()
