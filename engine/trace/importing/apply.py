"""``--apply``: write a cleansed workbook through the master-data and production use cases.

Everything is written in the caller's transaction: master data as *draft* revisions (release
goes through change control), equipment and tooling as records, historical lots and their
genealogy as records marked as imported. Each object gets its own audit entry from the use
case that creates it, and the batch as a whole one ``import.apply`` entry with the reason and
the source's SHA-256, plus an ``import_batches`` row. Any error names its sheet and line and
aborts the whole import (the caller rolls back): all or nothing.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from audit import Actor
from audit.chain import append
from engine.errors import SealtrailError, ValidationFailed
from engine.masterdata import boms, catalog, routings
from engine.masterdata.models import (Bom, BomLine, BomRevision, Equipment, Item, Product, Routing, RoutingOperation,
                                      RoutingRevision, Tooling)
from engine.production.models import Lot, MaterialConsumption, SupplierLot
from engine.trace.importing.cleanse import BOOL, Known
from engine.trace.importing.report import Report
from engine.trace.importing.sheets import Row, Workbook
from engine.trace.models import ImportBatch


def known_from_db(session: Session) -> Known:
    """What the target database already holds, for the dry run's reference and cycle checks."""
    parent = select(Item.code).where(Item.id == Bom.item_id).scalar_subquery()
    component = select(Item.code).where(Item.id == BomLine.component_id).scalar_subquery()
    edges = session.execute(select(parent, component).select_from(BomLine)
                            .join(BomRevision, BomRevision.id == BomLine.bom_revision_id)
                            .join(Bom, Bom.id == BomRevision.bom_id)
                            .where(BomRevision.state.in_(("draft", "in_review", "released")))).all()
    ops = session.execute(select(Routing.code, RoutingOperation.sequence)
                          .join(RoutingRevision, RoutingRevision.routing_id == Routing.id)
                          .join(RoutingOperation, RoutingOperation.routing_revision_id == RoutingRevision.id)).all()
    return Known(items=dict(session.execute(select(Item.code, Item.base_unit)).all()),
                 equipment=set(session.scalars(select(Equipment.code))),
                 tooling=set(session.scalars(select(Tooling.code))),
                 lots=dict(session.execute(select(Lot.lot_number, Lot.unit)).all()),
                 bom_edges={(p, c) for p, c in edges}, operations={(r, str(s)) for r, s in ops})


def _flag(value: str) -> bool:
    return bool(BOOL.get(value.strip().lower()))


def _num(value: str, cast=float):
    return cast(float(value)) if value not in ("", None) else None


def _date(value: str) -> dt.date | None:
    return dt.date.fromisoformat(value[:10]) if value else None


def _moment(value: str) -> dt.datetime | None:
    if not value:
        return None
    moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


def apply_import(session: Session, actor: Actor, workbook: Workbook, report: Report, *, reason: str,
                 source_sha256: str) -> ImportBatch:
    """Write ``workbook`` (already cleansed into ``report``); refuses when the report has errors."""
    if not reason or not reason.strip():
        raise ValidationFailed("a reason is required to apply an import (it is a data migration)", field="reason")
    if not report.ok:
        raise ValidationFailed(f"the cleansing report has {len(report.errors)} error(s); fix the file first",
                               field="file", details=[f.as_dict() for f in report.errors[:50]])
    writer = _Writer(session, actor)
    counts = {}
    for kind in ("items", "products", "equipment", "tooling", "bom_lines", "operations", "parameters", "lots",
                 "consumptions"):
        for row in workbook.rows.get(kind, []):
            try:
                getattr(writer, kind)(row)
            except SealtrailError as exc:
                raise ValidationFailed(f"{row.where}: {exc.message}", field=exc.field or kind) from exc
        counts[kind] = len(workbook.rows.get(kind, []))
    batch = ImportBatch(source_name=workbook.source, source_sha256=source_sha256, reason=reason.strip(),
                        applied_by=actor.name, counts=counts,
                        findings={k: dict(v) for k, v in report.by_check().items()})
    session.add(batch)
    session.flush()
    append(session, actor, "import.apply", "import_batch", batch.id, reason=reason.strip(),
           after={"source": workbook.source, "source_sha256": source_sha256, "counts": counts})
    return batch


class _Writer:
    """One method per kind; keeps the drafts it opened so later rows add to them."""

    def __init__(self, session: Session, actor: Actor):
        self.s, self.actor = session, actor
        self.bom_revs: dict[str, object] = {}
        self.routing_revs: dict[str, object] = {}
        self.ops: dict[tuple[str, str], object] = {}

    def _item(self, code: str) -> Item:
        return catalog.get_by_code(self.s, Item, code)

    def items(self, r: Row) -> None:
        catalog.create_item(self.s, self.actor, code=r.get("code"), name=r.get("name"), item_type=r.get("item_type"),
                            base_unit=r.get("base_unit"), purchased=_flag(r.get("purchased")),
                            specification=r.get("specification"))

    def products(self, r: Row) -> None:
        content = {k: r.get(k) for k in ("gtin", "device_class", "sterilisation_method", "registration_number",
                                         "description") if r.get(k)}
        if r.get("gtin"):
            content.setdefault("udi_di", r.get("gtin"))
        if r.get("sterile"):
            content["sterile"] = _flag(r.get("sterile"))
        if r.get("shelf_life_months"):
            content["shelf_life_months"] = _num(r.get("shelf_life_months"), int)
        catalog.create_product(self.s, self.actor, code=r.get("code"), name=r.get("name"), item=self._item(r.get("item")),
                               change_summary="imported", **content)

    def equipment(self, r: Row) -> None:
        plan = {"equipment_type": r.get("equipment_type"), "work_centre": r.get("work_centre"),
                "calibration_required": _flag(r.get("calibration_required")),
                "calibration_interval_days": _num(r.get("calibration_interval_days"), int),
                "last_calibrated_on": _date(r.get("last_calibrated_on")),
                "maintenance_interval_days": _num(r.get("maintenance_interval_days"), int),
                "last_maintained_on": _date(r.get("last_maintained_on"))}
        eq = catalog.create_equipment(self.s, self.actor, code=r.get("code"), name=r.get("name"),
                                      **{k: v for k, v in plan.items() if v not in (None, "")})
        if r.get("status") and r.get("status") != "active":
            catalog.set_equipment_status(self.s, self.actor, eq, r.get("status"), reason="imported status")

    def tooling(self, r: Row) -> None:
        tool = catalog.create_tooling(self.s, self.actor, code=r.get("code"), name=r.get("name"),
                                      tooling_type=r.get("tooling_type"), life_cycles=_num(r.get("life_cycles"), int))
        used = _num(r.get("cycles_used"), int)
        if used:  # the usage counter carried over from the old system, audited as such
            tool.cycles_used = used
            self.s.flush()
            append(self.s, self.actor, "tooling.import_usage", "tooling", tool.code, reason="imported usage counter",
                   before={"cycles_used": 0}, after={"cycles_used": used})
        if r.get("status") and r.get("status") != "active":
            catalog.set_tooling_status(self.s, self.actor, tool, r.get("status"), reason="imported status")

    def bom_lines(self, r: Row) -> None:
        rev = self.bom_revs.get(r.get("bom"))
        if rev is None:
            _, rev = catalog.create_bom(self.s, self.actor, code=r.get("bom"), name=r.get("bom"),
                                        item=self._item(r.get("item")), change_summary="imported")
            self.bom_revs[r.get("bom")] = rev
        boms.add_line(self.s, self.actor, rev, component=self._item(r.get("component")),
                      quantity=float(r.get("quantity")), unit=r.get("unit"), position=int(float(r.get("position"))),
                      reference=r.get("reference"))

    def operations(self, r: Row) -> None:
        rev = self.routing_revs.get(r.get("routing"))
        if rev is None:
            _, rev = catalog.create_routing(self.s, self.actor, code=r.get("routing"), name=r.get("routing"),
                                            item=self._item(r.get("item")), change_summary="imported")
            self.routing_revs[r.get("routing")] = rev
        eq = [catalog.get_by_code(self.s, Equipment, c.strip()) for c in r.get("equipment").split(";") if c.strip()]
        tools = [catalog.get_by_code(self.s, Tooling, c.strip()) for c in r.get("tooling").split(";") if c.strip()]
        op = routings.add_operation(self.s, self.actor, rev, sequence=int(float(r.get("sequence"))), code=r.get("code"),
                                    name=r.get("name"), work_centre=r.get("work_centre"),
                                    qc_point=_flag(r.get("qc_point")), equipment=eq, tooling=tools)
        self.ops[(r.get("routing"), str(int(float(r.get("sequence")))))] = op

    def parameters(self, r: Row) -> None:
        op = self.ops.get((r.get("routing"), str(int(float(r.get("sequence"))))))
        if op is None:
            raise ValidationFailed(f"operation {r.get('sequence')} of routing {r.get('routing')} is not in this "
                                   "import (parameters can only be added to imported draft routings)", field="sequence")
        routings.add_parameter(self.s, self.actor, op, name=r.get("name"), unit=r.get("unit"),
                               target=_num(r.get("target")), lsl=_num(r.get("lsl")), usl=_num(r.get("usl")),
                               lcl=_num(r.get("lcl")), ucl=_num(r.get("ucl")), critical=_flag(r.get("critical")))

    def lots(self, r: Row) -> None:
        item = self._item(r.get("item"))
        product = self.s.scalars(select(Product).where(Product.item_id == item.id)).first()
        supplier_lot_id = None
        if r.get("supplier") and r.get("supplier_lot_number"):
            supplier_lot_id = self.s.execute(insert(SupplierLot).values(
                item_id=item.id, supplier=r.get("supplier"), supplier_lot_number=r.get("supplier_lot_number"),
                received_on=_date(r.get("received_on")) or _date(r.get("started_at")) or dt.date.today(),
                quantity_received=_num(r.get("quantity_made")) or 0.0, unit=r.get("unit"),
                expires_on=_date(r.get("expires_on")))).inserted_primary_key[0]
        values = dict(lot_number=r.get("lot_number"), item_id=item.id, product_id=product.id if product else None,
                      source=r.get("source") or ("purchased" if item.purchased else "made"),
                      status=r.get("status") or "completed", unit=r.get("unit"),
                      quantity_made=_num(r.get("quantity_made")) or 0.0,
                      quantity_approved=_num(r.get("quantity_approved")) or 0.0,
                      quantity_planned=_num(r.get("quantity_made")) or 0.0,
                      started_at=_moment(r.get("started_at")), completed_at=_moment(r.get("completed_at")),
                      expires_on=_date(r.get("expires_on")), supplier_lot_id=supplier_lot_id,
                      notes="imported historical lot")
        self.s.execute(insert(Lot).values(**values))
        append(self.s, self.actor, "lot.import", "lot", r.get("lot_number"), reason="historical lot imported",
               after={k: v for k, v in values.items() if k not in ("item_id", "product_id", "supplier_lot_id")}
               | {"item": item.code, "supplier": r.get("supplier") or None,
                  "supplier_lot_number": r.get("supplier_lot_number") or None})

    def consumptions(self, r: Row) -> None:
        ids = dict(self.s.execute(select(Lot.lot_number, Lot.id).where(
            Lot.lot_number.in_((r.get("parent_lot"), r.get("component_lot"))))).all())
        self.s.execute(insert(MaterialConsumption).values(
            parent_lot_id=ids[r.get("parent_lot")], component_lot_id=ids[r.get("component_lot")],
            quantity=float(r.get("quantity")), unit=r.get("unit"),
            consumed_at=_moment(r.get("consumed_at")) or dt.datetime.now(dt.timezone.utc)))
        append(self.s, self.actor, "lot.consume", "lot", r.get("parent_lot"), reason="historical genealogy imported",
               after={"component_lot": r.get("component_lot"), "quantity": float(r.get("quantity")),
                      "unit": r.get("unit")})
