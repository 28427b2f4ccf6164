"""Shared column helpers and the yearly record numbering (CC-2026-0001, DEV-…, CAPA-…)."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import func, select
from sqlalchemy.orm import Session


def in_list(column: str, values: tuple[str, ...]) -> str:
    """A CHECK constraint text ``column IN (...)``."""
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def next_number(session: Session, model, prefix: str, *, now: datetime | None = None) -> str:
    """The next free ``PREFIX-YYYY-NNNN`` of ``model.number`` (unique: a race fails the insert)."""
    year = (now or datetime.now(timezone.utc)).year
    stem = f"{prefix}-{year}-"
    last = session.scalar(select(func.max(model.number)).where(model.number.like(f"{stem}%")))
    seq = int(last.rsplit("-", 1)[1]) + 1 if last else 1
    return f"{stem}{seq:04d}"
