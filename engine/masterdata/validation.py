"""Rules a revision must satisfy to be saved as a draft, submitted, or released."""
from __future__ import annotations

from sqlalchemy.orm import Session

from engine.errors import RevisionRuleViolation, ValidationFailed
from engine.masterdata.models import BomRevision, DocumentRevision, ProductRevision, RevisionMixin, RoutingRevision


def gtin_problem(gtin: str) -> str | None:
    """Why ``gtin`` is not a valid GS1 GTIN-8/12/13/14 (None when valid)."""
    if not gtin.isdigit() or len(gtin) not in (8, 12, 13, 14):
        return "must be 8, 12, 13 or 14 digits"
    digits = [int(c) for c in gtin]
    body, check = digits[:-1], digits[-1]
    total = sum(d * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    expected = (10 - total % 10) % 10
    if check != expected:
        return f"check digit is {check}, expected {expected}"
    return None


def normalize_gtin(gtin: str) -> str:
    """A valid GTIN as 14 digits (left-padded with zeros, as GS1 stores it)."""
    return gtin.zfill(14)


def check_revision_fields(rev: RevisionMixin) -> None:
    """Field-level checks of a draft's own columns (child rows are checked where they are added)."""
    obj = rev.describe()
    if isinstance(rev, ProductRevision):
        if rev.gtin:
            problem = gtin_problem(rev.gtin)
            if problem:
                raise ValidationFailed(f"{obj}: gtin {rev.gtin!r} {problem}", field="gtin", obj=obj)
            rev.gtin = normalize_gtin(rev.gtin)
            if not rev.udi_di:
                rev.udi_di = rev.gtin
        if rev.shelf_life_months is not None and rev.shelf_life_months <= 0:
            raise ValidationFailed(f"{obj}: shelf_life_months must be positive", field="shelf_life_months", obj=obj)
    elif isinstance(rev, BomRevision):
        if rev.base_quantity is not None and rev.base_quantity <= 0:
            raise ValidationFailed(f"{obj}: base_quantity must be positive", field="base_quantity", obj=obj)
    elif isinstance(rev, DocumentRevision):
        if rev.title is not None and not rev.title.strip():
            raise ValidationFailed(f"{obj}: title is required", field="title", obj=obj)
        if rev.file_content is not None:
            import hashlib

            rev.file_sha256 = hashlib.sha256(rev.file_content).hexdigest()


def check_release_ready(session: Session, rev: RevisionMixin, *, releasing: bool = False) -> None:
    """Everything that must hold before a revision is reviewed or released."""
    obj = rev.describe()
    if isinstance(rev, ProductRevision):
        if not rev.gtin:
            raise ValidationFailed(f"{obj}: gtin (UDI device identifier) is required", field="gtin", obj=obj)
    elif isinstance(rev, BomRevision):
        from engine.masterdata import boms

        if not rev.lines:
            raise ValidationFailed(f"{obj}: a BOM needs at least one line", field="lines", obj=obj)
        for line in rev.lines:
            boms.check_line(line)
        boms.check_no_cycle(session, rev)
    elif isinstance(rev, RoutingRevision):
        from engine.masterdata import routings

        if not rev.operations:
            raise ValidationFailed(f"{obj}: a routing needs at least one operation", field="operations", obj=obj)
        routings.check_resources(rev)
    elif isinstance(rev, DocumentRevision):
        if not (rev.body or "").strip() and rev.file_content is None:
            raise ValidationFailed(f"{obj}: a document needs a text body or a file", field="body", obj=obj)


def check_can_withdraw(session: Session, rev: RevisionMixin) -> None:
    """Refuse withdrawing a document still referenced by an effective routing."""
    if isinstance(rev, DocumentRevision):
        from engine.masterdata import routings

        users = routings.effective_operations_using_document(session, rev.master)
        if users:
            names = ", ".join(f"{op.revision.describe()} op {op.sequence}" for op in users)
            raise RevisionRuleViolation(f"{rev.describe()} is referenced by {names}; release routings "
                                        "without it first", field="state", obj=rev.describe())
