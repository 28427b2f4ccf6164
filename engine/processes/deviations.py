"""Deviations / nonconformances: open (by a person or a rule), contain, disposition, close."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from audit import chain
from engine.errors import Conflict, NotFound, ValidationFailed
from engine.masterdata.models import OperationParameter, RoutingOperation
from engine.notifications import outbox
from engine.processes import holds
from engine.processes.charts import parameter_chart
from engine.processes.models import Deviation, DeviationLot
from engine.processes.models.common import next_number
from engine.processes.models.deviation_model import CLASSIFICATIONS, DISPOSITIONS
from engine.processes.workflow import start
from engine.production.lots import change_lot_status, get_lot, move_lot
from engine.production.models import Lot
from engine.workflows.decisions import evidence

# What a disposition does to the lot when the deviation closes (after its hold is lifted).
STATUS_AFTER = {"use_as_is": None, "rework": "in_process", "scrap": "rejected", "return_to_supplier": "rejected"}


def get_deviation(session: Session, ident: int | str) -> Deviation:
    """The deviation by id or number; NotFound otherwise."""
    column = Deviation.id if isinstance(ident, int) else Deviation.number
    dev = session.scalar(select(Deviation).where(column == ident))
    if dev is None:
        raise NotFound(f"deviation {ident} does not exist", field="deviation")
    return dev


def _lot(session: Session, lot: Lot | str | None) -> Lot | None:
    """The lot given as a row or a number (NotFound for an unknown number); None stays None."""
    if lot is None or isinstance(lot, Lot):
        return lot
    return get_lot(session, lot)


def summary(dev: Deviation) -> dict:
    """What forms and the inbox show about a deviation."""
    return {"id": dev.id, "number": dev.number, "source": dev.source, "description": dev.description,
            "status": dev.status, "classification": dev.classification,
            "lot": dev.lot_number, "operation": dev.operation_code, "parameter": dev.parameter_name,
            "value": dev.value, "unit": dev.unit, "details": dev.details,
            "raised_by": dev.raised_by, "raised_at": dev.raised_at.isoformat() if dev.raised_at else None}


def _operation(lot: Lot | None, operation) -> RoutingOperation | None:
    """A routing operation given as a row or as its code on the lot's routing revision."""
    if operation is None or isinstance(operation, RoutingOperation):
        return operation
    if lot is not None and lot.routing_revision is not None:
        return next((op for op in lot.routing_revision.operations if op.code == operation), None)
    return None


def _parameter(lot: Lot | None, operation: RoutingOperation | None, parameter) -> OperationParameter | None:
    """A parameter given as a row or by name (within the operation, else the lot's routing)."""
    if parameter is None or isinstance(parameter, OperationParameter):
        return parameter
    ops = [operation] if operation is not None else (
        lot.routing_revision.operations if lot is not None and lot.routing_revision is not None else [])
    return next((p for op in ops for p in op.parameters if p.name == parameter), None)


def open_deviation(session: Session, actor, *, lot: Lot | str | None = None,
                   operation: RoutingOperation | str | None = None,
                   parameter: OperationParameter | str | None = None, value: float | None = None,
                   unit: str | None = None, source: str, description: str, details: dict | None = None,
                   severity: int | None = None, patient_safety_impact: bool | None = None,
                   start_workflow: bool = True, affected_lots: list[str] | None = None) -> Deviation:
    """Record a deviation and start its workflow (QA triage is the first task).

    ``source`` says who raised it ("user", "measurement", "alarm", an alarm source system…);
    ``operation``/``parameter`` may be rows or, as alarms send them, codes/names resolved on the
    lot's routing (kept verbatim in ``details`` when they do not resolve). When the reporter gives
    ``severity`` (1–5) and ``patient_safety_impact``, the deviation class table classifies the
    deviation before triage (which confirms or corrects those inputs). ``affected_lots`` proposes
    the lots triage holds (default: the deviation's lot).
    """
    if severity is not None and (isinstance(severity, bool) or not isinstance(severity, int)
                                 or not 1 <= severity <= 5):
        raise ValidationFailed("severity is a whole number from 1 to 5", field="severity")
    if patient_safety_impact is not None and not isinstance(patient_safety_impact, bool):
        raise ValidationFailed("patient_safety_impact is true or false", field="patient_safety_impact")
    if not (source or "").strip() or len(source) > 64:
        raise ValidationFailed("source is required (at most 64 characters)", field="source")
    if not (description or "").strip():
        raise ValidationFailed("describe the deviation", field="description")
    lot = _lot(session, lot)
    details = dict(details or {})
    op_row = _operation(lot, operation)
    param_row = _parameter(lot, op_row, parameter)
    if isinstance(operation, str) and op_row is None:
        details["operation"] = operation
    if isinstance(parameter, str) and param_row is None:
        details["parameter"] = parameter
    if param_row is not None and op_row is None:
        op_row = param_row.operation
    if value is not None and unit is None and param_row is not None:
        unit = param_row.unit
    dev = Deviation(number=next_number(session, Deviation, "DEV"), source=source.strip(),
                    description=description.strip(), lot_id=lot.id if lot else None,
                    routing_operation_id=op_row.id if op_row else None,
                    parameter_id=param_row.id if param_row else None, value=value, unit=unit,
                    details=details or None, raised_by=actor.name)
    session.add(dev)
    session.flush()
    chain.append(session, actor, "deviation.opened", "deviation", dev.number,
                 after={"source": dev.source, "description": dev.description,
                        "lot": lot.lot_number if lot else None, "operation": op_row.code if op_row else operation,
                        "parameter": param_row.name if param_row else parameter, "value": value, "unit": unit})
    if start_workflow:
        data = {"deviation_id": dev.id, "deviation": summary(dev),
                "affected_lots": list(affected_lots) if affected_lots is not None
                else [lot.lot_number] if lot else [], "severity": severity,
                "patient_safety_impact": patient_safety_impact, "product_risk_class": risk_class(lot)}
        if param_row is not None:
            data["measurement_chart"] = parameter_chart(session, param_row)
        instance = start(session, actor, "deviation", data, business_key=dev.number)
        dev.process_instance_id = instance.id
        session.flush()
        outbox.deviation_opened(session, dev.number, op_row.work_centre if op_row else None, instance.id)
    return dev


def risk_class(lot: Lot | None) -> str:
    """The product risk (device) class of the lot's product revision, as the class table reads it."""
    product = getattr(lot, "product_revision", None) if lot is not None else None
    return ((getattr(product, "device_class", None) or "").strip()) if product is not None else ""


def is_open(session: Session, deviation_id: int) -> bool:
    """True while the deviation is not closed."""
    return get_deviation(session, deviation_id).is_open


def attach_occurrence(session: Session, actor, deviation_id: int, *, description: str) -> Deviation:
    """Record one more occurrence (e.g. a repeated alarm) on an open deviation."""
    dev = get_deviation(session, deviation_id)
    if not dev.is_open:
        raise Conflict(f"{dev.number} is closed: open a new deviation", field="deviation")
    details = dict(dev.details or {})
    occurrences = list(details.get("occurrences", []))
    occurrences.append({"at": datetime.now(timezone.utc).isoformat(), "by": actor.name, "description": description})
    details["occurrences"] = occurrences
    dev.details = details
    session.flush()
    chain.append(session, actor, "deviation.occurrence_attached", "deviation", dev.number,
                 after={"occurrence": len(occurrences), "description": description})
    return dev


def hold_lot(session: Session, actor, lot: Lot | str, *, reason: str, deviation_id: int | None = None):
    """Hold a lot, linked to a deviation when given (its disposition then lifts the hold)."""
    lot = _lot(session, lot)
    dev = get_deviation(session, deviation_id) if deviation_id is not None else None
    if dev is None:
        return holds.hold_lot(session, actor, lot, reason=reason)
    link = session.scalar(select(DeviationLot).where(DeviationLot.deviation_id == dev.id,
                                                     DeviationLot.lot_id == lot.id))
    if link is not None and link.hold is not None and link.hold.active:
        return link.hold
    if link is None:
        link = DeviationLot(deviation_id=dev.id, lot_id=lot.id)
        session.add(link)
    link.hold = holds.hold_lot(session, actor, lot, reason=f"{dev.number}: {reason}", deviation=dev)
    session.flush()
    return link.hold


def contain(session: Session, actor, dev: Deviation, *, classification: str, lot_numbers: list[str],
            rationale: str, decision: dict | None = None) -> dict:
    """Classify the deviation and put every affected lot on hold; ``decision`` is the record of
    the class table's decision (table version, matched rule, inputs), kept in the audit entry."""
    if classification not in CLASSIFICATIONS:
        raise ValidationFailed(f"classification must be one of {', '.join(CLASSIFICATIONS)}", field="classification")
    lots = [_lot(session, n) for n in dict.fromkeys(n.strip() for n in lot_numbers if n.strip())]
    before = {"classification": dev.classification, "status": dev.status}
    dev.classification, dev.triage_rationale, dev.status = classification, rationale, "contained"
    held = []
    for lot in lots:
        link = session.scalar(select(DeviationLot).where(DeviationLot.deviation_id == dev.id,
                                                         DeviationLot.lot_id == lot.id))
        if link is None:
            link = DeviationLot(deviation_id=dev.id, lot_id=lot.id)
            session.add(link)
        if link.hold is None or link.hold.released_at is not None:
            link.hold = holds.hold_lot(session, actor, lot, reason=f"{dev.number}: {dev.description}", deviation=dev)
        held.append({"lot_number": lot.lot_number, "item": lot.item.code, "status_before": link.hold.status_before})
    session.flush()
    chain.append(session, actor, "deviation.contained", "deviation", dev.number, reason=rationale, before=before,
                 after={"classification": classification, "status": dev.status, "held": [h["lot_number"] for h in held],
                        **({"classification_decision": evidence(decision)} if decision else {})})
    return {"classification": classification, "lots": held}


def record_dispositions(session: Session, actor, dev: Deviation, *, dispositions: list[dict],
                        investigation: str, root_cause: str) -> dict:
    """Record the proposed disposition of every held lot (exactly one each); approval applies them."""
    links = {link.lot.lot_number: link for link in _links(session, dev)}
    seen: set[str] = set()
    details = []
    for i, row in enumerate(dispositions):
        number = (row.get("lot_number") or "").strip()
        if number not in links:
            details.append({"field": f"dispositions[{i}].lot_number", "message": f"lot {number} is not held by {dev.number}"})
        elif number in seen:
            details.append({"field": f"dispositions[{i}].lot_number", "message": f"lot {number} has two dispositions"})
        if row.get("disposition") not in DISPOSITIONS:
            details.append({"field": f"dispositions[{i}].disposition", "message": "unknown disposition"})
        elif row["disposition"] == "rework" and not (row.get("rework_instructions") or "").strip():
            details.append({"field": f"dispositions[{i}].rework_instructions", "message": "rework needs instructions"})
        seen.add(number)
    for number in sorted(set(links) - seen):
        details.append({"field": "dispositions", "message": f"lot {number} has no disposition"})
    if details:
        raise ValidationFailed("; ".join(d["message"] for d in details), details=details)
    now = datetime.now(timezone.utc)
    for row in dispositions:
        link = links[row["lot_number"].strip()]
        link.disposition, link.justification = row["disposition"], row["justification"]
        link.rework_instructions = (row.get("rework_instructions") or "").strip() or None
        link.dispositioned_by, link.dispositioned_at = actor.name, now
    before = {"status": dev.status}
    dev.investigation_summary, dev.root_cause, dev.status = investigation, root_cause, "dispositioned"
    session.flush()
    record = [{"lot_number": n, "disposition": links[n].disposition, "justification": links[n].justification,
               "rework_instructions": links[n].rework_instructions} for n in sorted(links)]
    chain.append(session, actor, "deviation.dispositions_proposed", "deviation", dev.number, before=before,
                 after={"status": dev.status, "root_cause": root_cause, "dispositions": record},
                 reason="proposed for approval")
    return {"deviation": dev.number, "dispositions": record}


def capa_source(dev: Deviation) -> dict:
    """The CAPA source descriptor a deviation hands over to the CAPA process."""
    return {"type": "deviation", "reference": dev.number, "deviation_id": dev.id,
            "description": dev.description, "root_cause": dev.root_cause}


def close(session: Session, actor, dev: Deviation) -> dict:
    """Apply the approved dispositions (holds lifted, rework recorded, scrap rejected) and close."""
    if dev.status == "closed":
        raise Conflict(f"{dev.number} is already closed", field="deviation")
    applied = []
    for link in _links(session, dev):
        if link.disposition is None:
            raise Conflict(f"lot {link.lot.lot_number} has no disposition", field="dispositions")
        lot = link.lot
        if link.hold is not None and link.hold.released_at is None:
            holds.release_hold(session, actor, link.hold, reason=f"{dev.number}: disposition {link.disposition}")
        new_status = STATUS_AFTER[link.disposition]
        if link.disposition == "rework":
            chain.append(session, actor, "lot.rework_recorded", "lot", lot.lot_number,
                         reason=f"{dev.number}: {link.justification}",
                         after={"deviation": dev.number, "instructions": link.rework_instructions})
        if new_status == "rejected" and lot.status not in ("on_hold", "rejected"):
            change_lot_status(session, actor, lot, "rejected", reason=f"{dev.number}: disposition {link.disposition}")
        elif new_status and lot.status not in ("on_hold", new_status):
            # Rework sends the lot back into production (it is reviewed for release again when done).
            old = move_lot(lot, new_status)
            chain.append(session, actor, "lot.status_changed", "lot", lot.lot_number,
                         reason=f"{dev.number}: disposition {link.disposition}", before={"status": old},
                         after={"status": new_status})
        link.applied_at = datetime.now(timezone.utc)
        applied.append({"lot_number": lot.lot_number, "disposition": link.disposition, "status": lot.status})
    before = {"status": dev.status}
    dev.status, dev.closed_at = "closed", datetime.now(timezone.utc)
    session.flush()
    chain.append(session, actor, "deviation.closed", "deviation", dev.number, before=before,
                 after={"status": "closed", "lots": applied}, reason="dispositions approved and applied")
    return {"deviation": dev.number, "lots": applied}


def _links(session: Session, dev: Deviation) -> list[DeviationLot]:
    return list(session.scalars(select(DeviationLot).where(DeviationLot.deviation_id == dev.id)
                                .order_by(DeviationLot.id)))
