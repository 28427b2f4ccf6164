"""Serial numbers (GS1 AI 21) of the units of finished lots: assigned (one by one or as a range),
scanned at packing, and found again from a scanned UDI, so genealogy and recall work from a serial
as from a lot. A serial is unique per item (the device a GTIN names) and never reused.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from audit import Actor, chain
from engine.db import utcnow
from engine.errors import Conflict, NotFound, ValidationFailed
from engine.masterdata.revisions import user_id_of
from engine.production.models import Lot, LotSerial
from engine.trace import gs1

MAX_PER_CALL = 100_000
ASSIGNABLE = ("in_process", "completed")
_CSET82 = re.compile(r"^[!\"%&'()*+,\-./0-9:;<=>?A-Z_a-z]{1,20}$")
_TRAILING_DIGITS = re.compile(r"^(.*?)(\d+)$")


@dataclass(frozen=True)
class SerialHit:
    """A serial found from a scan: the unit's serial, its lot and the GS1 data scanned."""

    serial: LotSerial
    lot: Lot
    scanned: gs1.GS1Data | None


def expand_range(first: str, count: int) -> list[str]:
    """``count`` serials from ``first`` on, counting up its trailing digits (width kept: SN0099 → SN0100)."""
    match = _TRAILING_DIGITS.match(first or "")
    if not match:
        raise ValidationFailed("the first serial of a range must end in digits", field="first")
    if not isinstance(count, int) or not 1 <= count <= MAX_PER_CALL:
        raise ValidationFailed(f"count must be 1 to {MAX_PER_CALL}", field="count")
    prefix, digits = match.groups()
    start = int(digits)
    out = [f"{prefix}{n:0{len(digits)}d}" for n in range(start, start + count)]
    if len(out[-1]) > 20:
        raise ValidationFailed(f"the range ends at {out[-1]!r}: a GS1 serial has at most 20 characters",
                               field="count")
    return out


def check_serials(serials: list[str], obj: str) -> None:
    """Refuse (ValidationFailed naming the serial) anything but 1 to MAX_PER_CALL distinct GS1 AI 21 values."""
    if not serials or len(serials) > MAX_PER_CALL:
        raise ValidationFailed(f"give 1 to {MAX_PER_CALL} serials", field="serials", obj=obj)
    bad = [s for s in serials if not _CSET82.match(s or "")]
    if bad:
        raise ValidationFailed(f"not a GS1 serial (AI 21: 1–20 characters of CSET 82): {bad[0]!r}",
                               field="serials", obj=obj)
    if len(set(serials)) != len(serials):
        raise ValidationFailed("a serial is given twice", field="serials", obj=obj)


def assign_serials(session: Session, actor: Actor, lot: Lot, serials: list[str]) -> list[LotSerial]:
    """Give ``serials`` to units of the finished ``lot`` (audited); all or none."""
    obj = f"lot {lot.lot_number}"
    if lot.product_id is None:
        raise ValidationFailed(f"{obj} is not a finished-device lot: serials identify device units",
                               field="lot", obj=obj)
    if lot.status not in ASSIGNABLE:
        raise Conflict(f"{obj} is {lot.status}: serials are assigned while it is in process or completed",
                       field="status", obj=obj)
    check_serials(serials, obj)
    have = session.scalar(select(func.count(LotSerial.id)).where(LotSerial.lot_id == lot.id)) or 0
    units = int(round(lot.quantity_made or lot.quantity_planned or 0))
    if have + len(serials) > units:
        raise ValidationFailed(f"{obj} has {units} unit(s) and {have} serial(s): {len(serials)} more would exceed it",
                               field="serials", obj=obj)
    taken = set()
    for i in range(0, len(serials), 5000):
        taken |= set(session.scalars(select(LotSerial.serial).where(
            LotSerial.item_id == lot.item_id, LotSerial.serial.in_(serials[i:i + 5000]))))
    if taken:
        raise Conflict(f"serial {sorted(taken)[0]!r} is already used for {lot.item.code} (serials are never reused)",
                       field="serials", obj=obj)
    by, now = user_id_of(session, actor), utcnow()
    rows = [LotSerial(lot_id=lot.id, item_id=lot.item_id, serial=s, assigned_at=now, assigned_by_id=by)
            for s in serials]
    session.add_all(rows)
    session.flush()
    chain.append(session, actor, "lot.serials_assigned", "lot", lot.lot_number,
                 after={"count": len(serials), "first": serials[0], "last": serials[-1], "total": have + len(serials)})
    return rows


def _parse_unit_scan(text: str) -> gs1.GS1Data:
    if not gs1.looks_like_gs1(text or ""):
        raise ValidationFailed("scan the unit's UDI: a GS1 string with (01) GTIN and (21) serial", field="scan")
    data = gs1.parse(text)
    if not data.serial or not data.gtin:
        raise ValidationFailed("the scanned GS1 string needs (01) GTIN and (21) serial", field="scan")
    return data


def find_serial(session: Session, text: str) -> SerialHit | None:
    """The unit a scanned UDI (01)…(21)… names (its lot, if (10) is there, must agree), or None."""
    data = _parse_unit_scan(text)
    rows = session.execute(select(LotSerial, Lot).join(Lot, Lot.id == LotSerial.lot_id)
                           .where(LotSerial.serial == data.serial)).all()
    for serial, lot in rows:
        rev = lot.product_revision
        if rev is not None and rev.gtin and rev.gtin.zfill(14) == data.gtin:
            if data.lot and data.lot != lot.lot_number:
                raise ValidationFailed(f"serial {data.serial} belongs to lot {lot.lot_number}, not to the scanned "
                                       f"lot {data.lot}", field="scan")
            return SerialHit(serial, lot, data)
    return None


def get_serial(session: Session, text: str) -> SerialHit:
    """Like ``find_serial`` but NotFound names the serial."""
    hit = find_serial(session, text)
    if hit is None:
        data = _parse_unit_scan(text)
        raise NotFound(f"no unit with serial {data.serial!r} of GTIN {data.gtin}", field="serial")
    return hit


def get_unit(session: Session, lot: Lot, serial: str) -> SerialHit:
    """The unit of ``lot`` with ``serial``; NotFound names both."""
    row = session.scalars(select(LotSerial).where(LotSerial.lot_id == lot.id, LotSerial.serial == serial)).first()
    if row is None:
        raise NotFound(f"lot {lot.lot_number} has no unit with serial {serial!r}", field="serial")
    return SerialHit(row, lot, None)


def record_packing(session: Session, actor: Actor, scan: str, *, at: datetime | None = None) -> SerialHit:
    """The unit scanned at packing: known, of a lot that may be packed, not packed before (audited)."""
    hit = get_serial(session, scan)
    obj = f"lot {hit.lot.lot_number}"
    if hit.lot.status in ("rejected", "on_hold", "planned"):
        raise Conflict(f"{obj} is {hit.lot.status}: its units are not packed", field="status", obj=obj)
    if hit.serial.packed_at is not None:
        raise Conflict(f"serial {hit.serial.serial} was already packed at {hit.serial.packed_at.isoformat()}",
                       field="scan", obj=obj)
    hit.serial.packed_at, hit.serial.packed_by_id = at or utcnow(), user_id_of(session, actor)
    session.flush()
    chain.append(session, actor, "serial.packed", "lot", hit.lot.lot_number,
                 after={"serial": hit.serial.serial, "packed_at": hit.serial.packed_at.isoformat()})
    return hit


def serials_of(session: Session, lot: Lot) -> list[LotSerial]:
    """The lot's serials in the order they were assigned."""
    return list(session.scalars(select(LotSerial).where(LotSerial.lot_id == lot.id).order_by(LotSerial.id)))
