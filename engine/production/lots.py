"""Lot life cycle: plan, start (pin the manifest), consume material, complete, disposition."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from audit import Actor, chain
from engine.db import utcnow
from engine.errors import Conflict, NotFound, ValidationFailed
from engine.masterdata import units
from engine.masterdata.models import BomLine, Item, Product
from engine.masterdata.revisions import user_id_of
from engine.production import interlocks
from engine.production import manifest as manifests
from engine.production.models import LOT_STATUSES, Lot, MaterialConsumption, SupplierLot

# Every move of a lot's status, whoever makes it; :func:`move_lot` is the only writer and checks
# it. start_lot: planned → in_process; complete_lot: in_process → completed; holds: any status but
# rejected → on_hold, and on_hold → the status before the first hold; a deviation's rework
# disposition: completed → in_process; change_lot_status: hold, resume, release, reject.
TRANSITIONS = {
    "planned": {"in_process", "on_hold", "rejected"},
    "in_process": {"completed", "on_hold", "rejected"},
    "on_hold": {"planned", "in_process", "completed", "released", "rejected"},
    "completed": {"in_process", "on_hold", "released", "rejected"},
    "released": {"on_hold"},
    "rejected": set(),
}
# Moves that only a named use case makes (the status page's change_lot_status may not).
_USE_CASE_ONLY = {("planned", "in_process"), ("in_process", "completed"), ("completed", "in_process"),
                  ("on_hold", "planned"), ("on_hold", "completed")}


def move_lot(lot: Lot, status: str) -> str:
    """Set ``lot.status`` after checking the move against :data:`TRANSITIONS` (Conflict naming
    both statuses otherwise); returns the status before. The caller audits the move."""
    before = lot.status
    if status != before and status not in TRANSITIONS.get(before, set()):
        raise Conflict(f"lot {lot.lot_number}: {before} → {status} is not allowed", field="status",
                       obj=lot.lot_number)
    lot.status = status
    return before


def get_lot(session: Session, lot_number: str) -> Lot:
    """The lot numbered ``lot_number`` or NotFound."""
    lot = session.scalars(select(Lot).where(Lot.lot_number == lot_number)).first()
    if lot is None:
        raise NotFound(f"lot {lot_number!r} does not exist", field="lot_number")
    return lot


def _lot_number(session: Session, lot_number: str) -> str:
    lot_number = (lot_number or "").strip()
    if not lot_number:
        raise ValidationFailed("lot_number is required", field="lot_number")
    if session.scalars(select(Lot.id).where(Lot.lot_number == lot_number)).first() is not None:
        raise Conflict(f"lot number {lot_number!r} exists (lot numbers are never reused)", field="lot_number")
    return lot_number


def _user_id(session: Session, actor: Actor) -> int | None:
    return user_id_of(session, actor)


def receive_supplier_lot(session: Session, actor: Actor, *, item: Item, lot_number: str, supplier: str,
                         supplier_lot_number: str, quantity: float, unit: str, received_on: date,
                         certificate_ref: str = "", expires_on: date | None = None) -> Lot:
    """Receive purchased material into quarantine (status on_hold) under an internal lot number."""
    lot_number = _lot_number(session, lot_number)
    if not item.purchased:
        raise ValidationFailed(f"item {item.code} is not a purchased item", field="item", obj=lot_number)
    if not quantity or quantity <= 0:
        raise ValidationFailed("quantity must be greater than zero", field="quantity", obj=lot_number)
    units.check_convertible(unit, item.base_unit, field="unit", obj=f"lot {lot_number}")
    if not supplier.strip() or not supplier_lot_number.strip():
        raise ValidationFailed("supplier and supplier_lot_number are required", field="supplier_lot_number",
                               obj=lot_number)
    qty = units.convert(quantity, unit, item.base_unit)
    sup = SupplierLot(item=item, supplier=supplier, supplier_lot_number=supplier_lot_number, received_on=received_on,
                      quantity_received=quantity, unit=unit, certificate_ref=certificate_ref, expires_on=expires_on,
                      recorded_at=utcnow(), recorded_by_id=_user_id(session, actor))
    lot = Lot(lot_number=lot_number, item=item, source="purchased", supplier_lot=sup, status="on_hold",
              unit=item.base_unit, quantity_planned=qty, quantity_made=qty, quantity_approved=0.0,
              expires_on=expires_on, created_at=utcnow())
    session.add(lot)
    session.flush()
    chain.append(session, actor, "lot.receive", "lot", lot_number,
                 after={"item": item.code, "supplier": supplier, "supplier_lot_number": supplier_lot_number,
                        "quantity": quantity, "unit": unit, "received_on": received_on,
                        "certificate_ref": certificate_ref, "status": "on_hold"})
    return lot


def plan_lot(session: Session, actor: Actor, *, lot_number: str, quantity: float, product: Product | None = None,
             item: Item | None = None) -> Lot:
    """Plan a lot of a product (finished device) or of a made item (subassembly)."""
    lot_number = _lot_number(session, lot_number)
    if (product is None) == (item is None):
        raise ValidationFailed("give either product or item", field="product", obj=lot_number)
    item = product.item if product is not None else item
    if item.purchased:
        raise ValidationFailed(f"item {item.code} is purchased: receive it as a supplier lot", field="item",
                               obj=lot_number)
    if not quantity or quantity <= 0:
        raise ValidationFailed("quantity must be greater than zero", field="quantity", obj=lot_number)
    lot = Lot(lot_number=lot_number, item=item, product=product, source="made", status="planned",
              unit=item.base_unit, quantity_planned=quantity, quantity_made=0.0, quantity_approved=0.0,
              created_at=utcnow())
    session.add(lot)
    session.flush()
    chain.append(session, actor, "lot.plan", "lot", lot_number,
                 after={"item": item.code, "product": product.code if product else None, "quantity": quantity,
                        "unit": item.base_unit})
    return lot


def start_lot(session: Session, actor: Actor, lot: Lot, *, started_at: datetime | None = None) -> Lot:
    """Start a planned lot: pin the master data in effect (manifest + SHA-256) and go in_process."""
    if lot.status != "planned":
        raise Conflict(f"lot {lot.lot_number} is {lot.status}; only a planned lot can start", field="status",
                       obj=lot.lot_number)
    manifest = manifests.build_manifest(session, lot.item, lot.product, lot.lot_number)
    lot.manifest = manifest
    lot.manifest_sha256 = manifests.manifest_hash(manifest)
    lot.bom_revision_id = manifest["bom"]["revision_id"]
    lot.routing_revision_id = manifest["routing"]["revision_id"]
    if "product" in manifest:
        lot.product_revision_id = manifest["product"]["revision_id"]
    move_lot(lot, "in_process")
    lot.started_at = started_at or utcnow()
    session.flush()
    chain.append(session, actor, "lot.start", "lot", lot.lot_number, reason="lot started",
                 before={"status": "planned"},
                 after={"status": "in_process", "manifest_sha256": lot.manifest_sha256,
                        "product_revision": manifest.get("product", {}).get("revision"),
                        "bom_revision": manifest["bom"]["revision"], "routing_revision": manifest["routing"]["revision"]})
    return lot


def consumed_from(session: Session, component_lot: Lot) -> float:
    """How much of ``component_lot`` (in its unit) has been consumed so far."""
    rows = session.execute(select(MaterialConsumption.quantity, MaterialConsumption.unit)
                           .where(MaterialConsumption.component_lot_id == component_lot.id)).all()
    return sum(units.convert(q, u, component_lot.unit) for q, u in rows)


def record_consumption(session: Session, actor: Actor, parent: Lot, component_lot: Lot, *, quantity: float,
                       unit: str, consumed_at: datetime | None = None) -> MaterialConsumption:
    """Record that ``quantity`` of ``component_lot`` went into ``parent`` (genealogy)."""
    obj = f"lot {parent.lot_number}"
    if parent.status != "in_process":
        raise Conflict(f"{obj} is {parent.status}; material is consumed only while in_process", field="status",
                       obj=obj)
    if component_lot.id == parent.id:
        raise ValidationFailed(f"{obj} cannot consume itself", field="component_lot", obj=obj)
    if not quantity or quantity <= 0:
        raise ValidationFailed(f"{obj}: quantity must be greater than zero", field="quantity", obj=obj)
    units.check_convertible(unit, component_lot.unit, field="unit", obj=obj)
    consumed_at = consumed_at or utcnow()
    interlocks.refuse(f"{obj}: consuming lot {component_lot.lot_number}", interlocks.consumption_blockers(
        session, parent, component_lot, quantity=quantity, unit=unit, day=consumed_at.date()), obj=obj)
    line = session.scalars(select(BomLine).where(BomLine.bom_revision_id == parent.bom_revision_id,
                                                 BomLine.component_id == component_lot.item_id)).one()
    available = component_lot.quantity_made - consumed_from(session, component_lot)
    wanted = units.convert(quantity, unit, component_lot.unit)
    if wanted > available + 1e-9:
        raise ValidationFailed(f"{obj}: only {available:g} {component_lot.unit} of lot {component_lot.lot_number} "
                               f"remain, {wanted:g} requested", field="quantity", obj=obj)
    row = MaterialConsumption(parent_lot=parent, component_lot=component_lot, bom_line=line, quantity=quantity,
                              unit=unit, consumed_at=consumed_at, recorded_by_id=_user_id(session, actor))
    session.add(row)
    session.flush()
    chain.append(session, actor, "lot.consume", "lot", parent.lot_number,
                 after={"component_lot": component_lot.lot_number, "component": component_lot.item.code,
                        "quantity": quantity, "unit": unit})
    return row


def complete_lot(session: Session, actor: Actor, lot: Lot, *, quantity_made: float,
                 completed_at: datetime | None = None) -> Lot:
    """Production finished: record the quantity made; the lot awaits release (batch release review)."""
    if lot.status != "in_process":
        raise Conflict(f"lot {lot.lot_number} is {lot.status}; only an in_process lot can complete", field="status",
                       obj=lot.lot_number)
    if quantity_made is None or quantity_made < 0:
        raise ValidationFailed("quantity_made must be zero or more", field="quantity_made", obj=lot.lot_number)
    lot.quantity_made = quantity_made
    move_lot(lot, "completed")
    lot.completed_at = completed_at or utcnow()
    session.flush()
    chain.append(session, actor, "lot.complete", "lot", lot.lot_number, reason="production completed",
                 before={"status": "in_process", "quantity_made": 0}, after={"status": "completed",
                                                                            "quantity_made": quantity_made})
    return lot


def change_lot_status(session: Session, actor: Actor, lot: Lot, status: str, *, reason: str,
                      quantity_approved: float | None = None) -> Lot:
    """Hold, resume, release (with the quantity approved for distribution, ISO 13485 §7.5.1) or reject."""
    if status not in LOT_STATUSES:
        raise ValidationFailed(f"status must be one of {', '.join(LOT_STATUSES)}", field="status", obj=lot.lot_number)
    if not reason or not reason.strip():
        raise ValidationFailed("a reason is required", field="reason", obj=lot.lot_number)
    if status not in TRANSITIONS[lot.status] or (lot.status, status) in _USE_CASE_ONLY:
        raise Conflict(f"lot {lot.lot_number}: {lot.status} → {status} is not allowed", field="status",
                       obj=lot.lot_number)
    if status == "on_hold" and lot.status == "on_hold":
        return lot
    before = {"status": lot.status, "quantity_approved": lot.quantity_approved}
    if status == "released":
        if lot.source == "made" and lot.status == "on_hold" and lot.completed_at is None:
            raise Conflict(f"lot {lot.lot_number} has not completed production", field="status", obj=lot.lot_number)
        qty = lot.quantity_made if quantity_approved is None else quantity_approved
        if qty < 0 or qty > lot.quantity_made:
            raise ValidationFailed(f"lot {lot.lot_number}: quantity_approved must lie within 0..{lot.quantity_made:g}",
                                   field="quantity_approved", obj=lot.lot_number)
        lot.quantity_approved = qty
        lot.dispositioned_at = utcnow()
    elif status == "rejected":
        lot.quantity_approved = 0.0
        lot.dispositioned_at = utcnow()
    elif status == "on_hold" and lot.status == "released":
        lot.quantity_approved = 0.0
    move_lot(lot, status)
    session.flush()
    chain.append(session, actor, f"lot.{status}", "lot", lot.lot_number, reason=reason, before=before,
                 after={"status": status, "quantity_approved": lot.quantity_approved})
    return lot


def lots_using(session: Session, component_lot: Lot) -> list[Lot]:
    """Lots that consumed ``component_lot`` directly (one level of forward genealogy)."""
    parents = select(MaterialConsumption.parent_lot_id).where(MaterialConsumption.component_lot_id == component_lot.id)
    return list(session.scalars(select(Lot).where(Lot.id.in_(parents)).order_by(Lot.id)))


