"""A delegation: who lets whom act in which roles (and processes), from when until when, and why."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from engine.db import Base, UTCDateTime, utcnow
from engine.users.models import User


class Delegation(Base):
    """``delegate`` may complete tasks of ``roles`` (in ``process_ids``, empty: any) for ``delegator``
    from ``valid_from`` until ``valid_until``; signed when created, revoked early if need be."""

    __tablename__ = "delegations"
    __table_args__ = (
        CheckConstraint("valid_until > valid_from", name="window"),
        CheckConstraint("delegator_id <> delegate_id", name="not_self"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    delegator_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    delegate_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    roles: Mapped[list] = mapped_column(JSON)
    process_ids: Mapped[list] = mapped_column(JSON)
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime)
    valid_until: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    revoke_reason: Mapped[str | None] = mapped_column(String(500))

    delegator: Mapped[User] = relationship(foreign_keys=[delegator_id])
    delegate: Mapped[User] = relationship(foreign_keys=[delegate_id])
