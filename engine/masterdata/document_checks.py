"""The rules of a document revision: a title, a body or a file, and no withdrawal while in use."""
from __future__ import annotations

import hashlib

from sqlalchemy.orm import Session

from engine.errors import RevisionRuleViolation, ValidationFailed
from engine.masterdata.models import DocumentRevision
from engine.masterdata.routings import effective_operations_using_document


def check_fields(rev: DocumentRevision) -> None:
    """Field-level checks of a document draft; records the SHA-256 of an attached file."""
    if rev.title is not None and not rev.title.strip():
        raise ValidationFailed(f"{rev.describe()}: title is required", field="title", obj=rev.describe())
    if rev.file_content is not None:
        rev.file_sha256 = hashlib.sha256(rev.file_content).hexdigest()


def check_ready(session: Session, rev: DocumentRevision) -> None:
    """What must hold before a document revision is reviewed or released: a text body or a file."""
    if not (rev.body or "").strip() and rev.file_content is None:
        raise ValidationFailed(f"{rev.describe()}: a document needs a text body or a file", field="body",
                               obj=rev.describe())


def check_can_withdraw(session: Session, rev: DocumentRevision) -> None:
    """Refuse withdrawing a document still referenced by an effective routing."""
    users = effective_operations_using_document(session, rev.master)
    if users:
        names = ", ".join(f"{op.revision.describe()} op {op.sequence}" for op in users)
        raise RevisionRuleViolation(f"{rev.describe()} is referenced by {names}; release routings "
                                    "without it first", field="state", obj=rev.describe())
