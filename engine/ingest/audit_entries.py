"""Audit entries for ingestion, through the audit chain (same transaction as the change)."""
from __future__ import annotations

from sqlalchemy.orm import Session

from audit import Actor, chain


def record(session: Session, actor: Actor, action: str, object_type: str, object_id, **kwargs) -> None:
    """Append one audit entry for a change made in this transaction."""
    chain.append(session, actor, action, object_type, str(object_id), **kwargs)
