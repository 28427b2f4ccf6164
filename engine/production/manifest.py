"""The master-data manifest pinned on a lot when it starts (the Device Master Record in effect).

The manifest is plain JSON; its SHA-256 is taken over the RFC 8785 canonical form, so two lots
made to the same specification carry the same hash and a difference is a JSON diff away.
"""
from __future__ import annotations

import hashlib

import rfc8785
from sqlalchemy.orm import Session

from engine.errors import ValidationFailed
from engine.masterdata import revisions
from engine.masterdata.boms import find_bom_for_item
from engine.masterdata.models import Item, Product, Routing, RoutingRevision
from sqlalchemy import select

SCHEMA = "sealtrail.lot-manifest/1"


def manifest_hash(manifest: dict) -> str:
    """SHA-256 (hex) of the RFC 8785 canonical bytes of ``manifest``."""
    return hashlib.sha256(rfc8785.dumps(manifest)).hexdigest()


def _bom_entry(rev) -> dict:
    return {
        "bom": rev.master.code, "item": rev.master.item.code, "revision": rev.label, "revision_id": rev.id,
        "base_quantity": rev.base_quantity,
        "lines": [{"position": ln.position, "component": ln.component.code, "quantity": ln.quantity,
                   "unit": ln.unit} for ln in rev.lines],
    }


def _routing_entry(session: Session, rev: RoutingRevision, lot_number: str) -> dict:
    ops = []
    for op in rev.operations:
        docs = []
        for link in op.document_links:
            doc_rev = revisions.effective_revision(session, link.document)
            if doc_rev is None:
                raise ValidationFailed(f"lot {lot_number}: {rev.describe()} op {op.sequence} refers to document "
                                       f"{link.document.code}, which has no released revision", field="documents",
                                       obj=lot_number)
            docs.append({"document": link.document.code, "purpose": link.purpose, "revision": doc_rev.label,
                         "revision_id": doc_rev.id})
        ops.append({
            "sequence": op.sequence, "code": op.code, "name": op.name, "work_centre": op.work_centre,
            "qc_point": op.qc_point, "operation_id": op.id,
            "equipment": sorted(e.code for e in op.equipment), "tooling": sorted(t.code for t in op.tooling),
            "documents": sorted(docs, key=lambda d: d["document"]),
            "parameters": [{"name": p.name, "unit": p.unit, "target": p.target, "lsl": p.lsl, "usl": p.usl,
                            "lcl": p.lcl, "ucl": p.ucl, "critical": p.critical, "parameter_id": p.id}
                           for p in op.parameters],
            "inspection_items": [{"name": i.name, "kind": i.kind, "method": i.method, "sample_size": i.sample_size,
                                  "acceptance_criteria": i.acceptance_criteria, "accept_number": i.accept_number,
                                  "unit": i.unit, "lsl": i.lsl, "usl": i.usl, "inspection_item_id": i.id}
                                 for i in op.inspection_items],
        })
    return {"routing": rev.master.code, "revision": rev.label, "revision_id": rev.id, "operations": ops}


def build_manifest(session: Session, item: Item, product: Product | None, lot_number: str) -> dict:
    """Every master-data revision in effect for making ``item`` now (refused if one is missing)."""
    manifest: dict = {"schema": SCHEMA, "item": {"code": item.code, "base_unit": item.base_unit}}
    if product is not None:
        prev = revisions.effective_revision(session, product)
        if prev is None:
            raise ValidationFailed(f"lot {lot_number}: product {product.code} has no released revision",
                                   field="product", obj=lot_number)
        manifest["product"] = {"code": product.code, "revision": prev.label, "revision_id": prev.id,
                               "gtin": prev.gtin, "udi_di": prev.udi_di, "device_class": prev.device_class,
                               "sterile": prev.sterile, "shelf_life_months": prev.shelf_life_months}
    bom = find_bom_for_item(session, item)
    bom_rev = revisions.effective_revision(session, bom) if bom else None
    if bom_rev is None:
        raise ValidationFailed(f"lot {lot_number}: item {item.code} has no released BOM", field="bom",
                               obj=lot_number)
    manifest["bom"] = _bom_entry(bom_rev)
    manifest["bom_tree"] = _sub_boms(session, bom_rev)
    routing = session.scalars(select(Routing).where(Routing.item_id == item.id)).first()
    routing_rev = revisions.effective_revision(session, routing) if routing else None
    if routing_rev is None:
        raise ValidationFailed(f"lot {lot_number}: item {item.code} has no released routing", field="routing",
                               obj=lot_number)
    manifest["routing"] = _routing_entry(session, routing_rev, lot_number)
    return manifest


def _sub_boms(session: Session, top) -> list[dict]:
    """The effective BOM revisions below ``top`` (each once), for the record."""
    out, seen, todo = [], {top.master.item_id}, [ln.component for ln in top.lines]
    while todo:
        comp = todo.pop()
        if comp.id in seen:
            continue
        seen.add(comp.id)
        bom = find_bom_for_item(session, comp)
        rev = revisions.effective_revision(session, bom) if bom else None
        if rev is not None:
            out.append({"bom": bom.code, "item": comp.code, "revision": rev.label, "revision_id": rev.id})
            todo.extend(ln.component for ln in rev.lines)
    return sorted(out, key=lambda e: e["bom"])


def diff(a, b, path: str = "") -> list[str]:
    """Paths where two manifests differ (``routing.operations[2].parameters[0].usl: 5 → 6``)."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for key in sorted(set(a) | set(b)):
            out += diff(a.get(key), b.get(key), f"{path}.{key}" if path else key)
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        out = []
        for i, (x, y) in enumerate(zip(a, b)):
            out += diff(x, y, f"{path}[{i}]")
        return out
    return [] if a == b else [f"{path}: {a!r} → {b!r}"]
