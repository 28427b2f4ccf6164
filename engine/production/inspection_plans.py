"""The ISO 2859-1 sampling plan an inspection of a lot must follow: the item's inspection level and
AQL, the lot's size, and normal, tightened or reduced inspection from the results of the same
inspection on earlier lots (the same item name at the same operation code of the same routing, any
revision) by ``engine.masterdata.switching``, with the item's approval of reduced inspection.
"""
from __future__ import annotations

import dataclasses

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from engine.errors import RuleViolation, SealtrailError, ValidationFailed
from engine.masterdata import sampling, switching
from engine.masterdata.models import InspectionItem, RoutingOperation, RoutingRevision
from engine.production.models import InspectionResult, Lot


def lot_size(lot: Lot) -> int:
    """Units in the lot: made if counted, else planned."""
    size = lot.quantity_made or lot.quantity_planned or 0
    return int(round(size))


def history(session: Session, item: InspectionItem, *, before: Lot) -> list[switching.LotOutcome]:
    """The inspection's earlier lots, oldest first: each lot's latest uncorrected result (accepted or
    not, nonconforming count, the plan it was judged by, and whether its item approved reduced)."""
    newer = aliased(InspectionResult)
    op, rev = item.operation, item.operation.revision
    rows = session.execute(
        select(InspectionResult.lot_id, InspectionResult.result, InspectionResult.defects_found,
               InspectionResult.sampling_plan, InspectionItem.reduced_inspection_approved)
        .join(InspectionItem, InspectionItem.id == InspectionResult.inspection_item_id)
        .join(RoutingOperation, RoutingOperation.id == InspectionItem.operation_id)
        .join(RoutingRevision, RoutingRevision.id == RoutingOperation.routing_revision_id)
        .outerjoin(newer, newer.supersedes_id == InspectionResult.id)
        .where(newer.id.is_(None), InspectionItem.name == item.name, RoutingOperation.code == op.code,
               RoutingRevision.routing_id == rev.routing_id, InspectionResult.lot_id != before.id)
        .order_by(InspectionResult.inspected_at, InspectionResult.id)).all()
    latest: dict[int, switching.LotOutcome] = {}
    for lot_id, result, defects, plan, approved in rows:
        latest.pop(lot_id, None)  # re-inserted: ordered by the lot's last inspection
        latest[lot_id] = switching.LotOutcome(accepted=result == "pass", defects=defects, plan=plan,
                                              reduced_approved=bool(approved))
    return list(latest.values())


def plan_for(session: Session, item: InspectionItem, lot: Lot) -> sampling.SamplingPlan | None:
    """The plan for inspecting ``lot`` by ``item`` (None when the item has no AQL)."""
    if item.aql is None or item.inspection_level is None:
        return None
    size = lot_size(lot)
    if size < 2:
        raise ValidationFailed(f"lot {lot.lot_number}: its size (made or planned) is needed to sample it by AQL",
                               field="lot_size", obj=f"lot {lot.lot_number}")
    state = switching.next_severity(history(session, item, before=lot),
                                    reduced_approved=item.reduced_inspection_approved)
    if state.severity == "discontinued":
        raise RuleViolation(f"{item.name}: 5 lots were not accepted on tightened inspection; ISO 2859-1 "
                            "discontinues acceptance inspection until the quality has been corrected",
                            field="inspection", obj=f"lot {lot.lot_number}")
    plan = sampling.sampling_plan(size, item.inspection_level, item.aql, state.severity)
    return dataclasses.replace(plan, switching=state.as_dict())


def plans_for(session: Session, lot: Lot, items: list[InspectionItem]) -> dict[int, sampling.SamplingPlan | SealtrailError]:
    """The plan of each AQL item of ``items`` for ``lot`` (by item id), or why there is none (a lot
    without a size, inspection discontinued): what a station or the API shows before inspecting."""
    out: dict[int, sampling.SamplingPlan | SealtrailError] = {}
    for item in items:
        if item.aql is None:
            continue
        try:
            out[item.id] = plan_for(session, item, lot)
        except (ValidationFailed, RuleViolation) as exc:
            out[item.id] = exc
    return out


def lot_plans(session: Session, lot: Lot) -> list[dict]:
    """Every AQL inspection of the lot's routing with its plan for the lot (severity and why), or the
    reason there is none, in operation order: the API's view."""
    items = [i for op in (lot.routing_revision.operations if lot.routing_revision else []) for i in op.inspection_items]
    plans = plans_for(session, lot, items)
    out = []
    for item in items:
        if item.id not in plans:
            continue
        plan, row = plans[item.id], {"operation": item.operation.code, "inspection": item.name}
        if isinstance(plan, SealtrailError):
            row["refused"] = {"field": plan.field, "message": plan.message}
        else:
            row["sampling_plan"] = plan.as_dict()
        out.append(row)
    return out
