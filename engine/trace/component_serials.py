"""Serialised components (GS1 AI 21): the serials of a component's units, recorded with the lot they
came in, and at assembly the finished unit each one was fitted into — so a trace from a component
serial names the finished unit(s), a finished unit lists its component serials, and a recall from
one component serial reaches only the units that hold it.

A component is serialised in master data (``Item.serialised`` with its own ``Item.gtin``); its
serials are unique per item and fitted once, never moved. A fit is refused, naming the serial and
the reason, when the serial is unknown, already fitted, from a lot that is not released, of an
item the unit's BOM does not list, from a lot the unit's lot has not consumed, or one too many for
the BOM's quantity per unit.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from audit import Actor, chain
from engine.db import utcnow
from engine.errors import Conflict, NotFound, ValidationFailed
from engine.masterdata import units
from engine.masterdata.models import BomLine, BomRevision, Item
from engine.masterdata.revisions import user_id_of
from engine.production.models import ComponentSerial, Lot, MaterialConsumption
from engine.trace import gs1, serials

RECEIVABLE = ("on_hold", "in_process", "completed", "released")
FITTABLE_LOT = "released"
MAX_FIT = 50


@dataclass(frozen=True)
class ComponentHit:
    """A component serial found from a scan: the serial's row, its lot and the GS1 data scanned."""

    serial: ComponentSerial
    lot: Lot
    scanned: gs1.GS1Data | None


def receive_component_serials(session: Session, actor: Actor, lot: Lot, wanted: list[str]) -> list[ComponentSerial]:
    """Record the serials of units of a serialised component's ``lot`` (audited); all or none."""
    obj = f"lot {lot.lot_number}"
    if not lot.item.serialised:
        raise ValidationFailed(f"{obj}: item {lot.item.code} is not serialised (set it in its master data)",
                               field="lot", obj=obj)
    if lot.product_id is not None:
        raise ValidationFailed(f"{obj} is a finished-device lot: its units get serials with sealtrail serials assign",
                               field="lot", obj=obj)
    if lot.status not in RECEIVABLE:
        raise Conflict(f"{obj} is {lot.status}: serials are recorded for lots that are not rejected", field="status",
                       obj=obj)
    serials.check_serials(wanted, obj)
    have = session.scalar(select(func.count(ComponentSerial.id)).where(ComponentSerial.lot_id == lot.id)) or 0
    count = int(round(lot.quantity_made or lot.quantity_planned or 0))
    if have + len(wanted) > count:
        raise ValidationFailed(f"{obj} has {count} unit(s) and {have} serial(s): {len(wanted)} more would exceed it",
                               field="serials", obj=obj)
    taken: set[str] = set()
    for i in range(0, len(wanted), 5000):
        taken |= set(session.scalars(select(ComponentSerial.serial).where(
            ComponentSerial.item_id == lot.item_id, ComponentSerial.serial.in_(wanted[i:i + 5000]))))
    if taken:
        raise Conflict(f"serial {sorted(taken)[0]!r} is already recorded for {lot.item.code} (serials are never "
                       "reused)", field="serials", obj=obj)
    by, now = user_id_of(session, actor), utcnow()
    rows = [ComponentSerial(lot_id=lot.id, item_id=lot.item_id, serial=s, received_at=now, received_by_id=by)
            for s in wanted]
    session.add_all(rows)
    session.flush()
    chain.append(session, actor, "lot.component_serials_received", "lot", lot.lot_number,
                 after={"item": lot.item.code, "count": len(wanted), "first": wanted[0], "last": wanted[-1],
                        "total": have + len(wanted)})
    return rows


def _parse(text: str, field: str) -> gs1.GS1Data:
    if not gs1.looks_like_gs1(text or ""):
        raise ValidationFailed(f"scan the component's GS1 string with (01) GTIN and (21) serial, not {text!r}",
                               field=field)
    data = gs1.parse(text)
    if not data.serial or not data.gtin:
        raise ValidationFailed(f"the scanned GS1 string {gs1.hri(data.elements)} needs (01) GTIN and (21) serial",
                               field=field)
    return data


def find_component_serial(session: Session, text: str) -> ComponentHit | None:
    """The component unit a scanned (01)…(21)… names (its (10), if there, must be its lot), or None."""
    data = _parse(text, "scan")
    row = session.execute(select(ComponentSerial, Lot).join(Lot, Lot.id == ComponentSerial.lot_id)
                          .join(Item, Item.id == ComponentSerial.item_id)
                          .where(Item.gtin == data.gtin, ComponentSerial.serial == data.serial)).first()
    if row is None:
        return None
    comp, lot = row
    if data.lot and data.lot not in (lot.lot_number, lot.supplier_lot.supplier_lot_number if lot.supplier_lot else None):
        raise ValidationFailed(f"component serial {data.serial} came with lot {lot.lot_number}, not with the "
                               f"scanned lot {data.lot}", field="scan")
    return ComponentHit(comp, lot, data)


def get_component_serial(session: Session, text: str) -> ComponentHit:
    """Like ``find_component_serial`` but NotFound names the serial."""
    hit = find_component_serial(session, text)
    if hit is None:
        data = _parse(text, "scan")
        raise NotFound(f"component serial {data.serial!r} of GTIN {data.gtin} is unknown: it was not received",
                       field="scan")
    return hit


def _per_unit(session: Session, lot: Lot, item: Item) -> int | None:
    """How many of ``item`` one unit of ``lot`` takes by its BOM revision (None: not on the BOM)."""
    rev = session.get(BomRevision, lot.bom_revision_id) if lot.bom_revision_id else None
    line = session.scalars(select(BomLine).where(BomLine.bom_revision_id == lot.bom_revision_id,
                                                 BomLine.component_id == item.id)).first() if rev else None
    if line is None:
        return None
    per = units.convert(line.quantity, line.unit, item.base_unit) / (rev.base_quantity or 1.0)
    return max(1, int(round(per)))


def _refusal(session: Session, unit: serials.SerialHit, hit: ComponentHit, fitted_now: dict[int, int]) -> str | None:
    """Why ``hit`` cannot go into ``unit`` (None when it can)."""
    comp, lot, number = hit.serial, hit.lot, hit.serial.serial
    if comp.unit_serial_id is not None:
        into = comp.unit_serial
        return f"component serial {number} was already fitted into unit {into.serial} of lot {into.lot.lot_number}"
    if lot.status != FITTABLE_LOT:
        return f"component serial {number} is from lot {lot.lot_number}, which is {lot.status}: only released lots"
    per_unit = _per_unit(session, unit.lot, comp.item)
    if per_unit is None:
        return (f"component serial {number} is {comp.item.code}, which the BOM of lot {unit.lot.lot_number} "
                "does not list")
    consumed = session.scalar(select(MaterialConsumption.id).where(
        MaterialConsumption.parent_lot_id == unit.lot.id, MaterialConsumption.component_lot_id == lot.id).limit(1))
    if consumed is None:
        return (f"component serial {number} is from lot {lot.lot_number}, which lot {unit.lot.lot_number} has not "
                "consumed (record the consumption first)")
    fitted = session.scalar(select(func.count(ComponentSerial.id)).where(
        ComponentSerial.unit_serial_id == unit.serial.id, ComponentSerial.item_id == comp.item_id)) or 0
    fitted += fitted_now.get(comp.item_id, 0)
    if fitted >= per_unit:
        return (f"component serial {number}: unit {unit.serial.serial} already holds {fitted} {comp.item.code}, "
                f"its BOM takes {per_unit}")
    return None


def fit_components(session: Session, actor: Actor, unit: serials.SerialHit | str, component_scans: list[str], *,
                   at: datetime | None = None) -> tuple[serials.SerialHit, list[ComponentSerial]]:
    """Record that the scanned component units went into the finished unit (found, or its scanned UDI),
    audited; all or none."""
    if isinstance(unit, str):
        unit = serials.get_serial(session, unit)
    obj = f"lot {unit.lot.lot_number}"
    if unit.lot.status not in serials.ASSIGNABLE:
        raise Conflict(f"{obj} is {unit.lot.status}: components are fitted while it is in process or completed",
                       field="status", obj=obj)
    scans = [s.strip() for s in component_scans if s and s.strip()]
    if not 1 <= len(scans) <= MAX_FIT:
        raise ValidationFailed(f"scan 1 to {MAX_FIT} component serials", field="components", obj=obj)
    hits: list[ComponentHit] = []
    fitted_now: dict[int, int] = {}
    for scan in scans:
        hit = get_component_serial(session, scan)
        if any(h.serial.id == hit.serial.id for h in hits):
            raise ValidationFailed(f"component serial {hit.serial.serial} is scanned twice", field="components",
                                   obj=obj)
        reason = _refusal(session, unit, hit, fitted_now)
        if reason:
            raise Conflict(reason, field="components", obj=obj)
        fitted_now[hit.serial.item_id] = fitted_now.get(hit.serial.item_id, 0) + 1
        hits.append(hit)
    by, when = user_id_of(session, actor), at or utcnow()
    for hit in hits:
        hit.serial.unit_serial_id, hit.serial.fitted_at, hit.serial.fitted_by_id = unit.serial.id, when, by
    session.flush()
    chain.append(session, actor, "serial.components_fitted", "lot", unit.lot.lot_number,
                 reason=f"components fitted into unit {unit.serial.serial}",
                 after={"unit_serial": unit.serial.serial, "fitted_at": when.isoformat(),
                        "components": [{"item": h.serial.item.code, "serial": h.serial.serial,
                                        "lot": h.lot.lot_number} for h in hits]})
    return unit, [h.serial for h in hits]


def components_of(session: Session, unit_serial_ids: list[int]) -> dict[int, list[dict]]:
    """Per finished unit (lot_serials.id), its component serials: item, serial, lot, when fitted."""
    out: dict[int, list[dict]] = {}
    for i in range(0, len(unit_serial_ids), 5000):
        rows = session.execute(
            select(ComponentSerial.unit_serial_id, Item.code, Item.name, ComponentSerial.serial, Lot.lot_number,
                   ComponentSerial.fitted_at)
            .join(Item, Item.id == ComponentSerial.item_id).join(Lot, Lot.id == ComponentSerial.lot_id)
            .where(ComponentSerial.unit_serial_id.in_(unit_serial_ids[i:i + 5000]))
            .order_by(ComponentSerial.unit_serial_id, Item.code, ComponentSerial.serial))
        for unit_id, code, name, serial, lot_number, fitted_at in rows:
            out.setdefault(unit_id, []).append({"item": code, "item_name": name, "serial": serial, "lot": lot_number,
                                                "fitted_at": fitted_at.isoformat() if fitted_at else None})
    return out


def where_fitted(hit: ComponentHit) -> dict:
    """What a component serial went into: the finished unit and its lot (status, quantities), or nothing yet."""
    comp, unit = hit.serial, hit.serial.unit_serial
    out = {"component": {"item": comp.item.code, "item_name": comp.item.name, "serial": comp.serial,
                         "lot": hit.lot.lot_number, "lot_status": hit.lot.status},
           "units": [], "lots": []}
    if unit is not None:
        lot = unit.lot
        out["units"].append({"serial": unit.serial, "lot": lot.lot_number, "lot_status": lot.status,
                             "packed": unit.packed_at is not None,
                             "fitted_at": comp.fitted_at.isoformat() if comp.fitted_at else None})
        out["lots"].append({"lot_number": lot.lot_number, "item": lot.item.code, "status": lot.status,
                            "quantity_made": lot.quantity_made, "quantity_approved": lot.quantity_approved,
                            "unit": lot.unit})
    return out


def component_serials_of_lot(session: Session, lot: Lot) -> list[ComponentSerial]:
    """The serials recorded with a component lot, in the order they were recorded."""
    return list(session.scalars(select(ComponentSerial).where(ComponentSerial.lot_id == lot.id)
                                .order_by(ComponentSerial.id)))
