"""The one place the quality processes start workflow instances (engine.workflows runtime)."""
from __future__ import annotations

from sqlalchemy.orm import Session

from engine.workflows.instances import start_instance


def start(session: Session, actor, process_id: str, data: dict, *, business_key: str | None = None):
    """Start the latest deployed version of ``process_id`` with ``data``; returns the instance row."""
    return start_instance(session, actor, process_id, data=data, business_key=business_key)
