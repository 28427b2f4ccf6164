"""What the plan works to for each planned lot: its due date and priority (1 most urgent … 5)."""
from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from audit import Actor, chain
from engine.errors import Conflict, ValidationFailed
from engine.production.models import Lot

PRIORITIES = (1, 2, 3, 4, 5)


def set_lot_target(session: Session, actor: Actor, lot: Lot, *, due_on: date | None, priority: int,
                   reason: str) -> Lot:
    """Set the due date and priority of a lot not yet completed (audited, old → new)."""
    if lot.status in ("completed", "released", "rejected"):
        raise Conflict(f"lot {lot.lot_number} is {lot.status}: its due date no longer plans anything",
                       field="due_on", obj=lot.lot_number)
    if isinstance(priority, bool) or priority not in PRIORITIES:
        raise ValidationFailed("priority is 1 (most urgent) to 5", field="priority", obj=lot.lot_number)
    if not (reason or "").strip():
        raise ValidationFailed("a reason is required", field="reason", obj=lot.lot_number)
    before = {"due_on": lot.due_on, "priority": lot.priority}
    lot.due_on, lot.priority = due_on, priority
    session.flush()
    chain.append(session, actor, "lot.set_target", "lot", lot.lot_number, reason=reason, before=before,
                 after={"due_on": due_on, "priority": priority})
    return lot
