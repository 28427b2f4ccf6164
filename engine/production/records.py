"""Shop-floor records: operation executions, parameter measurements, inspection results, equipment logs.

Measurements and inspection results are append-only: ``correct_*`` adds a row that supersedes
the old one and names the reason; the old value remains (ALCOA+, Part 11 §11.10(e)).
"""
from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from audit import Actor, chain
from engine.db import utcnow
from engine.errors import Conflict, ValidationFailed
from engine.masterdata import units
from engine.masterdata.models import Equipment, InspectionItem, OperationParameter, RoutingOperation, Tooling
from engine.masterdata.revisions import user_id_of
from engine.production import inspection_plans, interlocks
from engine.production.models import (EQUIPMENT_LOG_KINDS, EquipmentLog, InspectionResult, Lot, OperationExecution,
                                      ParameterMeasurement)
from engine.users.models import User

FUTURE_SKEW = timedelta(minutes=5)


def _user_id(session: Session, actor: Actor) -> int | None:
    return user_id_of(session, actor)


def _in_routing(lot: Lot, op: RoutingOperation) -> None:
    if lot.routing_revision_id is None or op.routing_revision_id != lot.routing_revision_id:
        raise ValidationFailed(f"lot {lot.lot_number}: operation {op.sequence} {op.code} is not in the routing "
                               "revision pinned on the lot", field="operation", obj=lot.lot_number)


def _not_future(when: datetime, field: str, obj: str) -> None:
    if when.tzinfo is None:
        raise ValidationFailed(f"{field} must be timezone-aware", field=field, obj=obj)
    if when > utcnow() + FUTURE_SKEW:
        raise ValidationFailed(f"{obj}: {field} {when.isoformat()} is in the future", field=field, obj=obj)


def start_operation(session: Session, actor: Actor, lot: Lot, op: RoutingOperation, *, operator: User,
                    equipment: Equipment | None = None, tooling: Tooling | None = None,
                    started_at: datetime | None = None, transcribed_from: str | None = None) -> OperationExecution:
    """Begin an operation on an in-process lot; every interlock must pass (``interlocks.refuse`` lists all).

    ``transcribed_from`` names a paper record of work already done (e.g. a batch record written
    before the plant went live): such a record is kept as written, the live interlocks do not
    apply to it, and the audit entry says so; release review still checks it.
    """
    obj = f"lot {lot.lot_number}"
    if lot.status != "in_process":
        raise Conflict(f"{obj} is {lot.status}; operations run only while in_process", field="status", obj=obj)
    _in_routing(lot, op)
    started_at = started_at or utcnow()
    _not_future(started_at, "started_at", obj)
    transcribed_from = (transcribed_from or "").strip() or None
    if transcribed_from is None:
        interlocks.refuse(f"{obj}: starting operation {op.sequence} {op.code}", interlocks.operation_blockers(
            session, op, operator=operator, equipment=equipment, tooling=tooling, at=started_at), obj=obj)
    ex = OperationExecution(lot=lot, operation=op, operator=operator, equipment=equipment, tooling=tooling,
                            started_at=started_at, transcribed_from=transcribed_from)
    session.add(ex)
    session.flush()
    chain.append(session, actor, "operation.start", "lot", lot.lot_number,
                 after={"execution_id": ex.id, "operation": op.sequence, "code": op.code,
                        "operator": operator.username, "equipment": equipment.code if equipment else None,
                        "tooling": tooling.code if tooling else None, "started_at": started_at,
                        "interlocks": f"not applied: transcribed from {transcribed_from}" if transcribed_from
                        else "passed"})
    return ex


def recheck_execution(session: Session, ex: OperationExecution, at: datetime) -> None:
    """Refuse a record on a live execution whose operator, equipment or tooling no longer passes."""
    if ex.transcribed_from is None:
        interlocks.refuse(f"lot {ex.lot.lot_number}: recording on operation {ex.operation.sequence} {ex.operation.code}",
                          interlocks.operation_blockers(session, ex.operation, operator=ex.operator,
                                                        equipment=ex.equipment, tooling=ex.tooling, at=at),
                          obj=f"lot {ex.lot.lot_number}")


def finish_operation(session: Session, actor: Actor, ex: OperationExecution, *, ended_at: datetime | None = None,
                     quantity_good: float | None = None, quantity_scrap: float | None = None,
                     notes: str = "") -> OperationExecution:
    """End an operation execution (once)."""
    obj = f"lot {ex.lot.lot_number}"
    if ex.ended_at is not None:
        raise Conflict(f"{obj}: operation {ex.operation.sequence} already ended", field="ended_at", obj=obj)
    ended_at = ended_at or utcnow()
    _not_future(ended_at, "ended_at", obj)
    if ended_at < ex.started_at:
        raise ValidationFailed(f"{obj}: ended_at is before started_at", field="ended_at", obj=obj)
    for name, value in (("quantity_good", quantity_good), ("quantity_scrap", quantity_scrap)):
        if value is not None and value < 0:
            raise ValidationFailed(f"{obj}: {name} must not be negative", field=name, obj=obj)
    ex.ended_at, ex.quantity_good, ex.quantity_scrap, ex.notes = ended_at, quantity_good, quantity_scrap, notes
    if ex.tooling is not None:
        ex.tooling.cycles_used += int(quantity_good or 0) + int(quantity_scrap or 0)
    session.flush()
    chain.append(session, actor, "operation.finish", "lot", ex.lot.lot_number,
                 after={"operation": ex.operation.sequence, "ended_at": ended_at, "quantity_good": quantity_good,
                        "quantity_scrap": quantity_scrap})
    return ex


def _measurement_row(session, actor, lot, param, value, unit, measured_at, source, equipment, execution):
    obj = f"lot {lot.lot_number}"
    _in_routing(lot, param.operation)
    if value is None or not isinstance(value, (int, float)) or isinstance(value, bool) or value != value:
        raise ValidationFailed(f"{obj}: value must be a number", field="value", obj=obj)
    unit = unit or param.unit
    value_in_param_unit = units.convert(value, unit, param.unit, field="unit", obj=f"{obj} {param.name}")
    measured_at = measured_at or utcnow()
    _not_future(measured_at, "measured_at", obj)
    if source not in ("manual", "api", "import"):
        raise ValidationFailed("source must be manual, api or import", field="source", obj=obj)
    return ParameterMeasurement(lot=lot, parameter=param, value=float(value), unit=unit,
                                in_spec=param.in_spec(value_in_param_unit), measured_at=measured_at,
                                recorded_at=utcnow(), recorded_by_id=_user_id(session, actor), source=source,
                                equipment_id=equipment.id if equipment else None,
                                execution_id=execution.id if execution else None)


def record_measurement(session: Session, actor: Actor, lot: Lot, param: OperationParameter, *, value: float,
                       unit: str | None = None, measured_at: datetime | None = None, source: str = "manual",
                       equipment: Equipment | None = None,
                       execution: OperationExecution | None = None) -> ParameterMeasurement:
    """Record a measured value (converted to the parameter's unit to judge it against LSL/USL)."""
    if lot.status not in ("in_process", "on_hold"):
        raise Conflict(f"lot {lot.lot_number} is {lot.status}; measurements are recorded while it is in process",
                       field="status", obj=lot.lot_number)
    row = _measurement_row(session, actor, lot, param, value, unit, measured_at, source, equipment, execution)
    if execution is not None:
        if execution.lot_id != lot.id or execution.routing_operation_id != param.operation_id:
            raise ValidationFailed(f"lot {lot.lot_number}: execution {execution.id} is not operation "
                                   f"{param.operation.code} of this lot", field="execution", obj=lot.lot_number)
        if execution.ended_at is not None:
            raise Conflict(f"lot {lot.lot_number}: operation {param.operation.code} (execution {execution.id}) "
                           "has ended", field="execution", obj=lot.lot_number)
        recheck_execution(session, execution, row.measured_at)
    session.add(row)
    session.flush()
    chain.append(session, actor, "measurement.record", "lot", lot.lot_number,
                 after={"measurement_id": row.id, "parameter": param.name, "operation": param.operation.sequence,
                        "value": row.value, "unit": row.unit, "in_spec": row.in_spec, "measured_at": row.measured_at,
                        "source": source})
    return row


def correct_measurement(session: Session, actor: Actor, old: ParameterMeasurement, *, value: float,
                        unit: str | None = None, reason: str) -> ParameterMeasurement:
    """Supersede ``old`` with a corrected value; the old row stays, linked, with the reason."""
    if not reason or not reason.strip():
        raise ValidationFailed("a reason is required for a correction", field="reason")
    newer = session.scalars(select(ParameterMeasurement.id).where(ParameterMeasurement.supersedes_id == old.id)).first()
    if newer is not None:
        raise Conflict(f"measurement {old.id} was already corrected by {newer}; correct the newest value",
                       field="supersedes", obj=str(old.id))
    row = _measurement_row(session, actor, old.lot, old.parameter, value, unit or old.unit, old.measured_at,
                           old.source, None, None)
    row.equipment_id, row.execution_id = old.equipment_id, old.execution_id
    row.supersedes_id, row.correction_reason = old.id, reason.strip()
    session.add(row)
    session.flush()
    chain.append(session, actor, "measurement.correct", "lot", old.lot.lot_number, reason=reason,
                 before={"measurement_id": old.id, "value": old.value, "unit": old.unit, "in_spec": old.in_spec},
                 after={"measurement_id": row.id, "value": row.value, "unit": row.unit, "in_spec": row.in_spec})
    return row


def current_measurements(session: Session, lot: Lot) -> list[ParameterMeasurement]:
    """The lot's measurements that no correction supersedes, in time order."""
    newer = aliased(ParameterMeasurement)
    return list(session.scalars(
        select(ParameterMeasurement).outerjoin(newer, newer.supersedes_id == ParameterMeasurement.id)
        .where(ParameterMeasurement.lot_id == lot.id, newer.id.is_(None))
        .order_by(ParameterMeasurement.measured_at, ParameterMeasurement.id)))


def _judge(item: InspectionItem, sample_size: int, defects: int, measured: float | None, unit: str | None) -> str:
    if item.kind == "variable" and measured is not None:
        value = units.convert(measured, unit or item.unit, item.unit) if item.unit else measured
        ok = (item.lsl is None or value >= item.lsl) and (item.usl is None or value <= item.usl)
        return "pass" if ok and defects <= (item.accept_number or 0) else "fail"
    return "pass" if defects <= (item.accept_number or 0) else "fail"


def record_inspection(session: Session, actor: Actor, lot: Lot, item: InspectionItem, *, sample_size: int,
                      defects_found: int = 0, measured_value: float | None = None, unit: str | None = None,
                      inspected_at: datetime | None = None, inspector: User | None = None,
                      notes: str = "") -> InspectionResult:
    """Record an inspection outcome; pass/fail follows from the item's acceptance criteria, or from
    its ISO 2859-1 plan (the sample drawn must be the plan's)."""
    obj = f"lot {lot.lot_number}"
    _in_routing(lot, item.operation)
    plan = inspection_plans.plan_for(session, item, lot)
    if plan is not None and sample_size != plan.sample_size:
        raise ValidationFailed(
            f"{obj}: {item.name} is sampled by ISO 2859-1 (level {plan.inspection_level}, AQL {plan.aql:g}, "
            f"{plan.severity}): lot of {plan.lot_size}, code letter {plan.code_letter}, draw {plan.sample_size} "
            f"unit(s), accept with at most {plan.accept} nonconforming; {sample_size} were inspected",
            field="sample_size", obj=obj)
    if plan is None and (sample_size is None or sample_size < item.sample_size):
        raise ValidationFailed(f"{obj}: {item.name} needs a sample of at least {item.sample_size}",
                               field="sample_size", obj=obj)
    if defects_found is None or not 0 <= defects_found <= sample_size:
        raise ValidationFailed(f"{obj}: defects_found must lie within 0..sample_size", field="defects_found", obj=obj)
    if item.kind == "variable" and measured_value is None:
        raise ValidationFailed(f"{obj}: {item.name} is a variable inspection: measured_value is required",
                               field="measured_value", obj=obj)
    inspected_at = inspected_at or utcnow()
    _not_future(inspected_at, "inspected_at", obj)
    result = _judge(item, sample_size, defects_found, measured_value, unit) if plan is None \
        else ("pass" if defects_found <= plan.accept else "fail")
    row = InspectionResult(lot=lot, inspection_item=item, sample_size=sample_size, defects_found=defects_found,
                           sampling_plan=plan.as_dict() if plan else None,
                           measured_value=measured_value, unit=unit or item.unit, result=result, notes=notes,
                           inspected_at=inspected_at, inspector_id=inspector.id if inspector else None,
                           recorded_at=utcnow())
    session.add(row)
    session.flush()
    chain.append(session, actor, "inspection.record", "lot", lot.lot_number,
                 after={"inspection_result_id": row.id, "inspection": item.name, "sample_size": sample_size,
                        "defects_found": defects_found, "measured_value": measured_value, "result": result,
                        **({"sampling_plan": plan.as_dict()} if plan else {})})
    return row


def log_equipment_event(session: Session, actor: Actor, equipment: Equipment, *, kind: str, performed_at: datetime,
                        performed_by: str, result: str = "n/a", certificate_ref: str = "",
                        description: str = "") -> EquipmentLog:
    """Log maintenance, calibration, breakdown or repair; updates the plan's last/next dates and status."""
    obj = f"equipment {equipment.code}"
    if kind not in EQUIPMENT_LOG_KINDS:
        raise ValidationFailed(f"kind must be one of {', '.join(EQUIPMENT_LOG_KINDS)}", field="kind", obj=obj)
    if result not in ("pass", "fail", "n/a"):
        raise ValidationFailed("result must be pass, fail or n/a", field="result", obj=obj)
    if kind == "calibration" and result == "n/a":
        raise ValidationFailed(f"{obj}: a calibration has a result (pass or fail)", field="result", obj=obj)
    if not (performed_by or "").strip():
        raise ValidationFailed("performed_by is required", field="performed_by", obj=obj)
    _not_future(performed_at, "performed_at", obj)
    if equipment.status == "obsolete":
        raise Conflict(f"{obj} is obsolete", field="status", obj=obj)
    before = {"status": equipment.status, "calibration_due_on": equipment.calibration_due_on,
              "maintenance_due_on": equipment.maintenance_due_on}
    log = EquipmentLog(equipment=equipment, kind=kind, performed_at=performed_at, performed_by=performed_by,
                       result=result, certificate_ref=certificate_ref, description=description, recorded_at=utcnow(),
                       recorded_by_id=_user_id(session, actor))
    session.add(log)
    day: date = performed_at.date()
    if kind == "calibration" and result == "pass":
        equipment.last_calibrated_on = day
        if equipment.calibration_interval_days:
            equipment.calibration_due_on = day + timedelta(days=equipment.calibration_interval_days)
    elif kind == "maintenance" and result != "fail":
        equipment.last_maintained_on = day
        if equipment.maintenance_interval_days:
            equipment.maintenance_due_on = day + timedelta(days=equipment.maintenance_interval_days)
    if kind == "breakdown" or result == "fail":
        equipment.status = "out_of_service"
    elif kind == "repair" and result == "pass":
        equipment.status = "active"
    session.flush()
    chain.append(session, actor, f"equipment.{kind}", "equipment", equipment.code, reason=description or kind,
                 before=before, after={"status": equipment.status, "calibration_due_on": equipment.calibration_due_on,
                                       "maintenance_due_on": equipment.maintenance_due_on, "result": result,
                                       "log_id": log.id})
    return log
