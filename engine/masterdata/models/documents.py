"""Controlled documents (SOPs, process cards, specifications) and their revisions."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from engine.db import Base, UTCDateTime, utcnow
from engine.masterdata.models.revisioned import RELEASED_WHERE, STATE_CHECK, RevisionMixin

DOCUMENT_TYPES = ("sop", "process_card", "work_instruction", "specification", "form")


class Document(Base):
    """A controlled document; its content lives in its revisions."""

    __tablename__ = "documents"
    __table_args__ = (
        CheckConstraint(f"doc_type IN ({', '.join(repr(t) for t in DOCUMENT_TYPES)})", name="doc_type"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    doc_type: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    revisions: Mapped[list[DocumentRevision]] = relationship(
        back_populates="master", order_by="DocumentRevision.id"
    )

    @property
    def name(self) -> str:
        return self.title


class DocumentRevision(RevisionMixin, Base):
    """One revision of a document: a text body and/or an attached file."""

    __tablename__ = "document_revisions"
    __table_args__ = (
        UniqueConstraint("document_id", "label"),
        CheckConstraint(STATE_CHECK, name="state"),
        Index("uq_document_revisions_effective", "document_id", unique=True,
              sqlite_where=text(RELEASED_WHERE), postgresql_where=text(RELEASED_WHERE)),
    )
    revision_kind = "document"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    file_name: Mapped[str | None] = mapped_column(String(255))
    file_type: Mapped[str | None] = mapped_column(String(100))
    file_sha256: Mapped[str | None] = mapped_column(String(64))
    file_content: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)

    master: Mapped[Document] = relationship(back_populates="revisions")
