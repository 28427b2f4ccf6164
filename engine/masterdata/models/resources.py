"""Items (materials), equipment and tooling: master data that is not revisioned but audited."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Integer, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from engine.db import Base, UTCDateTime, utcnow

ITEM_TYPES = ("raw_material", "component", "subassembly", "packaging", "finished_good")
EQUIPMENT_STATUSES = ("active", "out_of_service", "obsolete")
TOOLING_STATUSES = ("active", "out_of_service", "obsolete")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Item(Base):
    """A material, component, subassembly or finished good; quantities are in ``base_unit``."""

    __tablename__ = "items"
    __table_args__ = (CheckConstraint(_in("item_type", ITEM_TYPES), name="item_type"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    item_type: Mapped[str] = mapped_column(String(32))
    base_unit: Mapped[str] = mapped_column(String(32))
    purchased: Mapped[bool] = mapped_column(Boolean, default=False)
    specification: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # A component's own GTIN (its maker's) and whether each unit of it carries a serial (GS1 AI 21)
    # that is recorded per finished unit it goes into (engine.trace.component_serials, #18).
    gtin: Mapped[str | None] = mapped_column(String(14), unique=True)
    serialised: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    def __repr__(self) -> str:
        return f"<Item {self.code}>"


class Equipment(Base):
    """A machine or instrument with its calibration and maintenance plan."""

    __tablename__ = "equipment"
    __table_args__ = (CheckConstraint(_in("status", EQUIPMENT_STATUSES), name="status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    equipment_type: Mapped[str] = mapped_column(String(64), default="")
    work_centre: Mapped[str] = mapped_column(String(64), default="")
    manufacturer: Mapped[str] = mapped_column(String(200), default="")
    serial_number: Mapped[str] = mapped_column(String(100), default="")
    status: Mapped[str] = mapped_column(String(16), default="active")
    calibration_required: Mapped[bool] = mapped_column(Boolean, default=False)
    calibration_interval_days: Mapped[int | None] = mapped_column(Integer)
    last_calibrated_on: Mapped[date | None] = mapped_column(Date)
    calibration_due_on: Mapped[date | None] = mapped_column(Date)
    maintenance_interval_days: Mapped[int | None] = mapped_column(Integer)
    last_maintained_on: Mapped[date | None] = mapped_column(Date)
    maintenance_due_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    logs: Mapped[list["EquipmentLog"]] = relationship(  # noqa: F821
        back_populates="equipment", order_by="EquipmentLog.performed_at"
    )

    def calibration_overdue(self, today: date) -> bool:
        """True when calibration is required and its due date has passed."""
        return bool(self.calibration_required and self.calibration_due_on and self.calibration_due_on < today)

    def maintenance_overdue(self, today: date) -> bool:
        return bool(self.maintenance_due_on and self.maintenance_due_on < today)

    def usable_on(self, today: date) -> bool:
        """Active and within its calibration and maintenance dates."""
        return self.status == "active" and not self.calibration_overdue(today) and not self.maintenance_overdue(today)

    def __repr__(self) -> str:
        return f"<Equipment {self.code} {self.status}>"


class Tooling(Base):
    """A tool, mould, die or fixture, with its life in cycles."""

    __tablename__ = "tooling"
    __table_args__ = (CheckConstraint(_in("status", TOOLING_STATUSES), name="status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    tooling_type: Mapped[str] = mapped_column(String(64), default="")
    status: Mapped[str] = mapped_column(String(16), default="active")
    life_cycles: Mapped[int | None] = mapped_column(Integer)
    cycles_used: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<Tooling {self.code} {self.status}>"
