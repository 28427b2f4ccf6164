"""Production records: lots, genealogy, operation executions, measurements, inspections, equipment logs.

Measurements and inspection results are never edited: a correction is a new row that
``supersedes`` the old one and gives a reason (the old value stays visible, ALCOA+).
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON, CheckConstraint, Date, Float, ForeignKey, Integer, String, Text, UniqueConstraint,
)
from sqlalchemy import event
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from engine.db import Base, UTCDateTime, utcnow
from engine.errors import RevisionRuleViolation
from engine.masterdata.models import (
    BomLine, BomRevision, Equipment, InspectionItem, Item, OperationParameter, Product, ProductRevision,
    RoutingOperation, RoutingRevision, Tooling,
)

LOT_STATUSES = ("planned", "in_process", "on_hold", "completed", "released", "rejected")
LOT_SOURCES = ("made", "purchased")
EQUIPMENT_LOG_KINDS = ("maintenance", "calibration", "breakdown", "repair")
MEASUREMENT_SOURCES = ("manual", "api", "import")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class SupplierLot(Base):
    """A supplier's lot of purchased material as received (supplier's own lot number, CoA)."""

    __tablename__ = "supplier_lots"
    __table_args__ = (UniqueConstraint("supplier", "supplier_lot_number", "item_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    supplier: Mapped[str] = mapped_column(String(200))
    supplier_lot_number: Mapped[str] = mapped_column(String(100))
    received_on: Mapped[date] = mapped_column(Date)
    quantity_received: Mapped[float] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(32))
    certificate_ref: Mapped[str] = mapped_column(String(200), default="")
    expires_on: Mapped[date | None] = mapped_column(Date)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    item: Mapped[Item] = relationship()


class Lot(Base):
    """A lot (batch) of an item. Finished-device lots pin the master data in effect at start.

    ``manifest`` lists every master-data revision that applied (product, BOM tree, routing,
    documents) and ``manifest_sha256`` hashes its RFC 8785 canonical form: two lots made to
    the same specification have the same hash.
    """

    __tablename__ = "lots"
    __table_args__ = (
        CheckConstraint(_in("status", LOT_STATUSES), name="status"),
        CheckConstraint(_in("source", LOT_SOURCES), name="source"),
        CheckConstraint("quantity_approved <= quantity_made", name="approved_le_made"),
        CheckConstraint("quantity_made >= 0 AND quantity_approved >= 0", name="quantities_non_negative"),
        CheckConstraint("priority >= 1 AND priority <= 5", name="priority"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lot_number: Mapped[str] = mapped_column(String(64), unique=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    source: Mapped[str] = mapped_column(String(16), default="made")
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"), index=True)
    product_revision_id: Mapped[int | None] = mapped_column(ForeignKey("product_revisions.id"))
    bom_revision_id: Mapped[int | None] = mapped_column(ForeignKey("bom_revisions.id"))
    routing_revision_id: Mapped[int | None] = mapped_column(ForeignKey("routing_revisions.id"))
    supplier_lot_id: Mapped[int | None] = mapped_column(ForeignKey("supplier_lots.id"), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="planned")
    unit: Mapped[str] = mapped_column(String(32))
    quantity_planned: Mapped[float] = mapped_column(Float, default=0.0)
    quantity_made: Mapped[float] = mapped_column(Float, default=0.0)
    quantity_approved: Mapped[float] = mapped_column(Float, default=0.0)
    manifest: Mapped[dict | None] = mapped_column(JSON)
    manifest_sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    expires_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    dispositioned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    notes: Mapped[str] = mapped_column(Text, default="")
    # What the production plan works to (engine.planning.targets.set_lot_target): 1 is the most urgent.
    due_on: Mapped[date | None] = mapped_column(Date)
    priority: Mapped[int] = mapped_column(Integer, default=3, server_default="3")

    item: Mapped[Item] = relationship()
    product: Mapped[Product | None] = relationship()
    product_revision: Mapped[ProductRevision | None] = relationship()
    bom_revision: Mapped[BomRevision | None] = relationship()
    routing_revision: Mapped[RoutingRevision | None] = relationship()
    supplier_lot: Mapped[SupplierLot | None] = relationship()
    consumptions: Mapped[list[MaterialConsumption]] = relationship(
        back_populates="parent_lot", foreign_keys="MaterialConsumption.parent_lot_id",
        order_by="MaterialConsumption.id",
    )
    executions: Mapped[list[OperationExecution]] = relationship(
        back_populates="lot", order_by="OperationExecution.id"
    )

    def __repr__(self) -> str:
        return f"<Lot {self.lot_number} {self.status}>"


class MaterialConsumption(Base):
    """``quantity`` ``unit`` of ``component_lot`` went into ``parent_lot`` (genealogy)."""

    __tablename__ = "material_consumptions"
    __table_args__ = (
        CheckConstraint("parent_lot_id <> component_lot_id", name="not_self"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    parent_lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id"), index=True)
    component_lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id"), index=True)
    bom_line_id: Mapped[int | None] = mapped_column(ForeignKey("bom_lines.id"))
    quantity: Mapped[float] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(32))
    consumed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    parent_lot: Mapped[Lot] = relationship(back_populates="consumptions", foreign_keys=[parent_lot_id])
    component_lot: Mapped[Lot] = relationship(foreign_keys=[component_lot_id])
    bom_line: Mapped[BomLine | None] = relationship()


class OperationExecution(Base):
    """A routing operation performed on a lot: who, on which equipment and tooling, when."""

    __tablename__ = "operation_executions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id"), index=True)
    routing_operation_id: Mapped[int] = mapped_column(ForeignKey("routing_operations.id"), index=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    equipment_id: Mapped[int | None] = mapped_column(ForeignKey("equipment.id"))
    tooling_id: Mapped[int | None] = mapped_column(ForeignKey("tooling.id"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    quantity_good: Mapped[float | None] = mapped_column(Float)
    quantity_scrap: Mapped[float | None] = mapped_column(Float)
    notes: Mapped[str] = mapped_column(Text, default="")
    # A paper record of work already done, transcribed: the live interlocks did not apply to it.
    transcribed_from: Mapped[str | None] = mapped_column(String(200))

    lot: Mapped[Lot] = relationship(back_populates="executions")
    operation: Mapped[RoutingOperation] = relationship()
    operator: Mapped["User"] = relationship()  # noqa: F821
    equipment: Mapped[Equipment | None] = relationship()
    tooling: Mapped[Tooling | None] = relationship()


class ParameterMeasurement(Base):
    """A measured process-parameter value; corrections supersede, never overwrite."""

    __tablename__ = "parameter_measurements"
    __table_args__ = (CheckConstraint(_in("source", MEASUREMENT_SOURCES), name="source"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id"), index=True)
    parameter_id: Mapped[int] = mapped_column(ForeignKey("operation_parameters.id"), index=True)
    execution_id: Mapped[int | None] = mapped_column(ForeignKey("operation_executions.id"))
    value: Mapped[float] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(32))
    in_spec: Mapped[bool | None] = mapped_column()
    measured_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    source: Mapped[str] = mapped_column(String(16), default="manual")
    equipment_id: Mapped[int | None] = mapped_column(ForeignKey("equipment.id"))
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("parameter_measurements.id"), unique=True)
    correction_reason: Mapped[str | None] = mapped_column(Text)

    lot: Mapped[Lot] = relationship()
    parameter: Mapped[OperationParameter] = relationship()
    supersedes: Mapped[ParameterMeasurement | None] = relationship(remote_side=[id])


class InspectionResult(Base):
    """The outcome of an inspection item on a lot; corrections supersede, never overwrite."""

    __tablename__ = "inspection_results"
    __table_args__ = (CheckConstraint("result IN ('pass', 'fail')", name="result"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id"), index=True)
    inspection_item_id: Mapped[int] = mapped_column(ForeignKey("inspection_items.id"), index=True)
    sample_size: Mapped[int] = mapped_column(Integer)
    defects_found: Mapped[int] = mapped_column(Integer, default=0)
    measured_value: Mapped[float | None] = mapped_column(Float)
    unit: Mapped[str | None] = mapped_column(String(32))
    result: Mapped[str] = mapped_column(String(8))
    notes: Mapped[str] = mapped_column(Text, default="")
    # The ISO 2859-1 plan the result was judged by (engine.masterdata.sampling.SamplingPlan), if any,
    # with why its severity applied (engine.masterdata.switching.Switching: reason, switching score).
    sampling_plan: Mapped[dict | None] = mapped_column(JSON)
    inspected_at: Mapped[datetime] = mapped_column(UTCDateTime)
    inspector_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("inspection_results.id"), unique=True)
    correction_reason: Mapped[str | None] = mapped_column(Text)

    lot: Mapped[Lot] = relationship()
    inspection_item: Mapped[InspectionItem] = relationship()
    supersedes: Mapped[InspectionResult | None] = relationship(remote_side=[id])


class EquipmentLog(Base):
    """Maintenance, calibration, breakdown or repair of a piece of equipment."""

    __tablename__ = "equipment_logs"
    __table_args__ = (
        CheckConstraint(_in("kind", EQUIPMENT_LOG_KINDS), name="kind"),
        CheckConstraint("result IN ('pass', 'fail', 'n/a')", name="result"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    equipment_id: Mapped[int] = mapped_column(ForeignKey("equipment.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    performed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    performed_by: Mapped[str] = mapped_column(String(200))
    result: Mapped[str] = mapped_column(String(8), default="n/a")
    certificate_ref: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    equipment: Mapped[Equipment] = relationship(back_populates="logs")


APPEND_ONLY = (ParameterMeasurement, InspectionResult, EquipmentLog)


class LotSerial(Base):
    """A serial number (GS1 AI 21) given to one unit of a finished lot; scanned when packed.

    Serials are unique per item (the GTIN's device), never reused; a unit's serial and its lot
    form the UDI production identifier (10)+(21)."""

    __tablename__ = "lot_serials"
    __table_args__ = (UniqueConstraint("item_id", "serial"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    serial: Mapped[str] = mapped_column(String(20))
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    assigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    packed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    packed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    lot: Mapped[Lot] = relationship()


class ComponentSerial(Base):
    """A serial (GS1 AI 21) of one unit of a serialised component, received with its lot, and the
    finished unit (``unit_serial``) it was fitted into at assembly — once, never moved."""

    __tablename__ = "component_serials"
    __table_args__ = (UniqueConstraint("item_id", "serial"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    serial: Mapped[str] = mapped_column(String(20))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    received_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    unit_serial_id: Mapped[int | None] = mapped_column(ForeignKey("lot_serials.id"), index=True)
    fitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    fitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    lot: Mapped[Lot] = relationship()
    item: Mapped[Item] = relationship()
    unit_serial: Mapped[LotSerial | None] = relationship()


@event.listens_for(Session, "before_flush")
def _guard_append_only(session: Session, _ctx, _instances) -> None:
    """Measurements, inspection results and equipment logs are never edited nor deleted."""
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, APPEND_ONLY) and (obj in session.deleted or session.is_modified(obj)):
            verb = "deleted" if obj in session.deleted else "edited"
            raise RevisionRuleViolation(
                f"{type(obj).__tablename__} id={obj.id} cannot be {verb}: record a correction that supersedes it",
                field="id", obj=f"{type(obj).__tablename__}:{obj.id}",
            )
