"""Routings: operations in sequence, with their resources, parameters and inspection items."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean, CheckConstraint, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint, false, text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from engine.db import Base, UTCDateTime, utcnow
from engine.masterdata.models.documents import Document
from engine.masterdata.models.resources import Equipment, Item, Tooling
from engine.masterdata.models.revisioned import RELEASED_WHERE, STATE_CHECK, RevisionChild, RevisionMixin

DOCUMENT_PURPOSES = ("sop", "process_card", "work_instruction")
INSPECTION_KINDS = ("variable", "attribute")


class Routing(Base):
    """How ``item`` is made (one routing per made item)."""

    __tablename__ = "routings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    item: Mapped[Item] = relationship()
    revisions: Mapped[list[RoutingRevision]] = relationship(back_populates="master", order_by="RoutingRevision.id")


class RoutingRevision(RevisionMixin, Base):
    """One revision of a routing: its operations."""

    __tablename__ = "routing_revisions"
    __table_args__ = (
        UniqueConstraint("routing_id", "label"),
        CheckConstraint(STATE_CHECK, name="state"),
        Index("uq_routing_revisions_effective", "routing_id", unique=True,
              sqlite_where=text(RELEASED_WHERE), postgresql_where=text(RELEASED_WHERE)),
    )
    revision_kind = "routing"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    routing_id: Mapped[int] = mapped_column(ForeignKey("routings.id"), index=True)

    master: Mapped[Routing] = relationship(back_populates="revisions")
    operations: Mapped[list[RoutingOperation]] = relationship(
        back_populates="revision", cascade="all, delete-orphan", order_by="RoutingOperation.sequence"
    )


class RoutingOperation(RevisionChild, Base):
    """One step of a routing revision, at a work centre; ``qc_point`` marks an inspection gate."""

    __tablename__ = "routing_operations"
    __table_args__ = (
        UniqueConstraint("routing_revision_id", "sequence"),
        CheckConstraint("setup_minutes >= 0 AND run_minutes_per_unit >= 0", name="standard_time"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    routing_revision_id: Mapped[int] = mapped_column(ForeignKey("routing_revisions.id"), index=True)
    sequence: Mapped[int] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    work_centre: Mapped[str] = mapped_column(String(64), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    qc_point: Mapped[bool] = mapped_column(Boolean, default=False)
    # Standard time: a set-up per lot plus a run time per unit of the lot's quantity (planning).
    setup_minutes: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")
    run_minutes_per_unit: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")

    revision: Mapped[RoutingRevision] = relationship(back_populates="operations")
    equipment_links: Mapped[list[OperationEquipment]] = relationship(
        back_populates="operation", cascade="all, delete-orphan"
    )
    tooling_links: Mapped[list[OperationTooling]] = relationship(
        back_populates="operation", cascade="all, delete-orphan"
    )
    document_links: Mapped[list[OperationDocument]] = relationship(
        back_populates="operation", cascade="all, delete-orphan"
    )
    parameters: Mapped[list[OperationParameter]] = relationship(
        back_populates="operation", cascade="all, delete-orphan", order_by="OperationParameter.id"
    )
    inspection_items: Mapped[list[InspectionItem]] = relationship(
        back_populates="operation", cascade="all, delete-orphan", order_by="InspectionItem.id"
    )

    def owning_revision(self) -> RoutingRevision | None:
        return self.revision

    @property
    def equipment(self) -> list[Equipment]:
        return [link.equipment for link in self.equipment_links]

    @property
    def tooling(self) -> list[Tooling]:
        return [link.tooling for link in self.tooling_links]

    @property
    def documents(self) -> list[Document]:
        return [link.document for link in self.document_links]


class _OperationChild(RevisionChild):
    operation: RoutingOperation

    def owning_revision(self) -> RoutingRevision | None:
        return self.operation.revision if self.operation is not None else None


class OperationEquipment(_OperationChild, Base):
    """Equipment an operation runs on."""

    __tablename__ = "operation_equipment"

    operation_id: Mapped[int] = mapped_column(ForeignKey("routing_operations.id"), primary_key=True)
    equipment_id: Mapped[int] = mapped_column(ForeignKey("equipment.id"), primary_key=True)

    operation: Mapped[RoutingOperation] = relationship(back_populates="equipment_links")
    equipment: Mapped[Equipment] = relationship()


class OperationTooling(_OperationChild, Base):
    """Tooling an operation uses."""

    __tablename__ = "operation_tooling"

    operation_id: Mapped[int] = mapped_column(ForeignKey("routing_operations.id"), primary_key=True)
    tooling_id: Mapped[int] = mapped_column(ForeignKey("tooling.id"), primary_key=True)

    operation: Mapped[RoutingOperation] = relationship(back_populates="tooling_links")
    tooling: Mapped[Tooling] = relationship()


class OperationDocument(_OperationChild, Base):
    """An SOP or process card an operation follows; the effective revision applies at lot start."""

    __tablename__ = "operation_documents"
    __table_args__ = (
        CheckConstraint(f"purpose IN ({', '.join(repr(p) for p in DOCUMENT_PURPOSES)})", name="purpose"),
    )

    operation_id: Mapped[int] = mapped_column(ForeignKey("routing_operations.id"), primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(32), default="sop")

    operation: Mapped[RoutingOperation] = relationship(back_populates="document_links")
    document: Mapped[Document] = relationship()


class OperationParameter(_OperationChild, Base):
    """A process parameter with target, specification limits (LSL/USL) and optional control limits."""

    __tablename__ = "operation_parameters"
    __table_args__ = (UniqueConstraint("operation_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    operation_id: Mapped[int] = mapped_column(ForeignKey("routing_operations.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    unit: Mapped[str] = mapped_column(String(32))
    target: Mapped[float | None] = mapped_column(Float)
    lsl: Mapped[float | None] = mapped_column(Float)
    usl: Mapped[float | None] = mapped_column(Float)
    lcl: Mapped[float | None] = mapped_column(Float)
    ucl: Mapped[float | None] = mapped_column(Float)
    critical: Mapped[bool] = mapped_column(Boolean, default=False)

    operation: Mapped[RoutingOperation] = relationship(back_populates="parameters")

    def in_spec(self, value: float) -> bool:
        """True when ``value`` (in this parameter's unit) lies within LSL..USL."""
        return (self.lsl is None or value >= self.lsl) and (self.usl is None or value <= self.usl)

    def in_control(self, value: float) -> bool:
        return (self.lcl is None or value >= self.lcl) and (self.ucl is None or value <= self.ucl)


class InspectionItem(_OperationChild, Base):
    """What QC checks at an operation: method, sample size, acceptance criteria."""

    __tablename__ = "inspection_items"
    __table_args__ = (
        UniqueConstraint("operation_id", "name"),
        CheckConstraint(f"kind IN ({', '.join(repr(k) for k in INSPECTION_KINDS)})", name="kind"),
        CheckConstraint("sample_size > 0", name="sample_size_positive"),
        CheckConstraint("inspection_level IN ('S-1', 'S-2', 'S-3', 'S-4', 'I', 'II', 'III')",
                        name="inspection_level"),
        CheckConstraint("(aql IS NULL) = (inspection_level IS NULL)", name="aql_with_level"),
        CheckConstraint("aql IS NOT NULL OR NOT reduced_inspection_approved", name="reduced_with_aql"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    operation_id: Mapped[int] = mapped_column(ForeignKey("routing_operations.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16), default="attribute")
    method: Mapped[str] = mapped_column(Text)
    sample_size: Mapped[int] = mapped_column(Integer)
    acceptance_criteria: Mapped[str] = mapped_column(Text)
    accept_number: Mapped[int | None] = mapped_column(Integer)  # max defects accepted (attribute)
    unit: Mapped[str | None] = mapped_column(String(32))
    lsl: Mapped[float | None] = mapped_column(Float)
    usl: Mapped[float | None] = mapped_column(Float)
    # ISO 2859-1 sampling (engine.masterdata.sampling): with both set, the sample size and Ac/Re
    # come from the lot size, not from sample_size/accept_number.
    inspection_level: Mapped[str | None] = mapped_column(String(4))
    aql: Mapped[float | None] = mapped_column(Float)
    # ISO 2859-1 9.3.3: the responsible authority considers reduced inspection desirable and
    # production steady; with a switching score of 30 the next lot is inspected reduced.
    reduced_inspection_approved: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    operation: Mapped[RoutingOperation] = relationship(back_populates="inspection_items")
