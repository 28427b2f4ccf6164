"""Shop-floor interlocks: every reason an operation may not start (or a record may not be made).

One function per moment, each returning ALL blocking reasons at once (an operator fixes them
together, not one refusal at a time):

- ``operation_blockers`` — when an operation starts and again when a value is recorded on it:
  the operator is active, holds the operator role and passed training on the revision of every
  SOP / process card / work instruction of the operation in effect at that time; the equipment
  is the routing's, active, within its calibration and maintenance dates; the tooling is the
  routing's, active and within its life in cycles.
- ``consumption_blockers`` — when a component lot is consumed: on the lot's BOM revision,
  released, not expired, and the total consumed stays within what the BOM allows for the lot
  size plus the line's tolerance (``BomLine.tolerance_pct``, part of the released BOM revision).

``refuse`` raises :class:`engine.errors.InterlockRefused` listing them. Callers that must keep a
record of the refusal (the shop floor, the API) use ``record_refusal`` in a transaction they commit.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from audit import Actor, chain
from engine.errors import InterlockRefused
from engine.masterdata import units
from engine.masterdata.models import BomLine, BomRevision, Equipment, RoutingOperation, Tooling
from engine.production.models import Lot, MaterialConsumption
from engine.users.models import User
from engine.users.training import TRAINED_PURPOSES, document_revision_in_effect, is_trained

@dataclass(frozen=True)
class Blocker:
    """One reason an action is blocked; ``record`` names the record to fix (``LT-01``, ``SOP-001 rev B``)."""

    code: str
    field: str
    record: str
    message: str

    def as_dict(self) -> dict:
        return asdict(self)


def operation_blockers(session: Session, op: RoutingOperation, *, operator: User, equipment: Equipment | None,
                       tooling: Tooling | None, at: datetime) -> list[Blocker]:
    """Every reason ``operator`` may not perform ``op`` with ``equipment``/``tooling`` at ``at``."""
    return (operator_blockers(session, op, operator, at) + equipment_blockers(op, equipment, at.date())
            + tooling_blockers(op, tooling))


def operator_blockers(session: Session, op: RoutingOperation, operator: User, at: datetime) -> list[Blocker]:
    """Every reason ``operator`` may not perform ``op`` at ``at`` (role, training on the revision in effect)."""
    who = operator.username
    if not operator.active or "operator" not in operator.roles:
        return [Blocker("operator", "operator", who, f"{who} is not an active operator")]
    out = []
    for link in op.document_links:
        if link.purpose not in TRAINED_PURPOSES:
            continue
        doc = link.document
        rev = document_revision_in_effect(session, doc.id, at)
        if rev is None:
            out.append(Blocker("document", "operation", doc.code,
                               f"{doc.code} has no revision in effect: operation {op.code} cannot be performed"))
        elif not is_trained(session, operator, rev, at.date()):
            out.append(Blocker("training", "operator", f"{doc.code} rev {rev.label}",
                               f"operator {who} is not trained on {doc.code} rev {rev.label} "
                               f"(effective for operation {op.sequence} {op.code})"))
    return out


def _listed_resource_blockers(kind: str, op: RoutingOperation, resource, listed) -> list[Blocker] | None:
    """The checks equipment and tooling share: needed but missing, not listed for ``op``, not active.
    None when no resource is given and none is needed (nothing more to check)."""
    if resource is None:
        if not listed:
            return None
        codes = ", ".join(r.code for r in listed)
        return [Blocker(f"{kind}_missing", kind, codes, f"operation {op.sequence} {op.code} needs {kind} ({codes})")]
    code = resource.code
    out = []
    if listed and resource not in listed:
        out.append(Blocker(f"{kind}_not_listed", kind, code,
                           f"{kind} {code} is not listed for operation {op.sequence} {op.code}"))
    if resource.status != "active":
        out.append(Blocker(f"{kind}_status", kind, code, f"{kind} {code} is {resource.status}"))
    return out


def equipment_blockers(op: RoutingOperation, equipment: Equipment | None, day: date) -> list[Blocker]:
    """Every reason ``equipment`` may not serve ``op`` on ``day`` (listed, active, calibration, maintenance)."""
    out = _listed_resource_blockers("equipment", op, equipment, op.equipment)
    if out is None or equipment is None:
        return out or []
    code = equipment.code
    if equipment.calibration_overdue(day):
        out.append(Blocker("equipment_calibration", "equipment", code,
                           f"equipment {code} is overdue for calibration (due {equipment.calibration_due_on})"))
    if equipment.maintenance_overdue(day):
        out.append(Blocker("equipment_maintenance", "equipment", code,
                           f"equipment {code} is overdue for maintenance (due {equipment.maintenance_due_on})"))
    return out


def tooling_blockers(op: RoutingOperation, tooling: Tooling | None) -> list[Blocker]:
    """Every reason ``tooling`` may not serve ``op`` (listed, active, within its life)."""
    out = _listed_resource_blockers("tooling", op, tooling, op.tooling)
    if out is None or tooling is None:
        return out or []
    code = tooling.code
    if tooling.life_cycles is not None and tooling.cycles_used >= tooling.life_cycles:
        out.append(Blocker("tooling_life", "tooling", code,
                           f"tooling {code} is past its life ({tooling.cycles_used} of {tooling.life_cycles} cycles)"))
    return out


def consumption_blockers(session: Session, parent: Lot, component_lot: Lot, *, quantity: float, unit: str,
                         day: date) -> list[Blocker]:
    """Every reason ``quantity`` ``unit`` of ``component_lot`` may not go into ``parent`` on ``day``."""
    comp = component_lot.lot_number
    out = []
    line = session.scalars(select(BomLine).where(BomLine.bom_revision_id == parent.bom_revision_id,
                                                 BomLine.component_id == component_lot.item_id)).first()
    if line is None:
        out.append(Blocker("component_not_on_bom", "component_lot", comp,
                           f"component lot {comp} ({component_lot.item.code}) is not on the lot's BOM revision"))
    if component_lot.status != "released":
        out.append(Blocker("component_not_released", "component_lot", comp,
                           f"component lot {comp} is {component_lot.status}, not released"))
    if component_lot.expires_on is not None and component_lot.expires_on < day:
        out.append(Blocker("component_expired", "component_lot", comp,
                           f"component lot {comp} expired on {component_lot.expires_on}"))
    if line is not None:
        out += _quantity(session, parent, line, quantity, unit)
    return out


def _quantity(session: Session, parent: Lot, line: BomLine, quantity: float, unit: str) -> list[Blocker]:
    bom = session.get(BomRevision, parent.bom_revision_id)
    per = line.quantity / (bom.base_quantity or 1.0)
    tolerance = line.tolerance_pct / 100.0
    allowed = per * parent.quantity_planned * (1 + tolerance)  # in line.unit
    rows = session.execute(select(MaterialConsumption.quantity, MaterialConsumption.unit)
                           .join(Lot, Lot.id == MaterialConsumption.component_lot_id)
                           .where(MaterialConsumption.parent_lot_id == parent.id,
                                  Lot.item_id == line.component_id)).all()
    used = sum(units.convert(q, u, line.unit) for q, u in rows)
    wanted = units.convert(quantity, unit, line.unit, field="unit", obj=f"lot {parent.lot_number}")
    if used + wanted > allowed + 1e-9:
        code = line.component.code
        return [Blocker("quantity_beyond_bom", "quantity", code,
                        f"{code}: {used + wanted:g} {line.unit} would exceed the {allowed:g} {line.unit} the BOM "
                        f"allows for {parent.quantity_planned:g} {parent.unit} "
                        f"(+{line.tolerance_pct:g} % tolerance; {used:g} consumed so far)")]
    return []


def refuse(what: str, blockers: list[Blocker], *, obj: str) -> None:
    """Raise InterlockRefused naming every blocker, when there are any."""
    if blockers:
        raise InterlockRefused(f"{what} refused: " + "; ".join(b.message for b in blockers),
                               blocking=[b.as_dict() for b in blockers], obj=obj)


def record_refusal(session: Session, actor: Actor, lot: Lot, action: str, request: dict,
                   blocking: list[dict]) -> None:
    """Audit a refused shop-floor action (the caller commits it, then answers the refusal)."""
    chain.append(session, actor, f"{action}.refused", "lot", lot.lot_number,
                 reason="interlock: " + "; ".join(b["message"] for b in blocking),
                 payload={"request": request, "blocking": blocking})
