"""Rule-based flags of a change: validation (IQ/OQ/PQ), regulatory notification, retraining.

Each rule looks at the subjects and the computed impact and, when it applies, says why. They are
flags for the engineer's risk assessment (who confirms or overrides them with a reason), not
decisions: ISO 13485 §7.5.6 (process validation) and the notification duties of registered
devices need a person's judgement, the engine makes sure the question is asked.
"""
from __future__ import annotations

from sqlalchemy.orm import Session

from engine.masterdata.models import DocumentRevision, Equipment, OperationParameter, ProductRevision, Tooling

IDENTITY_FIELDS = {"gtin", "udi_di", "device_class", "sterile", "sterilisation_method", "shelf_life_months"}


def evaluate_flags(session: Session, revisions: list, objects: list, impact: dict) -> dict:
    """``{"validation": [...], "regulatory_notification": [...], "training": [...], "*_required": bool}``."""
    validation: list[dict] = []
    regulatory: list[dict] = []
    changes = impact["changes"]
    for obj in objects:
        if isinstance(obj, Equipment):
            validation.append({"type": "IQ/OQ/PQ", "reason": f"equipment {obj.code} changes: requalify it"})
        elif isinstance(obj, Tooling):
            validation.append({"type": "OQ", "reason": f"tooling {obj.code} changes"})
        elif isinstance(obj, OperationParameter) and obj.critical:
            validation.append({"type": "OQ/PQ", "reason": f"critical parameter {obj.name} changes"})
    for row in changes:
        if row.get("area") == "process":
            validation.append({"type": "PQ", "reason": f"process steps change: {row['change']}"})
        elif row.get("area") in ("equipment", "tooling"):
            validation.append({"type": "IQ/OQ", "reason": f"{row['subject']}: {row['change']}"})
        elif row.get("area") == "parameter" and row.get("critical"):
            validation.append({"type": "OQ/PQ", "reason": f"critical parameter: {row['change']}"})
    registered = [p for p in impact["products"] if p.get("registration")]
    for rev in revisions:
        if isinstance(rev, ProductRevision):
            changed = {row.get("field") for row in changes if row["subject"] == rev.describe()}
            if changed & IDENTITY_FIELDS and rev.registration_number:
                regulatory.append({"reason": f"{rev.describe()}: registered device identity changes "
                                             f"({', '.join(sorted(changed & IDENTITY_FIELDS))})"})
    material = [r for r in changes if r.get("area") == "material"]
    critical = [r for r in changes if r.get("area") == "parameter" and r.get("critical")]
    sterile_process = any(r.get("area") in ("process", "parameter") for r in changes)
    for product in registered:
        why = []
        if material:
            why.append("materials change")
        if critical or any(isinstance(o, OperationParameter) and o.critical for o in objects):
            why.append("critical process parameters change")
        if sterile_process and product.get("device_class", "").upper() in ("III", "IIB", "CLASS III"):
            why.append(f"class {product['device_class']} process changes")
        if why:
            regulatory.append({"reason": f"registered product {product['code']} ({product['registration']}): "
                                         + ", ".join(why)})
    training = [{"reason": f"{t['document']} rev {t['current_revision']}: {len(t['trained_users'])} trained "
                           f"people need training on the new revision", "users": t["trained_users"]}
                for t in impact.get("training", []) if t["trained_users"]]
    if any(isinstance(r, DocumentRevision) for r in revisions) and not training:
        training = [{"reason": "new document revisions: train the people who use them", "users": []}]
    return {
        "validation": _unique(validation),
        "regulatory_notification": _unique(regulatory),
        "training": training,
        "validation_required": bool(validation),
        "regulatory_notification_required": bool(regulatory),
    }


def _unique(rows: list[dict]) -> list[dict]:
    seen, out = set(), []
    for row in rows:
        key = tuple(sorted((k, str(v)) for k, v in row.items()))
        if key not in seen:
            seen.add(key)
            out.append(row)
    return out
