"""When a lot will likely be released: its completion (recorded, or planned in the plan in force) plus
the median time from completion to release of the lots released before it."""
from __future__ import annotations

import statistics
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.planning.models import PlannedOperation, ProductionPlan
from engine.production.models import Lot

MIN_RELEASED = 3
HISTORY = 200


def release_lead_days(session: Session) -> float | None:
    """Median days from completion to release over the latest released made lots (None: too few)."""
    rows = session.execute(select(Lot.completed_at, Lot.dispositioned_at)
                           .where(Lot.source == "made", Lot.status == "released", Lot.completed_at.is_not(None),
                                  Lot.dispositioned_at.is_not(None))
                           .order_by(Lot.dispositioned_at.desc()).limit(HISTORY)).all()
    days = [(b - a).total_seconds() / 86400 for a, b in rows]
    return statistics.median(days) if len(days) >= MIN_RELEASED else None


def planned_completion(session: Session, lot: Lot) -> datetime | None:
    """The end of the lot's last operation in the plan in force."""
    return session.scalar(select(func.max(PlannedOperation.ends_at))
                          .join(ProductionPlan, ProductionPlan.id == PlannedOperation.plan_id)
                          .where(ProductionPlan.state == "released", PlannedOperation.lot_id == lot.id))


def predicted_release(session: Session, lot: Lot, now: datetime) -> dict | None:
    """``{"at", "basis", "lead_days"}`` for a lot not yet dispositioned; None when nothing predicts it."""
    if lot.status in ("released", "rejected") or lot.source != "made":
        return None
    lead = release_lead_days(session)
    if lead is None:
        return None
    if lot.completed_at is not None:
        base, basis = lot.completed_at, "completed"
    else:
        base, basis = planned_completion(session, lot), "planned"
        if base is None:
            return None
    return {"at": max(now, base + timedelta(days=lead)), "basis": basis, "lead_days": lead}
