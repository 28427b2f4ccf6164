"""The ISO 2859-1 sampling plan an inspection of a lot must follow: the item's inspection level and
AQL, the lot's size, and normal or tightened inspection from the results of the same inspection on
earlier lots (the same item name at the same operation code of the same routing, any revision).
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from engine.errors import RuleViolation, ValidationFailed
from engine.masterdata import sampling
from engine.masterdata.models import InspectionItem, RoutingOperation, RoutingRevision
from engine.production.models import InspectionResult, Lot


def lot_size(lot: Lot) -> int:
    """Units in the lot: made if counted, else planned."""
    size = lot.quantity_made or lot.quantity_planned or 0
    return int(round(size))


def accepted_history(session: Session, item: InspectionItem, *, before: Lot) -> list[bool]:
    """Accepted (True) or not, per earlier lot, oldest first: each lot's latest uncorrected result."""
    newer = aliased(InspectionResult)
    op, rev = item.operation, item.operation.revision
    rows = session.execute(
        select(InspectionResult.lot_id, InspectionResult.result, InspectionResult.inspected_at)
        .join(InspectionItem, InspectionItem.id == InspectionResult.inspection_item_id)
        .join(RoutingOperation, RoutingOperation.id == InspectionItem.operation_id)
        .join(RoutingRevision, RoutingRevision.id == RoutingOperation.routing_revision_id)
        .outerjoin(newer, newer.supersedes_id == InspectionResult.id)
        .where(newer.id.is_(None), InspectionItem.name == item.name, RoutingOperation.code == op.code,
               RoutingRevision.routing_id == rev.routing_id, InspectionResult.lot_id != before.id)
        .order_by(InspectionResult.inspected_at, InspectionResult.id)).all()
    latest: dict[int, bool] = {}
    for lot_id, result, _at in rows:
        latest.pop(lot_id, None)
        latest[lot_id] = result == "pass"  # re-inserted: ordered by the lot's last inspection
    return list(latest.values())


def plan_for(session: Session, item: InspectionItem, lot: Lot) -> sampling.SamplingPlan | None:
    """The plan for inspecting ``lot`` by ``item`` (None when the item has no AQL)."""
    if item.aql is None or item.inspection_level is None:
        return None
    size = lot_size(lot)
    if size < 2:
        raise ValidationFailed(f"lot {lot.lot_number}: its size (made or planned) is needed to sample it by AQL",
                               field="lot_size", obj=f"lot {lot.lot_number}")
    severity = sampling.severity_after(accepted_history(session, item, before=lot))
    if severity == "discontinued":
        raise RuleViolation(f"{item.name}: 5 lots were not accepted on tightened inspection; ISO 2859-1 "
                            "discontinues acceptance inspection until the quality has been corrected",
                            field="inspection", obj=f"lot {lot.lot_number}")
    return sampling.sampling_plan(size, item.inspection_level, item.aql, severity)
