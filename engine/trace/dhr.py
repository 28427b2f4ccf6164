"""The Device History Record of a lot, assembled as data (ISO 13485 §7.5.1, 21 CFR 820 / QMSR).

``build_dhr(session, lot)`` returns plain JSON-able dicts; the HTML page and the PDF render the
same structure, so what the inspector reads on screen and on paper is the same record. Every
value that was changed after its original entry carries its history (who, when, why —
Annex 11 §8.2); every signature its full manifestation (Part 11 §11.50); the record ends with
the audit-chain range that covers it and the result of verifying the chain.
"""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, aliased

from audit.models import AuditEntry, Signature
from audit.policy import MEANINGS
from audit.verify import verify_chain
from engine.db import utcnow
from engine.masterdata.models import Equipment, OperationParameter, RoutingOperation
from engine.processes import models as processes_tables
from engine.production.models import (EquipmentLog, InspectionResult, Lot, MaterialConsumption, OperationExecution,
                                      ParameterMeasurement)
from engine.trace import component_serials, gs1, serials
from engine.trace.genealogy import trace
from engine.trail_reader import signed_record_titles
from engine.users.models import User
from engine.workflows.models import ProcessInstance, WorkflowTask

SCHEMA = "sealtrail.dhr/1"


def _iso(moment) -> str | None:
    if moment is None:
        return None
    return moment.isoformat() if isinstance(moment, (dt.datetime, dt.date)) else str(moment)


def _users(session: Session, ids) -> dict[int, User]:
    ids = {i for i in ids if i is not None}
    return {u.id: u for u in session.scalars(select(User).where(User.id.in_(ids)))} if ids else {}


def _who(users: dict[int, User], user_id) -> str | None:
    user = users.get(user_id)
    return f"{user.printed_name} ({user.username})" if user else None


def udi(lot: Lot) -> dict | None:
    """The lot's UDI: DI = the product revision's GTIN, PI = (11) production date, (17) expiry, (10) lot."""
    rev = lot.product_revision
    if rev is None or not rev.gtin:
        return None
    made_on = (lot.completed_at or lot.started_at)
    elements = gs1.elements_for(gtin=rev.gtin, lot=lot.lot_number,
                                production_date=made_on.date() if made_on else None, expiry_date=lot.expires_on)
    return {"gtin": rev.gtin.zfill(14), "udi_di": rev.udi_di or rev.gtin, "issuing_agency": rev.issuing_agency,
            "hri": gs1.hri(elements), "elements": elements,
            "element_string": gs1.element_string(elements, separator="<GS>")}


def unit_udi(lot_udi: dict, serial: str) -> dict:
    """A unit's UDI: the lot's (:func:`udi`) with the serial (AI 21) appended to the production identifier."""
    elements = [tuple(e) for e in lot_udi["elements"]] + [("21", serial)]
    return {"elements": elements, "hri": gs1.hri(elements),
            "element_string": gs1.element_string(elements, separator="<GS>")}


def _serials(session: Session, lot: Lot) -> list[dict]:
    """The lot's unit serials (GS1 AI 21), each with its UDI production identifier and packing scan."""
    base, rows = udi(lot), serials.serials_of(session, lot)
    users = _users(session, {u for s in rows for u in (s.assigned_by_id, s.packed_by_id)})
    fitted = component_serials.components_of(session, [s.id for s in rows])
    out = []
    for s in rows:
        elements = unit_udi(base, s.serial)["elements"] if base else [("21", s.serial)]
        out.append({"serial": s.serial, "udi_hri": gs1.hri(elements), "assigned_at": _iso(s.assigned_at),
                    "assigned_by": _who(users, s.assigned_by_id), "packed_at": _iso(s.packed_at),
                    "packed_by": _who(users, s.packed_by_id), "components": fitted.get(s.id, [])})
    return out


def calibration_state(session: Session, equipment: Equipment, on: dt.datetime) -> dict:
    """Whether ``equipment`` was within calibration at ``on``: the last passing calibration before it."""
    if not equipment.calibration_required:
        return {"state": "not_required", "text": "calibration not required"}
    last = session.scalars(select(EquipmentLog).where(
        EquipmentLog.equipment_id == equipment.id, EquipmentLog.kind == "calibration",
        EquipmentLog.result == "pass", EquipmentLog.performed_at <= on)
        .order_by(EquipmentLog.performed_at.desc())).first()
    last_on = last.performed_at.date() if last else equipment.last_calibrated_on
    if last_on is None:
        return {"state": "unknown", "text": "no calibration on record before use"}
    interval = equipment.calibration_interval_days
    due = last_on + dt.timedelta(days=interval) if interval else equipment.calibration_due_on
    valid = due is None or on.date() <= due
    return {"state": "valid" if valid else "overdue", "last_calibrated": _iso(last_on), "due": _iso(due),
            "certificate": last.certificate_ref if last else "",
            "text": f"calibrated {last_on.isoformat()}, due {due.isoformat() if due else '—'}"
                    + ("" if valid else " — OVERDUE at time of use")}


def _limits_verdict(param: OperationParameter, value: float, in_spec: bool | None) -> str:
    if in_spec is None:
        return "no limits"
    return "within limits" if in_spec else "OUT OF LIMITS"


def _history(rows_by_id: dict, row, users) -> list[dict]:
    """The superseded values behind ``row``, newest first, each with who/when/why of its replacement."""
    out, current = [], row
    while current.supersedes_id is not None:
        old = rows_by_id.get(current.supersedes_id)
        if old is None:
            break
        out.append({"old_value": getattr(old, "value", None) if hasattr(old, "value") else old.result,
                    "old_unit": getattr(old, "unit", None), "originally_recorded_at": _iso(old.recorded_at),
                    "changed_at": _iso(current.recorded_at),
                    "changed_by": _who(users, getattr(current, "recorded_by_id", None) or
                                       getattr(current, "inspector_id", None)),
                    "reason": current.correction_reason})
        current = old
    return out


def _measurements(session: Session, lot: Lot) -> tuple[list[dict], set[int]]:
    rows = list(session.scalars(select(ParameterMeasurement).where(ParameterMeasurement.lot_id == lot.id)
                                .order_by(ParameterMeasurement.measured_at, ParameterMeasurement.id)))
    by_id = {r.id: r for r in rows}
    superseded = {r.supersedes_id for r in rows if r.supersedes_id}
    users = _users(session, [r.recorded_by_id for r in rows])
    out = []
    for r in rows:
        if r.id in superseded:
            continue
        p = r.parameter
        out.append({"id": r.id, "execution_id": r.execution_id, "operation": p.operation.sequence,
                    "parameter": p.name, "value": r.value, "unit": r.unit, "target": p.target, "lsl": p.lsl,
                    "usl": p.usl, "param_unit": p.unit, "critical": p.critical, "in_spec": r.in_spec,
                    "verdict": _limits_verdict(p, r.value, r.in_spec), "measured_at": _iso(r.measured_at),
                    "recorded_at": _iso(r.recorded_at), "recorded_by": _who(users, r.recorded_by_id),
                    "source": r.source, "changes": _history(by_id, r, users)})
    return out, {r.parameter_id for r in rows}


def _inspections(session: Session, lot: Lot) -> list[dict]:
    rows = list(session.scalars(select(InspectionResult).where(InspectionResult.lot_id == lot.id)
                                .order_by(InspectionResult.inspected_at, InspectionResult.id)))
    by_id = {r.id: r for r in rows}
    superseded = {r.supersedes_id for r in rows if r.supersedes_id}
    users = _users(session, [r.inspector_id for r in rows])
    return [{"id": r.id, "item": r.inspection_item.name, "operation": r.inspection_item.operation.sequence,
             "method": r.inspection_item.method, "acceptance": r.inspection_item.acceptance_criteria,
             "sample_size": r.sample_size, "defects": r.defects_found, "measured_value": r.measured_value,
             "unit": r.unit, "result": r.result, "inspected_at": _iso(r.inspected_at),
             "inspector": _who(users, r.inspector_id), "notes": r.notes, "changes": _history(by_id, r, users),
             "sampling_plan": r.sampling_plan}
            for r in rows if r.id not in superseded]


def _operations(session: Session, lot: Lot, measurements: list[dict], inspections: list[dict]) -> list[dict]:
    execs = list(session.scalars(select(OperationExecution).where(OperationExecution.lot_id == lot.id)
                                 .order_by(OperationExecution.started_at, OperationExecution.id)))
    seen_seq: dict[int, int] = {}
    out = []
    for ex in execs:
        op: RoutingOperation = ex.operation
        seen_seq[op.sequence] = seen_seq.get(op.sequence, 0) + 1
        out.append({
            "id": ex.id, "sequence": op.sequence, "code": op.code, "name": op.name, "work_centre": op.work_centre,
            "qc_point": op.qc_point, "repeat": seen_seq[op.sequence] > 1,
            "operator": f"{ex.operator.printed_name} ({ex.operator.username})",
            "equipment": ({"code": ex.equipment.code, "name": ex.equipment.name,
                           "calibration": calibration_state(session, ex.equipment, ex.started_at)}
                          if ex.equipment else None),
            "tooling": ex.tooling.code if ex.tooling else None,
            "started_at": _iso(ex.started_at), "ended_at": _iso(ex.ended_at),
            "quantity_good": ex.quantity_good, "quantity_scrap": ex.quantity_scrap, "notes": ex.notes,
            "measurements": [m for m in measurements if m["execution_id"] == ex.id
                             or (m["execution_id"] is None and m["operation"] == op.sequence
                                 and seen_seq[op.sequence] == 1)],
            "inspections": [i for i in inspections if i["operation"] == op.sequence and seen_seq[op.sequence] == 1],
        })
    return out


def _components(session: Session, lot: Lot) -> list[dict]:
    rows = session.scalars(select(MaterialConsumption).where(MaterialConsumption.parent_lot_id == lot.id)
                           .order_by(MaterialConsumption.consumed_at, MaterialConsumption.id))
    out = []
    for c in rows:
        comp = c.component_lot
        sl = comp.supplier_lot
        out.append({"lot_number": comp.lot_number, "lot_id": comp.id, "item": comp.item.code,
                    "item_name": comp.item.name, "status": comp.status, "quantity": c.quantity, "unit": c.unit,
                    "consumed_at": _iso(c.consumed_at), "supplier": sl.supplier if sl else None,
                    "supplier_lot": sl.supplier_lot_number if sl else None,
                    "certificate": sl.certificate_ref if sl else None})
    return out


def processes_models():
    """The processes area's models (deviations, CAPA, release reviews)."""
    return processes_tables


def _quality_events(session: Session, lot: Lot) -> tuple[list[dict], list[dict], list[int], list[tuple]]:
    """Deviations touching the lot with their disposition, the CAPAs they opened, related instances."""
    pm = processes_models()
    if pm is None:
        return [], [], [], []
    # ids first: DISTINCT over the rows themselves fails on PostgreSQL (json has no equality)
    ids = select(pm.Deviation.id).outerjoin(pm.DeviationLot, pm.DeviationLot.deviation_id == pm.Deviation.id) \
        .where(or_(pm.Deviation.lot_id == lot.id, pm.DeviationLot.lot_id == lot.id))
    devs = list(session.scalars(select(pm.Deviation).where(pm.Deviation.id.in_(ids)).order_by(pm.Deviation.raised_at)))
    capas = list(session.scalars(select(pm.Capa).where(pm.Capa.deviation_id.in_([d.id for d in devs]))
                                 .order_by(pm.Capa.opened_at))) if devs else []
    deviations = []
    for d in devs:
        link = next((x for x in d.lots if x.lot_id == lot.id), None)
        deviations.append({"number": d.number, "id": d.id, "status": d.status, "classification": d.classification,
                           "source": d.source, "description": d.description, "raised_by": d.raised_by,
                           "raised_at": _iso(d.raised_at), "closed_at": _iso(d.closed_at), "root_cause": d.root_cause,
                           "operation": d.operation.sequence if d.operation else None,
                           "parameter": d.parameter.name if d.parameter else None, "value": d.value, "unit": d.unit,
                           "disposition": link.disposition if link else None,
                           "justification": link.justification if link else None,
                           "dispositioned_by": link.dispositioned_by if link else None,
                           "dispositioned_at": _iso(link.dispositioned_at) if link else None})
    capa_rows = [{"number": c.number, "id": c.id, "status": c.status, "problem": c.problem_statement,
                  "root_cause": c.root_cause, "due_on": _iso(c.due_on), "opened_at": _iso(c.opened_at),
                  "closed_at": _iso(c.closed_at), "effective": c.effective} for c in capas]
    reviews = list(session.scalars(select(pm.ReleaseReview).where(pm.ReleaseReview.lot_id == lot.id)))
    instances = [x.process_instance_id for x in [*devs, *capas, *reviews] if x.process_instance_id]
    objects = [("deviation", d.number) for d in devs] + [("capa", c.number) for c in capas]
    return deviations, capa_rows, instances, objects


def _title(signed: dict | None) -> str:
    signed = signed or {}
    return " · ".join(p for p in (signed.get("title", ""), signed.get("key", "")) if p)


def _signatures(session: Session, lot: Lot, instance_ids: list[int], tz: ZoneInfo) -> list[dict]:
    keyed = select(ProcessInstance.id).where(ProcessInstance.business_key == lot.lot_number)
    tasks = select(WorkflowTask.signature_id).where(
        or_(WorkflowTask.instance_id.in_(instance_ids), WorkflowTask.instance_id.in_(keyed)),
        WorkflowTask.signature_id.is_not(None))
    rows = session.scalars(select(Signature).where(or_(
        Signature.signature_id.in_(tasks),
        (Signature.record_type == "lot") & (Signature.record_id == lot.lot_number))).order_by(Signature.signed_at))
    rows = list(rows)
    # A task's signature is shown by what was signed (task title and business key), not by its UUID.
    titles = signed_record_titles(session, rows)
    out = []
    for s in rows:
        signed = dt.datetime.fromisoformat(s.signed_at.replace("Z", "+00:00"))
        out.append({"printed_name": s.printed_name, "username": s.username, "meaning": s.meaning,
                    "meaning_text": MEANINGS.get(s.meaning, s.meaning), "signed_at_utc": s.signed_at,
                    "signed_at_local": signed.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S %Z (UTC%z)"),
                    "record_type": s.record_type, "record_id": s.record_id, "record_sha256": s.record_sha256,
                    "components": s.components, "signature_id": s.signature_id, "audit_entry_id": s.audit_entry_id,
                    "record_title": _title(titles.get(s.signature_id)) or f"{s.record_type} {s.record_id}"})
    return out


# The lot's life (planned → in process → completed → held → released …) is its history, not a value
# changed after entry: an entry that moves the status goes to ``lot_history``, never to ``lot_changes``.
LOT_CREATED = ("lot.plan", "lot.receive", "lot.import")


def _status_step(entry: AuditEntry) -> tuple[str | None, str | None] | None:
    """(from, to) when ``entry`` moves the lot's status, else None."""
    before, after = entry.before_value, entry.after_value
    if not isinstance(after, dict) or "status" not in after:
        return None
    was = before.get("status") if isinstance(before, dict) else None
    return None if was == after["status"] else (was, after["status"])


def _lot_entries(session: Session, lot: Lot) -> list[AuditEntry]:
    return list(session.scalars(select(AuditEntry).where(AuditEntry.object_type == "lot",
                                                         AuditEntry.object_id == lot.lot_number)
                                .order_by(AuditEntry.seq)))


def _lot_changes(entries: list[AuditEntry]) -> list[dict]:
    """Lot-level values changed after entry: entries with a before that do not move the status.

    Measurement and inspection corrections are shown at the value they changed, not repeated here.
    """
    return [{"seq": e.seq, "action": e.action, "at": e.recorded_at, "by": e.actor_name, "reason": e.reason,
             "before": e.before, "after": e.after} for e in entries
            if e.before is not None and _status_step(e) is None
            and e.action not in ("measurement.correct", "inspection.correct")]


def _lot_history(entries: list[AuditEntry]) -> list[dict]:
    """The lot's status over time (planned, started, held, released …), oldest first."""
    out = []
    for e in entries:
        step = _status_step(e)
        if step is None and e.action not in LOT_CREATED:
            continue
        was, now = step or (None, "planned" if e.action == "lot.plan" else None)
        out.append({"seq": e.seq, "action": e.action, "at": e.recorded_at, "by": e.actor_name,
                    "reason": e.reason, "from": was, "to": now})
    return out


def _audit_range(session: Session, lot: Lot, objects: list[tuple], signature_entries: list[int]) -> dict:
    conds = [(AuditEntry.object_type == "lot") & (AuditEntry.object_id == lot.lot_number)]
    conds += [(AuditEntry.object_type == t) & (AuditEntry.object_id == i) for t, i in objects]
    if signature_entries:
        conds.append(AuditEntry.id.in_(signature_entries))
    where = or_(*conds)
    lo, hi, count = session.execute(select(func.min(AuditEntry.seq), func.max(AuditEntry.seq),
                                           func.count()).where(where)).one()
    first = session.scalars(select(AuditEntry).where(AuditEntry.seq == lo)).first() if lo is not None else None
    last = session.scalars(select(AuditEntry).where(AuditEntry.seq == hi)).first() if hi is not None else None
    head = session.execute(select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)).first()
    return {"first_seq": lo, "last_seq": hi, "entries": count,
            "first_hash": first.hash if first else None, "last_hash": last.hash if last else None,
            "first_prev_hash": first.prev_hash if first else None,
            "chain_head_seq": head[0] if head else None, "chain_head_hash": head[1] if head else None}


def _verification(session: Session) -> dict:
    """Verify the whole chain now (the audit area's verifier); the DHR prints the outcome."""
    result = verify_chain(session)
    problem = result.first_problem
    return {"ok": result.ok, "count": result.count, "last_seq": result.last_seq, "head_hash": result.head_hash,
            "checkpoints_verified": result.checkpoints_verified, "verified_at": utcnow().isoformat(),
            "text": (f"chain verified: {result.count} entries, head seq {result.last_seq}, hash {result.head_hash}"
                     if result.ok else f"CHAIN BROKEN at seq {problem.seq}: {problem.kind} — {problem.detail}")}


def build_dhr(session: Session, lot: Lot, *, timezone: str = "UTC", verify: bool = True) -> dict:
    """The complete Device History Record of ``lot`` as JSON-able data."""
    tz = ZoneInfo(timezone)
    manifest = lot.manifest or {}
    measurements, _ = _measurements(session, lot)
    inspections = _inspections(session, lot)
    deviations, capas, instances, objects = _quality_events(session, lot)
    signatures = _signatures(session, lot, instances, tz)
    lot_entries = _lot_entries(session, lot)
    backward = trace(session, lot, "backward")
    product = manifest.get("product", {})
    record = {
        "schema": SCHEMA, "generated_at": utcnow().isoformat(), "timezone": timezone,
        "lot": {"lot_number": lot.lot_number, "id": lot.id, "item": lot.item.code, "item_name": lot.item.name,
                "status": lot.status, "unit": lot.unit, "quantity_planned": lot.quantity_planned,
                "quantity_made": lot.quantity_made, "quantity_approved": lot.quantity_approved,
                "started_at": _iso(lot.started_at), "completed_at": _iso(lot.completed_at),
                "dispositioned_at": _iso(lot.dispositioned_at), "expires_on": _iso(lot.expires_on),
                "manifest_sha256": lot.manifest_sha256},
        "product": {"code": lot.product.code if lot.product else None,
                    "name": lot.product.name if lot.product else None, **product},
        "revisions": {"bom": manifest.get("bom", {}), "bom_tree": manifest.get("bom_tree", []),
                      "routing": {k: v for k, v in manifest.get("routing", {}).items() if k != "operations"},
                      "documents": sorted({(d["document"], d["revision"], d["purpose"])
                                           for op in manifest.get("routing", {}).get("operations", [])
                                           for d in op.get("documents", [])})},
        "udi": udi(lot),
        "serials": _serials(session, lot),
        "components": _components(session, lot),
        "genealogy": {"lots": len(backward.lots), "depth": backward.max_depth},
        "operations": _operations(session, lot, measurements, inspections),
        "measurements": measurements, "inspections": inspections,
        "deviations": deviations, "capas": capas, "quality_events_available": processes_models() is not None,
        "signatures": signatures, "lot_changes": _lot_changes(lot_entries), "lot_history": _lot_history(lot_entries),
    }
    record["changed_values"] = sum(len(m["changes"]) for m in measurements) + \
        sum(len(i["changes"]) for i in inspections) + len(record["lot_changes"])
    record["audit"] = _audit_range(session, lot, objects, [s["audit_entry_id"] for s in signatures])
    record["audit"]["verification"] = _verification(session) if verify else {"ok": None, "text": "not verified"}
    return record
