"""Change requests (ECO) and the draft revisions each one releases."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from engine.db import Base, UTCDateTime, utcnow
from engine.processes.models.common import in_list

CHANGE_STATUSES = ("submitted", "assessed", "rejected", "approved", "implemented", "closed", "withdrawn")
URGENCIES = ("routine", "urgent", "emergency")
REVISION_KINDS = ("product", "bom", "routing", "document")


class ChangeRequest(Base):
    """One engineering change: what changes and why, its computed impact, risk and outcome."""

    __tablename__ = "change_requests"
    __table_args__ = (
        CheckConstraint(in_list("status", CHANGE_STATUSES), name="status"),
        CheckConstraint(in_list("urgency", URGENCIES), name="urgency"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    process_instance_id: Mapped[int | None] = mapped_column(Integer, unique=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    urgency: Mapped[str] = mapped_column(String(16), default="routine")
    status: Mapped[str] = mapped_column(String(16), default="submitted")
    changed_objects: Mapped[list] = mapped_column(JSON, default=list)
    impact: Mapped[dict | None] = mapped_column(JSON)
    flags: Mapped[dict | None] = mapped_column(JSON)
    risk_level: Mapped[str | None] = mapped_column(String(16))
    risk_assessment: Mapped[str | None] = mapped_column(Text)
    validation_required: Mapped[bool | None] = mapped_column(Boolean)
    validation_plan: Mapped[str | None] = mapped_column(Text)
    regulatory_notification_required: Mapped[bool | None] = mapped_column(Boolean)
    effective_from: Mapped[datetime | None] = mapped_column(UTCDateTime)
    requested_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    implemented_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rejections: Mapped[int] = mapped_column(Integer, default=0)
    verification_result: Mapped[str | None] = mapped_column(String(16))
    verification_notes: Mapped[str | None] = mapped_column(Text)

    revisions: Mapped[list[ChangeRevision]] = relationship(
        back_populates="change", cascade="all, delete-orphan", order_by="ChangeRevision.id"
    )

    def summary(self) -> dict:
        """What forms and the inbox show about this change."""
        return {
            "id": self.id, "number": self.number, "title": self.title, "status": self.status,
            "urgency": self.urgency, "reason": self.reason,
            "revisions": [r.summary() for r in self.revisions],
            "changed_objects": self.changed_objects or [],
            "impact": self.impact, "flags": self.flags,
            "effective_from": self.effective_from.date().isoformat() if self.effective_from else None,
        }


class ChangeRevision(Base):
    """A draft revision (product, BOM, routing or document) the change will release."""

    __tablename__ = "change_revisions"
    __table_args__ = (
        CheckConstraint(in_list("kind", REVISION_KINDS), name="kind"),
        UniqueConstraint("change_request_id", "kind", "revision_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    change_request_id: Mapped[int] = mapped_column(ForeignKey("change_requests.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    revision_id: Mapped[int] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(16))
    replaces_label: Mapped[str | None] = mapped_column(String(16))
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    change: Mapped[ChangeRequest] = relationship(back_populates="revisions")

    def summary(self) -> dict:
        return {"kind": self.kind, "code": self.code, "label": self.label, "revision_id": self.revision_id,
                "replaces": self.replaces_label,
                "released_at": self.released_at.isoformat() if self.released_at else None}


class ChangeDeployment(Base):
    """A process diagram proposed for deployment through change control (#14): the exact reviewed
    content (form versions pinned) the change's implementation deploys, hash checked."""

    __tablename__ = "change_deployments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    process_instance_id: Mapped[int] = mapped_column(Integer, unique=True)  # the change-control instance
    process_id: Mapped[str] = mapped_column(String(200))
    file_name: Mapped[str] = mapped_column(String(300))
    bpmn_xml: Mapped[str] = mapped_column(Text)
    content_sha256: Mapped[str] = mapped_column(String(64))
    comment: Mapped[str] = mapped_column(Text)
    proposed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    proposed_by_id: Mapped[str] = mapped_column(String(200))
    proposed_by_name: Mapped[str] = mapped_column(String(200))
    process_version_id: Mapped[int | None] = mapped_column(ForeignKey("wf_process_version.id"))
    deployed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def summary(self) -> dict:
        return {"process_id": self.process_id, "content_sha256": self.content_sha256, "comment": self.comment,
                "proposed_by": self.proposed_by_name, "process_version_id": self.process_version_id}
