"""Creating master rows: items, equipment, tooling, and the versioned objects with their first draft."""
from __future__ import annotations

import re
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from audit import Actor, chain
from engine.errors import Conflict, NotFound, ValidationFailed
from engine.masterdata import revisions, units
from engine.masterdata.models import (DOCUMENT_TYPES, EQUIPMENT_STATUSES, ITEM_TYPES, TOOLING_STATUSES, Bom, Document,
                                      Equipment, Item, Product, RevisionMixin, Routing, Tooling)
from engine.masterdata.product_checks import gtin_problem, normalize_gtin
from engine.masterdata.routings import effective_operations_using_equipment
from engine.production.models import ComponentSerial
from engine.snapshot import changed_values, row_values

CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$")
ITEM_FIELDS = ("name", "specification", "active", "purchased", "gtin", "serialised")
PLAN_FIELDS = ("name", "equipment_type", "work_centre", "manufacturer", "serial_number", "calibration_required",
               "calibration_interval_days", "last_calibrated_on", "maintenance_interval_days", "last_maintained_on")


def _code(session: Session, cls, code: str) -> str:
    code = (code or "").strip()
    if not CODE_RE.match(code):
        raise ValidationFailed(f"code {code!r} must be 1-64 letters, digits, '.', '_', '/' or '-'", field="code")
    if session.scalars(select(cls.id).where(cls.code == code)).first() is not None:
        raise Conflict(f"{cls.__tablename__} code {code!r} exists", field="code", obj=code)
    return code


def _choice(value: str, choices: tuple[str, ...], field: str) -> str:
    if value not in choices:
        raise ValidationFailed(f"{field} must be one of {', '.join(choices)}, got {value!r}", field=field)
    return value


def get_by_code(session: Session, cls, code: str):
    """The master row of ``cls`` with ``code`` or NotFound."""
    found = session.scalars(select(cls).where(cls.code == code)).first()
    if found is None:
        raise NotFound(f"{cls.__tablename__} {code!r} does not exist", field="code", obj=code)
    return found


def create_item(session: Session, actor: Actor, *, code: str, name: str, item_type: str, base_unit: str,
                purchased: bool = False, specification: str = "", gtin: str | None = None,
                serialised: bool = False) -> Item:
    """A material or component; ``base_unit`` is fixed for the item's life."""
    code = _code(session, Item, code)
    _choice(item_type, ITEM_TYPES, "item_type")
    units.parse_unit(base_unit, field="base_unit", obj=code)
    item = Item(code=code, name=name, item_type=item_type, base_unit=base_unit, purchased=purchased,
                specification=specification, active=True, serialised=serialised)
    item.gtin = _check_serialisation(session, item, gtin=gtin, serialised=serialised)
    session.add(item)
    session.flush()
    chain.append(session, actor, "item.create", "item", code, after=row_values(item, exclude=("id",)))
    return item


def update_item(session: Session, actor: Actor, item: Item, *, reason: str, **fields) -> Item:
    """Change an item's name, specification, flags or GTIN (never its code or unit)."""
    if "gtin" in fields or "serialised" in fields:
        fields["gtin"] = _check_serialisation(
            session, item, gtin=fields.get("gtin", item.gtin), serialised=fields.get("serialised", item.serialised))
    return _update(session, actor, item, "item", ITEM_FIELDS, reason, fields)


def _check_serialisation(session: Session, item: Item, *, gtin: str | None, serialised: bool) -> str | None:
    """The item's GTIN as stored (14 digits) if ``gtin``/``serialised`` may be set: a serialised item is a
    component with its own valid GTIN (scanned as (01) with its serial (21))."""
    gtin = (gtin or "").strip() or None
    if gtin is not None:
        problem = gtin_problem(gtin)
        if problem:
            raise ValidationFailed(f"item {item.code}: gtin {gtin!r} {problem}", field="gtin", obj=item.code)
        gtin = normalize_gtin(gtin)
        other = session.scalar(select(Item.code).where(Item.gtin == gtin, Item.code != item.code))
        if other:
            raise Conflict(f"GTIN {gtin} is already item {other}'s", field="gtin", obj=item.code)
    if serialised:
        if item.item_type == "finished_good":
            raise ValidationFailed(f"item {item.code} is a finished good: its units get serials with their lot "
                                   "(sealtrail serials assign)", field="serialised", obj=item.code)
        if gtin is None:
            raise ValidationFailed(f"item {item.code}: a serialised component needs its GTIN (the (01) scanned "
                                   "with its serial)", field="gtin", obj=item.code)
    elif item.serialised and item.id is not None and session.scalar(
            select(ComponentSerial.id).where(ComponentSerial.item_id == item.id).limit(1)) is not None:
        raise Conflict(f"item {item.code} has recorded serials: it stays serialised", field="serialised",
                       obj=item.code)
    return gtin


def _update(session: Session, actor: Actor, obj, kind: str, allowed: tuple[str, ...], reason: str, fields: dict):
    if not reason or not reason.strip():
        raise ValidationFailed("a reason is required", field="reason")
    unknown = set(fields) - set(allowed)
    if unknown:
        raise ValidationFailed(f"{kind} {obj.code}: field(s) {', '.join(sorted(unknown))} cannot be changed",
                               field=sorted(unknown)[0], obj=obj.code)
    before = row_values(obj)
    for key, value in fields.items():
        setattr(obj, key, value)
    session.flush()
    old, new = changed_values(before, row_values(obj))
    if new:
        chain.append(session, actor, f"{kind}.update", kind, obj.code, reason=reason, before=old, after=new)
    return obj


def _due(last: date | None, interval: int | None) -> date | None:
    return last + timedelta(days=interval) if last and interval else None


def _check_plan(eq: Equipment) -> None:
    for field in ("calibration_interval_days", "maintenance_interval_days"):
        value = getattr(eq, field)
        if value is not None and value <= 0:
            raise ValidationFailed(f"equipment {eq.code}: {field} must be positive", field=field, obj=eq.code)
    if eq.calibration_required and not eq.calibration_interval_days:
        raise ValidationFailed(f"equipment {eq.code}: calibration_interval_days is required when calibration "
                               "is required", field="calibration_interval_days", obj=eq.code)
    eq.calibration_due_on = _due(eq.last_calibrated_on, eq.calibration_interval_days)
    eq.maintenance_due_on = _due(eq.last_maintained_on, eq.maintenance_interval_days)


def create_equipment(session: Session, actor: Actor, *, code: str, name: str, **plan) -> Equipment:
    """A machine or instrument; due dates follow from last-done dates and intervals."""
    code = _code(session, Equipment, code)
    unknown = set(plan) - set(PLAN_FIELDS)
    if unknown:
        raise ValidationFailed(f"unknown equipment field(s) {', '.join(sorted(unknown))}", field=sorted(unknown)[0])
    eq = Equipment(code=code, name=name, status="active", **plan)
    _check_plan(eq)
    session.add(eq)
    session.flush()
    chain.append(session, actor, "equipment.create", "equipment", code, after=row_values(eq, exclude=("id",)))
    return eq


def update_equipment(session: Session, actor: Actor, eq: Equipment, *, reason: str, **fields) -> Equipment:
    """Change an equipment's description or calibration/maintenance plan (due dates recomputed)."""
    if not reason or not reason.strip():
        raise ValidationFailed("a reason is required", field="reason")
    unknown = set(fields) - set(PLAN_FIELDS)
    if unknown:
        raise ValidationFailed(f"equipment {eq.code}: field(s) {', '.join(sorted(unknown))} cannot be changed",
                               field=sorted(unknown)[0], obj=eq.code)
    before = row_values(eq)
    for key, value in fields.items():
        setattr(eq, key, value)
    _check_plan(eq)
    session.flush()
    old, new = changed_values(before, row_values(eq))
    if new:
        chain.append(session, actor, "equipment.update", "equipment", eq.code, reason=reason, before=old, after=new)
    return eq


def set_equipment_status(session: Session, actor: Actor, eq: Equipment, status: str, *, reason: str) -> Equipment:
    """Put equipment in or out of service, or retire it (refused while an effective routing uses it)."""
    _choice(status, EQUIPMENT_STATUSES, "status")
    if status == "obsolete":
        used = effective_operations_using_equipment(session, eq)
        if used:
            names = ", ".join(f"{op.revision.describe()} op {op.sequence}" for op in used)
            raise Conflict(f"equipment {eq.code} is used by {names}; release routings without it first",
                           field="status", obj=eq.code)
    if eq.status == "obsolete" and status != "obsolete":
        raise Conflict(f"equipment {eq.code} is obsolete; retired equipment is not brought back", field="status",
                       obj=eq.code)
    return _set_status(session, actor, eq, "equipment", status, reason)


def _set_status(session, actor, obj, kind, status, reason):
    if not reason or not reason.strip():
        raise ValidationFailed("a reason is required", field="reason")
    old = obj.status
    if old == status:
        return obj
    obj.status = status
    session.flush()
    chain.append(session, actor, f"{kind}.set_status", kind, obj.code, reason=reason, before={"status": old},
                 after={"status": status})
    return obj


def create_tooling(session: Session, actor: Actor, *, code: str, name: str, tooling_type: str = "",
                   life_cycles: int | None = None) -> Tooling:
    code = _code(session, Tooling, code)
    if life_cycles is not None and life_cycles <= 0:
        raise ValidationFailed(f"tooling {code}: life_cycles must be positive", field="life_cycles", obj=code)
    tool = Tooling(code=code, name=name, tooling_type=tooling_type, life_cycles=life_cycles, status="active",
                   cycles_used=0)
    session.add(tool)
    session.flush()
    chain.append(session, actor, "tooling.create", "tooling", code, after=row_values(tool, exclude=("id",)))
    return tool


TOOLING_FIELDS = ("name", "tooling_type", "life_cycles")


def update_tooling(session: Session, actor: Actor, tool: Tooling, *, reason: str, **fields) -> Tooling:
    """Change a tool's name, type or life in cycles (a life below the cycles used blocks the tool)."""
    life = fields.get("life_cycles", tool.life_cycles)
    if life is not None and (isinstance(life, bool) or not isinstance(life, int) or life <= 0):
        raise ValidationFailed(f"tooling {tool.code}: life_cycles must be a positive whole number",
                               field="life_cycles", obj=tool.code)
    return _update(session, actor, tool, "tooling", TOOLING_FIELDS, reason, fields)


def set_tooling_status(session: Session, actor: Actor, tool: Tooling, status: str, *, reason: str) -> Tooling:
    _choice(status, TOOLING_STATUSES, "status")
    return _set_status(session, actor, tool, "tooling", status, reason)


def create_document(session: Session, actor: Actor, *, code: str, title: str, doc_type: str, body: str = "",
                    change_summary: str = "initial issue") -> tuple[Document, RevisionMixin]:
    """A controlled document and its first draft revision (A)."""
    code = _code(session, Document, code)
    _choice(doc_type, DOCUMENT_TYPES, "doc_type")
    doc = Document(code=code, title=title, doc_type=doc_type)
    session.add(doc)
    session.flush()
    chain.append(session, actor, "document.create", "document", code, after={"title": title, "doc_type": doc_type})
    rev = revisions.start_revision(session, actor, doc, change_summary=change_summary, title=title, body=body)
    return doc, rev


def create_product(session: Session, actor: Actor, *, code: str, name: str, item: Item,
                   change_summary: str = "initial issue", **content) -> tuple[Product, RevisionMixin]:
    """A product made as ``item`` (a finished good) and its first draft revision (UDI-DI / GTIN there)."""
    code = _code(session, Product, code)
    if item.item_type != "finished_good":
        raise ValidationFailed(f"product {code}: item {item.code} is a {item.item_type}, not a finished_good",
                               field="item", obj=code)
    product = Product(code=code, name=name, item=item)
    session.add(product)
    session.flush()
    chain.append(session, actor, "product.create", "product", code, after={"name": name, "item": item.code})
    rev = revisions.start_revision(session, actor, product, change_summary=change_summary, **content)
    return product, rev


def create_bom(session: Session, actor: Actor, *, code: str, name: str, item: Item, base_quantity: float = 1.0,
               change_summary: str = "initial issue") -> tuple[Bom, RevisionMixin]:
    """The BOM that makes ``item`` and its first (empty) draft revision."""
    code = _code(session, Bom, code)
    _one_per_item(session, Bom, item, code)
    bom = Bom(code=code, name=name, item=item)
    session.add(bom)
    session.flush()
    chain.append(session, actor, "bom.create", "bom", code, after={"name": name, "item": item.code})
    rev = revisions.start_revision(session, actor, bom, change_summary=change_summary, base_quantity=base_quantity)
    return bom, rev


def create_routing(session: Session, actor: Actor, *, code: str, name: str, item: Item,
                   change_summary: str = "initial issue") -> tuple[Routing, RevisionMixin]:
    """The routing that makes ``item`` and its first (empty) draft revision."""
    code = _code(session, Routing, code)
    _one_per_item(session, Routing, item, code)
    routing = Routing(code=code, name=name, item=item)
    session.add(routing)
    session.flush()
    chain.append(session, actor, "routing.create", "routing", code, after={"name": name, "item": item.code})
    rev = revisions.start_revision(session, actor, routing, change_summary=change_summary)
    return routing, rev


def _one_per_item(session: Session, cls, item: Item, code: str) -> None:
    other = session.scalars(select(cls).where(cls.item_id == item.id)).first()
    if other is not None:
        raise Conflict(f"{cls.__tablename__[:-1]} {code}: item {item.code} already has {other.code}", field="item",
                       obj=code)
