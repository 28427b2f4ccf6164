"""The rules of a product revision: a valid GS1 GTIN (the UDI device identifier), sane shelf life."""
from __future__ import annotations

from sqlalchemy.orm import Session

from engine.errors import ValidationFailed
from engine.masterdata.models import ProductRevision


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


def check_fields(rev: ProductRevision) -> None:
    """Field-level checks of a product draft; normalises the GTIN and defaults the UDI-DI to it."""
    obj = rev.describe()
    if rev.gtin:
        problem = gtin_problem(rev.gtin)
        if problem:
            raise ValidationFailed(f"{obj}: gtin {rev.gtin!r} {problem}", field="gtin", obj=obj)
        rev.gtin = normalize_gtin(rev.gtin)
        if not rev.udi_di:
            rev.udi_di = rev.gtin
    if rev.shelf_life_months is not None and rev.shelf_life_months <= 0:
        raise ValidationFailed(f"{obj}: shelf_life_months must be positive", field="shelf_life_months", obj=obj)


def check_ready(session: Session, rev: ProductRevision) -> None:
    """What must hold before a product revision is reviewed or released: its GTIN."""
    if not rev.gtin:
        raise ValidationFailed(f"{rev.describe()}: gtin (UDI device identifier) is required", field="gtin",
                               obj=rev.describe())
