"""Sharing profiles as released records (#18): one row per revision of a profile, its TOML text
and SHA-256, released only through change control like master data."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base, UTCDateTime, utcnow

PROFILE_STATUSES = ("draft", "in_review", "released", "superseded")
_RELEASED = "status = 'released'"
_OPEN = "status IN ('draft', 'in_review')"


class ShareProfileRevision(Base):
    """One revision of a sharing profile. Only a draft's content changes; a released revision is
    superseded by the next one released (never edited), so a package can name the one it used."""

    __tablename__ = "share_profile_revisions"
    __table_args__ = (
        CheckConstraint("status IN ('draft', 'in_review', 'released', 'superseded')", name="status"),
        UniqueConstraint("name", "revision"),
        # One released and at most one open (draft or in review) revision per profile.
        Index("uq_share_profile_revisions_released", "name", unique=True,
              sqlite_where=text(_RELEASED), postgresql_where=text(_RELEASED)),
        Index("uq_share_profile_revisions_open", "name", unique=True,
              sqlite_where=text(_OPEN), postgresql_where=text(_OPEN)),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(40))
    revision: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    content: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="draft")
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[str] = mapped_column(String(200))
    created_by_name: Mapped[str] = mapped_column(String(200))
    process_instance_id: Mapped[int | None] = mapped_column(Integer, index=True)  # its change-control instance
    change_ref: Mapped[str | None] = mapped_column(String(32))
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    released_by_id: Mapped[str | None] = mapped_column(String(200))
    released_by_name: Mapped[str | None] = mapped_column(String(200))
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def describe(self) -> str:
        return f"sharing profile {self.name} rev {self.revision}"

    def summary(self) -> dict:
        return {"name": self.name, "revision": self.revision, "status": self.status, "sha256": self.sha256,
                "change_ref": self.change_ref}
