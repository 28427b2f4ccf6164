"""Lot holds: a lot with an active hold is ``on_hold`` and cannot be released or shipped.

Holds stack (two deviations may hold the same lot); the lot returns to the status it had before
its first active hold only when the last hold is lifted.
"""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from audit import chain
from engine.errors import Conflict, RuleViolation, ValidationFailed
from engine.production.lots import move_lot
from engine.production.models import Lot
from engine.processes.models import Deviation, LotHold


def _locked(session: Session, lot: Lot) -> Lot:
    # Serialise status changes of one lot: a hold racing a release must not both succeed.
    return session.scalars(select(Lot).where(Lot.id == lot.id).with_for_update()).one()


def active_holds(session: Session, lot: Lot) -> list[LotHold]:
    """Holds on ``lot`` not yet lifted, oldest first."""
    return list(session.scalars(select(LotHold).where(LotHold.lot_id == lot.id, LotHold.released_at.is_(None))
                                .order_by(LotHold.id)))


def hold_lot(session: Session, actor, lot: Lot, *, reason: str, deviation: Deviation | None = None) -> LotHold:
    """Put ``lot`` on hold (audited); returns the new hold."""
    if not (reason or "").strip():
        raise ValidationFailed("a hold needs a reason", field="reason")
    lot = _locked(session, lot)
    if lot.status == "rejected":
        raise Conflict(f"lot {lot.lot_number} is rejected: there is nothing to hold", field="lot")
    existing = active_holds(session, lot)
    before = existing[0].status_before if existing else lot.status
    hold = LotHold(lot_id=lot.id, deviation_id=deviation.id if deviation else None, reason=reason.strip(),
                   status_before=before, held_by=actor.name)
    session.add(hold)
    old_status = move_lot(lot, "on_hold")
    session.flush()
    chain.append(session, actor, "lot.hold", "lot", lot.lot_number, reason=reason,
                 before={"status": old_status}, after={"status": "on_hold", "hold_id": hold.id,
                                                       "deviation": deviation.number if deviation else None})
    return hold


def release_hold(session: Session, actor, hold: LotHold, *, reason: str) -> Lot:
    """Lift ``hold``; the lot gets its pre-hold status back when no other hold remains."""
    if not (reason or "").strip():
        raise ValidationFailed("lifting a hold needs a reason", field="reason")
    if hold.released_at is not None:
        raise Conflict(f"hold {hold.id} was already lifted", field="hold")
    lot = _locked(session, session.get(Lot, hold.lot_id))
    hold.released_at = datetime.now(timezone.utc)
    hold.released_by = actor.name
    hold.release_reason = reason.strip()
    session.flush()
    remaining = active_holds(session, lot)
    old_status = lot.status
    if not remaining:
        move_lot(lot, hold.status_before)
    session.flush()
    chain.append(session, actor, "lot.hold_released", "lot", lot.lot_number, reason=reason,
                 before={"status": old_status, "hold_id": hold.id},
                 after={"status": lot.status, "holds_remaining": len(remaining)})
    return lot


def assert_not_held(session: Session, lot: Lot) -> None:
    """Raise RuleViolation naming the holds when ``lot`` is on hold (release, shipment, consumption)."""
    holds = active_holds(session, lot)
    if holds or lot.status == "on_hold":
        why = "; ".join(h.reason for h in holds) or "status on_hold"
        raise RuleViolation(f"lot {lot.lot_number} is on hold ({why}): it cannot be released until the hold is "
                            "lifted by a disposition", field="lot", obj=f"lot:{lot.lot_number}")
