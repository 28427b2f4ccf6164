"""What a draft revision changes against the revision in effect: the lines of the impact list."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.masterdata.models import BomRevision, DocumentRevision, ProductRevision, RoutingRevision

PRODUCT_FIELDS = ("description", "gtin", "udi_di", "device_class", "sterile", "sterilisation_method",
                  "shelf_life_months", "registration_number")
PARAMETER_FIELDS = ("unit", "target", "lsl", "usl", "lcl", "ucl", "critical")
INSPECTION_FIELDS = ("kind", "method", "sample_size", "acceptance_criteria", "accept_number", "unit", "lsl", "usl",
                     "inspection_level", "aql", "reduced_inspection_approved")


def effective_revision(session: Session, rev):
    """The released revision of ``rev``'s object (None for a first revision)."""
    model = type(rev)
    fk = {ProductRevision: "product_id", BomRevision: "bom_id", RoutingRevision: "routing_id",
          DocumentRevision: "document_id"}[model]
    return session.scalar(select(model).where(getattr(model, fk) == getattr(rev, fk), model.state == "released"))


def diff_revision(session: Session, rev) -> list[dict]:
    """``[{"subject", "change", "area"}]``: every difference of ``rev`` from the effective revision."""
    old = effective_revision(session, rev)
    subject = rev.describe()
    if old is None:
        return [{"subject": subject, "area": "new", "change": "first revision (nothing in effect yet)"}]
    if isinstance(rev, ProductRevision):
        rows = _fields(old, rev, PRODUCT_FIELDS, "identity")
    elif isinstance(rev, BomRevision):
        rows = _bom(old, rev)
    elif isinstance(rev, RoutingRevision):
        rows = _routing(old, rev)
    else:
        rows = _fields(old, rev, ("title", "body", "file_sha256"), "content")
    prefix = f"rev {old.label} → {rev.label}: "
    return [{"subject": subject, **r, "change": prefix + r["change"]} for r in rows] or [
        {"subject": subject, "area": "none", "change": f"rev {old.label} → {rev.label}: no content difference"}]


def _fields(old, new, names, area) -> list[dict]:
    out = []
    for name in names:
        a, b = getattr(old, name), getattr(new, name)
        if a != b:
            shown = (lambda v: "(file)" if name == "file_sha256" else ("…" if name == "body" else repr(v)))
            out.append({"area": area, "field": name, "change": f"{name} {shown(a)} → {shown(b)}"})
    return out


def _bom(old: BomRevision, new: BomRevision) -> list[dict]:
    before = {line.component.code: line for line in old.lines}
    after = {line.component.code: line for line in new.lines}
    out = []
    for code in sorted(set(before) | set(after)):
        a, b = before.get(code), after.get(code)
        if a is None:
            out.append({"area": "material", "item": code, "change": f"component {code} added ({b.quantity} {b.unit})"})
        elif b is None:
            out.append({"area": "material", "item": code, "change": f"component {code} removed"})
        else:
            if (a.quantity, a.unit) != (b.quantity, b.unit):
                out.append({"area": "material", "item": code,
                            "change": f"component {code} {a.quantity} {a.unit} → {b.quantity} {b.unit}"})
            if a.tolerance_pct != b.tolerance_pct:
                out.append({"area": "material", "item": code, "change": f"component {code} consumption "
                                                                        f"tolerance {a.tolerance_pct:g} % → {b.tolerance_pct:g} %"})
    if old.base_quantity != new.base_quantity:
        out.append({"area": "material", "change": f"base quantity {old.base_quantity} → {new.base_quantity}"})
    return out


def _routing(old: RoutingRevision, new: RoutingRevision) -> list[dict]:
    before = {op.code: op for op in old.operations}
    after = {op.code: op for op in new.operations}
    out = []
    for code in sorted(set(before) | set(after), key=lambda c: (after.get(c) or before[c]).sequence):
        a, b = before.get(code), after.get(code)
        if a is None:
            out.append({"area": "process", "operation": code, "change": f"operation {code} {b.name} added"})
        elif b is None:
            out.append({"area": "process", "operation": code, "change": f"operation {code} {a.name} removed"})
        else:
            out.extend(_operation(a, b))
    return out


def _operation(a, b) -> list[dict]:
    out, code = [], b.code
    if a.sequence != b.sequence:
        out.append({"area": "process", "operation": code, "change": f"operation {code} moved {a.sequence} → {b.sequence}"})
    for label, get in (("equipment", lambda op: {e.code for e in op.equipment}),
                       ("tooling", lambda op: {t.code for t in op.tooling}),
                       ("documents", lambda op: {d.code for d in op.documents})):
        x, y = get(a), get(b)
        if x != y:
            out.append({"area": label, "operation": code,
                        "change": f"operation {code} {label} {sorted(x)} → {sorted(y)}"})
    params_a = {p.name: p for p in a.parameters}
    params_b = {p.name: p for p in b.parameters}
    for name in sorted(set(params_a) | set(params_b)):
        p, q = params_a.get(name), params_b.get(name)
        critical = bool((p and p.critical) or (q and q.critical))
        if p is None or q is None:
            verb = "added" if p is None else "removed"
            out.append({"area": "parameter", "operation": code, "parameter": name, "critical": critical,
                        "change": f"operation {code} parameter {name} {verb}"})
            continue
        diffs = [f"{f} {getattr(p, f)!r} → {getattr(q, f)!r}" for f in PARAMETER_FIELDS if getattr(p, f) != getattr(q, f)]
        if diffs:
            out.append({"area": "parameter", "operation": code, "parameter": name, "critical": critical,
                        "limits_changed": any(f in d for d in diffs for f in ("lsl", "usl", "target")),
                        "change": f"operation {code} parameter {name}: " + ", ".join(diffs)})
    items_a = {i.name: i for i in a.inspection_items}
    items_b = {i.name: i for i in b.inspection_items}
    for name in sorted(set(items_a) | set(items_b)):
        i, j = items_a.get(name), items_b.get(name)
        if i is None or j is None or any(getattr(i, f) != getattr(j, f) for f in INSPECTION_FIELDS):
            verb = "added" if i is None else "removed" if j is None else "changed"
            out.append({"area": "inspection", "operation": code, "change": f"operation {code} inspection {name} {verb}"})
    return out
