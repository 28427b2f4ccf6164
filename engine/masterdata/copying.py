"""Copying a revision's content into a new draft (deep copy of its child rows)."""
from __future__ import annotations

from sqlalchemy.orm import Session

from engine.masterdata.models import (
    BomLine, BomRevision, InspectionItem, OperationDocument, OperationEquipment, OperationParameter,
    OperationTooling, RevisionMixin, RoutingOperation, RoutingRevision,
)
from engine.snapshot import row_values

_LIFECYCLE = {"id", "label", "state", "change_summary", "change_ref", "effective_from", "created_at",
              "created_by_id", "submitted_at", "submitted_by_id", "released_at", "released_by_id",
              "obsoleted_at", "obsoleted_by_id"}


def _content(obj, *skip: str) -> dict:
    values = row_values(obj, exclude=tuple(skip))
    values.pop("file_sha256", None)
    return values


def copy_content(session: Session, src: RevisionMixin, dst: RevisionMixin) -> None:
    """Copy ``src``'s content columns and child rows into the draft ``dst``."""
    fk = next(iter(type(src).master.property.local_columns)).key
    for key, value in _content(src, *_LIFECYCLE, fk).items():
        setattr(dst, key, value)
    if hasattr(src, "file_content"):
        dst.file_content = src.file_content
        dst.file_sha256 = src.file_sha256
    if isinstance(src, BomRevision):
        for line in src.lines:
            dst.lines.append(BomLine(**_content(line, "id", "bom_revision_id")))
    elif isinstance(src, RoutingRevision):
        for op in src.operations:
            dst.operations.append(copy_operation(op))


def copy_operation(op: RoutingOperation) -> RoutingOperation:
    new = RoutingOperation(**_content(op, "id", "routing_revision_id"))
    new.equipment_links = [OperationEquipment(equipment=link.equipment) for link in op.equipment_links]
    new.tooling_links = [OperationTooling(tooling=link.tooling) for link in op.tooling_links]
    new.document_links = [OperationDocument(document=link.document, purpose=link.purpose)
                          for link in op.document_links]
    new.parameters = [OperationParameter(**_content(p, "id", "operation_id")) for p in op.parameters]
    new.inspection_items = [InspectionItem(**_content(i, "id", "operation_id")) for i in op.inspection_items]
    return new
