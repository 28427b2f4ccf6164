"""Impact analysis of a change: walk the master-data graph from what changes to what it touches.

Subjects are draft revisions (product, BOM, routing, document) and directly changed objects
(item, equipment, tooling, document, operation parameter). From them the walk finds the BOMs
that use an affected item (where-used, every level up to the finished product), the routing
operations that run on affected equipment/tooling, follow affected documents or carry affected
parameters, the SOPs/process cards and inspection items of those operations, the products on
top, and the planned or in-process lots pinned to the affected revisions. Rule-based flags say
whether validation (IQ/OQ/PQ), regulatory notification or retraining may be needed; the
engineer confirms or overrides them in the risk assessment.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from engine.masterdata.models import (
    Bom, BomLine, BomRevision, Document, DocumentRevision, Equipment, Item, OperationDocument,
    OperationEquipment, OperationParameter, OperationTooling, Product, ProductRevision, Routing,
    RoutingOperation, RoutingRevision, Tooling,
)
from engine.production.models import Lot
from engine.processes.diffs import diff_revision
from engine.processes.rules import evaluate_flags
from engine.users.models import TrainingRecord

ACTIVE_LOT_STATUSES = ("planned", "in_process")
MAX_DEPTH = 20  # BOM levels; a deeper where-used chain is a data error, not a device


@dataclass
class Walk:
    """The affected sets, kept as ids while walking; rendered to JSON-able rows at the end."""

    items: set[int] = field(default_factory=set)
    boms: set[int] = field(default_factory=set)
    routings: set[int] = field(default_factory=set)
    products: set[int] = field(default_factory=set)
    operations: set[int] = field(default_factory=set)
    documents: set[int] = field(default_factory=set)
    why: dict[tuple[str, int], str] = field(default_factory=dict)
    changes: list[dict] = field(default_factory=list)
    subjects: list[dict] = field(default_factory=list)

    def mark(self, kind: str, ids: set[int], ident: int, because: str) -> bool:
        if ident in ids:
            return False
        ids.add(ident)
        self.why.setdefault((kind, ident), because)
        return True


def analyse(session: Session, revisions: list, objects: list) -> dict:
    """Impact of releasing ``revisions`` (draft revision rows) and changing ``objects`` (model rows)."""
    walk = Walk()
    for rev in revisions:
        _seed_revision(session, walk, rev)
    for obj in objects:
        _seed_object(session, walk, obj)
    _documents_to_operations(session, walk)
    _operations_to_routings(session, walk)
    _where_used(session, walk)
    _items_to_products(session, walk)
    result = _render(session, walk)
    result["flags"] = evaluate_flags(session, revisions, objects, result)
    return result


# --------------------------------------------------------------------------- seeding

def _seed_revision(session: Session, walk: Walk, rev) -> None:
    name = rev.describe()
    walk.subjects.append({"kind": rev.revision_kind, "code": rev.master.code, "label": rev.label,
                          "state": rev.state, "description": name})
    walk.changes.extend(diff_revision(session, rev))
    if isinstance(rev, ProductRevision):
        walk.mark("product", walk.products, rev.product_id, f"{name} is released by this change")
        walk.mark("item", walk.items, rev.master.item_id, f"{name} is released by this change")
    elif isinstance(rev, BomRevision):
        walk.mark("bom", walk.boms, rev.bom_id, f"{name} is released by this change")
        walk.mark("item", walk.items, rev.master.item_id, f"its BOM changes ({name})")
    elif isinstance(rev, RoutingRevision):
        walk.mark("routing", walk.routings, rev.routing_id, f"{name} is released by this change")
        walk.mark("item", walk.items, rev.master.item_id, f"its routing changes ({name})")
        for op in _released_operations(session, rev.routing_id):
            walk.mark("operation", walk.operations, op.id, f"{name} replaces this operation's revision")
    elif isinstance(rev, DocumentRevision):
        walk.mark("document", walk.documents, rev.document_id, f"{name} is released by this change")


def _seed_object(session: Session, walk: Walk, obj) -> None:
    if isinstance(obj, Item):
        walk.subjects.append({"kind": "item", "code": obj.code, "description": f"item {obj.code} {obj.name}"})
        walk.mark("item", walk.items, obj.id, "changed item")
    elif isinstance(obj, Document):
        walk.subjects.append({"kind": "document", "code": obj.code, "description": f"document {obj.code}"})
        walk.mark("document", walk.documents, obj.id, "changed document")
    elif isinstance(obj, Equipment | Tooling):
        kind, link = ("equipment", OperationEquipment) if isinstance(obj, Equipment) else ("tooling", OperationTooling)
        walk.subjects.append({"kind": kind, "code": obj.code, "description": f"{kind} {obj.code} {obj.name}"})
        column = link.equipment_id if kind == "equipment" else link.tooling_id
        for op in _operations_in_use(session, select(link.operation_id).where(column == obj.id)):
            walk.mark("operation", walk.operations, op.id, f"runs on {kind} {obj.code}")
    elif isinstance(obj, OperationParameter):
        op = obj.operation
        desc = f"parameter {op.revision.master.code}/{op.code}/{obj.name}"
        walk.subjects.append({"kind": "parameter", "code": f"{op.revision.master.code}/{op.code}/{obj.name}",
                              "description": desc, "critical": obj.critical})
        walk.mark("operation", walk.operations, op.id, f"carries {desc}")
    else:  # pragma: no cover - callers resolve objects to these classes
        raise TypeError(f"cannot analyse the impact of {type(obj).__name__}")


# --------------------------------------------------------------------------- walking

def _released_operations(session: Session, routing_id: int) -> list[RoutingOperation]:
    return list(session.scalars(
        select(RoutingOperation).join(RoutingRevision)
        .where(RoutingRevision.routing_id == routing_id, RoutingRevision.state == "released")
    ))


def _operations_in_use(session: Session, op_ids_query) -> list[RoutingOperation]:
    """Operations of released (effective) or in-review routing revisions among ``op_ids_query``."""
    return list(session.scalars(
        select(RoutingOperation).join(RoutingRevision)
        .where(RoutingOperation.id.in_(op_ids_query), RoutingRevision.state.in_(("released", "in_review")))
        .order_by(RoutingOperation.id)
    ))


def _documents_to_operations(session: Session, walk: Walk) -> None:
    if not walk.documents:
        return
    query = select(OperationDocument.operation_id).where(OperationDocument.document_id.in_(walk.documents))
    for op in _operations_in_use(session, query):
        doc = next(link.document for link in op.document_links if link.document_id in walk.documents)
        walk.mark("operation", walk.operations, op.id, f"follows {doc.doc_type} {doc.code}")


def _operations_to_routings(session: Session, walk: Walk) -> None:
    for op in session.scalars(select(RoutingOperation).where(RoutingOperation.id.in_(walk.operations))):
        routing = op.revision.master
        if walk.mark("routing", walk.routings, routing.id, f"operation {op.sequence} {op.code} is affected"):
            walk.mark("item", walk.items, routing.item_id, f"its routing {routing.code} is affected")


def _where_used(session: Session, walk: Walk) -> None:
    """Every BOM (released or in review) using an affected item, up to the top level."""
    frontier, depth = set(walk.items), 0
    while frontier and depth < MAX_DEPTH:
        depth += 1
        rows = session.execute(
            select(BomLine.component_id, Bom.id, Bom.item_id, Bom.code, Item.code)
            .join(BomRevision, BomLine.bom_revision_id == BomRevision.id)
            .join(Bom, BomRevision.bom_id == Bom.id)
            .join(Item, BomLine.component_id == Item.id)
            .where(BomLine.component_id.in_(frontier), BomRevision.state.in_(("released", "in_review")))
        ).all()
        frontier = set()
        for _component_id, bom_id, parent_item_id, bom_code, component_code in rows:
            walk.mark("bom", walk.boms, bom_id, f"uses {component_code}")
            if walk.mark("item", walk.items, parent_item_id, f"its BOM {bom_code} uses {component_code}"):
                frontier.add(parent_item_id)


def _items_to_products(session: Session, walk: Walk) -> None:
    for product in session.scalars(select(Product).where(Product.item_id.in_(walk.items))):
        walk.mark("product", walk.products, product.id, walk.why.get(("item", product.item_id), "affected item"))


# --------------------------------------------------------------------------- rendering

def _effective(session: Session, model, fk, ids: set[int]) -> dict[int, object]:
    if not ids:
        return {}
    rows = session.scalars(select(model).where(fk.in_(ids), model.state == "released"))
    return {getattr(r, fk.key): r for r in rows}


def _render(session: Session, walk: Walk) -> dict:
    bom_revs = _effective(session, BomRevision, BomRevision.bom_id, walk.boms)
    routing_revs = _effective(session, RoutingRevision, RoutingRevision.routing_id, walk.routings)
    product_revs = _effective(session, ProductRevision, ProductRevision.product_id, walk.products)
    ops = list(session.scalars(select(RoutingOperation).where(RoutingOperation.id.in_(walk.operations))
                               .order_by(RoutingOperation.routing_revision_id, RoutingOperation.sequence)))
    out = {
        "subjects": walk.subjects,
        "changes": walk.changes,
        "products": [_row(p.master, p, walk.why[("product", p.product_id)], registration=p.registration_number,
                          device_class=p.device_class) for p in product_revs.values()]
        + [{"code": p.code, "name": p.name, "revision": None, "why": walk.why[("product", p.id)]}
           for p in session.scalars(select(Product).where(Product.id.in_(walk.products - set(product_revs))))],
        "boms": _masters(session, Bom, walk.boms, bom_revs, walk, "bom"),
        "routings": _masters(session, Routing, walk.routings, routing_revs, walk, "routing"),
        "operations": [{"routing": op.revision.master.code, "revision": op.revision.label, "sequence": op.sequence,
                        "code": op.code, "name": op.name, "why": walk.why[("operation", op.id)]} for op in ops],
        "documents": _documents(session, ops, walk),
        "inspection_items": [{"routing": op.revision.master.code, "operation": op.code, "name": ii.name,
                              "kind": ii.kind} for op in ops for ii in op.inspection_items],
        "lots": _lots(session, walk, bom_revs, routing_revs, product_revs),
    }
    out["training"] = _training(session, walk)
    out["counts"] = {k: len(v) for k, v in out.items() if isinstance(v, list)}
    return out


def _row(master, rev, why, **extra) -> dict:
    return {"code": master.code, "name": master.name, "revision": rev.label if rev else None, "why": why, **extra}


def _masters(session: Session, model, ids: set[int], effective: dict, walk: Walk, kind: str) -> list[dict]:
    rows = session.scalars(select(model).where(model.id.in_(ids)).order_by(model.code)) if ids else []
    return [_row(m, effective.get(m.id), walk.why[(kind, m.id)]) for m in rows]


def _documents(session: Session, ops: list[RoutingOperation], walk: Walk) -> list[dict]:
    seen: dict[int, dict] = {}
    for op in ops:
        for link in op.document_links:
            row = seen.setdefault(link.document_id, {
                "code": link.document.code, "title": link.document.title, "doc_type": link.document.doc_type,
                "purpose": link.purpose, "operations": [], "changed": link.document_id in walk.documents})
            row["operations"].append(f"{op.revision.master.code}/{op.code}")
    for doc in session.scalars(select(Document).where(Document.id.in_(walk.documents - set(seen)))):
        seen[doc.id] = {"code": doc.code, "title": doc.title, "doc_type": doc.doc_type, "purpose": None,
                        "operations": [], "changed": True}
    for row in seen.values():
        doc = session.scalar(select(Document).where(Document.code == row["code"]))
        rev = next((r for r in doc.revisions if r.state == "released"), None)
        row["revision"] = rev.label if rev else None
    return sorted(seen.values(), key=lambda r: r["code"])


def _lots(session: Session, walk: Walk, bom_revs: dict, routing_revs: dict, product_revs: dict) -> list[dict]:
    conditions = []
    if bom_revs:
        conditions.append(Lot.bom_revision_id.in_([r.id for r in bom_revs.values()]))
    if routing_revs:
        conditions.append(Lot.routing_revision_id.in_([r.id for r in routing_revs.values()]))
    if product_revs:
        conditions.append(Lot.product_revision_id.in_([r.id for r in product_revs.values()]))
    if walk.items:
        conditions.append(Lot.item_id.in_(walk.items) & (Lot.source == "made"))
    if not conditions:
        return []
    lots = session.scalars(select(Lot).where(Lot.status.in_(ACTIVE_LOT_STATUSES), or_(*conditions))
                           .order_by(Lot.lot_number))
    return [{"lot_number": lot.lot_number, "status": lot.status, "item": lot.item.code,
             "bom_revision": lot.bom_revision.label if lot.bom_revision else None,
             "routing_revision": lot.routing_revision.label if lot.routing_revision else None,
             "why": _lot_reason(lot, walk)} for lot in lots]


def _lot_reason(lot: Lot, walk: Walk) -> str:
    if lot.routing_revision_id and lot.routing_revision.routing_id in walk.routings:
        return f"runs on routing {lot.routing_revision.describe()} (keeps it until complete)"
    if lot.bom_revision_id and lot.bom_revision.bom_id in walk.boms:
        return f"built to {lot.bom_revision.describe()} (keeps it until complete)"
    return f"lot of affected item {lot.item.code}"


def _training(session: Session, walk: Walk) -> list[dict]:
    """People trained on the current revision of a changed document: they need the new one."""
    out = []
    for doc in session.scalars(select(Document).where(Document.id.in_(walk.documents)).order_by(Document.code)):
        current = next((r for r in doc.revisions if r.state == "released"), None)
        if current is None:
            continue
        users = session.scalars(select(TrainingRecord).where(TrainingRecord.document_revision_id == current.id))
        names = sorted({t.user.username for t in users})
        out.append({"document": doc.code, "current_revision": current.label, "trained_users": names})
    return out
