"""The rules of a document revision: a title, a body or a file, and no withdrawal while in use."""
from __future__ import annotations

import hashlib
import io

from pypdf import PdfReader

from sqlalchemy.orm import Session

from engine.errors import RevisionRuleViolation, ValidationFailed
from engine.masterdata.models import DocumentRevision
from engine.masterdata.routings import effective_operations_using_document


def check_fields(rev: DocumentRevision) -> None:
    """Field-level checks of a document draft; records the SHA-256 of an attached file."""
    if rev.title is not None and not rev.title.strip():
        raise ValidationFailed(f"{rev.describe()}: title is required", field="title", obj=rev.describe())
    content = rev.file_content
    rev.file_sha256 = hashlib.sha256(content).hexdigest() if content is not None else None


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


# An attached file: a PDF (it must open as one) or a Markdown text (UTF-8). Larger files are refused.
MAX_FILE_BYTES = 10 * 1024 * 1024
FILE_TYPES = {".pdf": "application/pdf", ".md": "text/markdown", ".markdown": "text/markdown"}


def check_file(file_name: str, content: bytes) -> str:
    """The media type of an uploaded document file, or ValidationFailed naming what is wrong."""
    name = (file_name or "").strip()
    suffix = name[name.rfind("."):].lower() if "." in name else ""
    if not name or len(name) > 255 or any(c in name for c in "/\\\x00"):
        raise ValidationFailed("file name must be 1-255 characters without path separators", field="file")
    if suffix not in FILE_TYPES:
        raise ValidationFailed(f"{name}: only PDF (.pdf) or Markdown (.md) files", field="file")
    if not content:
        raise ValidationFailed(f"{name} is empty", field="file")
    if len(content) > MAX_FILE_BYTES:
        raise ValidationFailed(f"{name} is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB", field="file")
    if FILE_TYPES[suffix] == "application/pdf":
        _check_pdf(name, content)
    else:
        try:
            content.decode("utf-8")
        except UnicodeDecodeError:
            raise ValidationFailed(f"{name} is not UTF-8 text", field="file") from None
    return FILE_TYPES[suffix]


def _check_pdf(name: str, content: bytes) -> None:
    if not content.startswith(b"%PDF-"):
        raise ValidationFailed(f"{name} is not a PDF file", field="file")
    try:
        reader = PdfReader(io.BytesIO(content))
        if reader.is_encrypted:
            raise ValidationFailed(f"{name} is encrypted: upload the PDF without a password", field="file")
        if not len(reader.pages):
            raise ValidationFailed(f"{name} has no pages", field="file")
    except ValidationFailed:
        raise
    except Exception:  # pypdf raises many kinds for a damaged file; the person needs only this
        raise ValidationFailed(f"{name} cannot be read as a PDF", field="file") from None
