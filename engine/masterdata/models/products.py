"""Products (the finished device), BOMs and their revisions."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean, CheckConstraint, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from engine.db import Base, UTCDateTime, utcnow
from engine.masterdata.models.resources import Item
from engine.masterdata.models.revisioned import RELEASED_WHERE, STATE_CHECK, RevisionChild, RevisionMixin


def _effective_index(table: str, column: str) -> Index:
    return Index(f"uq_{table}_effective", column, unique=True,
                 sqlite_where=text(RELEASED_WHERE), postgresql_where=text(RELEASED_WHERE))


# Consumption beyond the BOM quantity allowed by default (per cent), until a line says otherwise.
DEFAULT_TOLERANCE_PCT = 5.0


class Product(Base):
    """A medical device as sold; made as ``item`` (a finished good)."""

    __tablename__ = "products"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    item: Mapped[Item] = relationship()
    revisions: Mapped[list[ProductRevision]] = relationship(back_populates="master", order_by="ProductRevision.id")


class ProductRevision(RevisionMixin, Base):
    """The regulated identity of a product revision: UDI device identifier (GS1 GTIN), class."""

    __tablename__ = "product_revisions"
    __table_args__ = (
        UniqueConstraint("product_id", "label"),
        CheckConstraint(STATE_CHECK, name="state"),
        _effective_index("product_revisions", "product_id"),
    )
    revision_kind = "product"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    gtin: Mapped[str | None] = mapped_column(String(14))  # GS1 GTIN-14, the UDI-DI
    udi_di: Mapped[str | None] = mapped_column(String(64))
    issuing_agency: Mapped[str] = mapped_column(String(16), default="GS1")
    device_class: Mapped[str] = mapped_column(String(16), default="")
    sterile: Mapped[bool] = mapped_column(Boolean, default=False)
    sterilisation_method: Mapped[str] = mapped_column(String(32), default="")
    shelf_life_months: Mapped[int | None] = mapped_column(Integer)
    registration_number: Mapped[str] = mapped_column(String(100), default="")

    master: Mapped[Product] = relationship(back_populates="revisions")


class Bom(Base):
    """The bill of materials that makes ``item`` (one BOM per made item)."""

    __tablename__ = "boms"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    item: Mapped[Item] = relationship()
    revisions: Mapped[list[BomRevision]] = relationship(back_populates="master", order_by="BomRevision.id")


class BomRevision(RevisionMixin, Base):
    """One revision of a BOM: its lines, for ``base_quantity`` of the parent item."""

    __tablename__ = "bom_revisions"
    __table_args__ = (
        UniqueConstraint("bom_id", "label"),
        CheckConstraint(STATE_CHECK, name="state"),
        _effective_index("bom_revisions", "bom_id"),
    )
    revision_kind = "bom"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bom_id: Mapped[int] = mapped_column(ForeignKey("boms.id"), index=True)
    base_quantity: Mapped[float] = mapped_column(Float, default=1.0)

    master: Mapped[Bom] = relationship(back_populates="revisions")
    lines: Mapped[list[BomLine]] = relationship(
        back_populates="revision", cascade="all, delete-orphan", order_by="BomLine.position"
    )


class BomLine(RevisionChild, Base):
    """``quantity`` ``unit`` of ``component`` per ``base_quantity`` of the parent item.

    ``tolerance_pct``: how far consumption may exceed the quantity for the lot size (set-up
    losses, purge); the shop-floor interlock refuses more.
    """

    __tablename__ = "bom_lines"
    __table_args__ = (
        UniqueConstraint("bom_revision_id", "position"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("tolerance_pct >= 0 AND tolerance_pct <= 100", name="tolerance_pct"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bom_revision_id: Mapped[int] = mapped_column(ForeignKey("bom_revisions.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    component_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    quantity: Mapped[float] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(32))
    tolerance_pct: Mapped[float] = mapped_column(Float, default=DEFAULT_TOLERANCE_PCT,
                                                 server_default=str(DEFAULT_TOLERANCE_PCT))
    reference: Mapped[str] = mapped_column(String(100), default="")
    notes: Mapped[str] = mapped_column(Text, default="")

    revision: Mapped[BomRevision] = relationship(back_populates="lines")
    component: Mapped[Item] = relationship()

    def owning_revision(self) -> BomRevision | None:
        return self.revision
