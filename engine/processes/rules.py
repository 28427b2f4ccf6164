"""Rule-based flags of a change: validation (IQ/OQ/PQ), retraining, and the facts of regulatory notification.

Each rule looks at the subjects and the computed impact and, when it applies, says why. They are
flags for the engineer's risk assessment (who confirms or overrides them with a reason), not
decisions: ISO 13485 §7.5.6 (process validation) and the notification duties of registered
devices need a person's judgement, the engine makes sure the question is asked.

Whether a change must be notified to the regulator is not decided here: this module states the
facts about registered products (``regulatory_facts``: identity, materials, critical parameters,
the highest class whose process changes) with the evidence for each, and the decision table
``bpmn/change_regulatory_notification.dmn`` decides from them in the change-control process (a
quality department changes that rule; it is verified, tested and versioned as a table).
"""
from __future__ import annotations

from sqlalchemy.orm import Session

from engine.masterdata.models import DocumentRevision, Equipment, OperationParameter, ProductRevision, Tooling

IDENTITY_FIELDS = {"gtin", "udi_di", "device_class", "sterile", "sterilisation_method", "shelf_life_months"}
# Device classes from lowest to highest risk (NMPA I–III, EU MDR I–III): the table sees the highest.
CLASS_RANK = {"I": 1, "II": 2, "IIa": 2, "IIb": 3, "III": 4}


def device_class(text: str | None) -> str:
    """A device class as the tables read it ("IIB", "Class III" → "IIb", "III"); other text as given."""
    raw = (text or "").strip()
    core = raw[6:].strip() if raw.lower().startswith("class ") else raw
    return next((c for c in CLASS_RANK if c.lower() == core.lower()), raw)


def evaluate_flags(session: Session, revisions: list, objects: list, impact: dict) -> dict:
    """``{"validation": [...], "regulatory_notification": [...], "regulatory_facts": {...}, "training": [...],
    "validation_required": bool}`` (the notification flag is the decision table's, see the docstring)."""
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
    facts = {"identity_change": False, "registered_materials_change": False,
             "registered_critical_parameter_change": False, "registered_process_change_class": ""}
    for rev in revisions:
        if isinstance(rev, ProductRevision):
            changed = {row.get("field") for row in changes if row["subject"] == rev.describe()}
            if changed & IDENTITY_FIELDS and rev.registration_number:
                facts["identity_change"] = True
                regulatory.append({"fact": "identity_change", "reason": f"{rev.describe()}: registered device "
                                   f"identity changes ({', '.join(sorted(changed & IDENTITY_FIELDS))})"})
    material = any(r.get("area") == "material" for r in changes)
    critical = any(r.get("area") == "parameter" and r.get("critical") for r in changes) \
        or any(isinstance(o, OperationParameter) and o.critical for o in objects)
    process = any(r.get("area") in ("process", "parameter") for r in changes)
    for product in (p for p in impact["products"] if p.get("registration")):
        where = f"registered product {product['code']} ({product['registration']})"
        if material:
            facts["registered_materials_change"] = True
            regulatory.append({"fact": "registered_materials_change", "reason": f"{where}: materials change"})
        if critical:
            facts["registered_critical_parameter_change"] = True
            regulatory.append({"fact": "registered_critical_parameter_change",
                               "reason": f"{where}: critical process parameters change"})
        if process:
            cls = device_class(product.get("device_class"))
            if CLASS_RANK.get(cls, 0) >= CLASS_RANK.get(facts["registered_process_change_class"], 0):
                facts["registered_process_change_class"] = cls
            regulatory.append({"fact": "registered_process_change_class",
                               "reason": f"{where}: class {cls or '?'} process changes"})
    training = [{"reason": f"{t['document']} rev {t['current_revision']}: {len(t['trained_users'])} trained "
                           f"people need training on the new revision", "users": t["trained_users"]}
                for t in impact.get("training", []) if t["trained_users"]]
    if any(isinstance(r, DocumentRevision) for r in revisions) and not training:
        training = [{"reason": "new document revisions: train the people who use them", "users": []}]
    return {
        "validation": _unique(validation),
        "regulatory_notification": _unique(regulatory),
        "regulatory_facts": facts,
        "training": training,
        "validation_required": bool(validation),
    }


def _unique(rows: list[dict]) -> list[dict]:
    seen, out = set(), []
    for row in rows:
        key = tuple(sorted((k, str(v)) for k, v in row.items()))
        if key not in seen:
            seen.add(key)
            out.append(row)
    return out
