"""KPI figures from the real records over a period (the formulas are in ``kpi``).

``kpi_report(session, start, end)`` returns JSON-able data: the dashboard renders it and the
API returns it unchanged. Record keys are lot numbers, deviation/CAPA/change numbers and task
ids so that each number links to the records behind it. Figures that need the processes area
(deviations, CAPA, change control) are marked unavailable when it is not installed.
"""
from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from audit.models import Signature
from engine.errors import NotFound
from engine.masterdata.models import OperationParameter, RoutingOperation
from engine.masterdata.units import convert
from engine.production.models import InspectionResult, Lot, OperationExecution, ParameterMeasurement
from engine.trace import kpi
from engine.trace.plant_kpi import plant_figures
from engine.trace.dhr import processes_models
from engine.workflows.models import ProcessInstance, WorkflowTask

SCHEMA = "sealtrail.kpi/1"


def _in_period(column, start, end):
    return (column >= start) & (column < end)


def _lot_rows(session: Session, start: dt.datetime, end: dt.datetime) -> list[dict]:
    """Lots whose latest milestone (disposition, completion or start) falls in the period."""
    milestone = func.coalesce(Lot.dispositioned_at, Lot.completed_at, Lot.started_at)
    lots = list(session.scalars(select(Lot).where(Lot.source == "made", _in_period(milestone, start, end))
                                .order_by(Lot.lot_number)))
    if not lots:
        return []
    ids = [lot.id for lot in lots]
    ops = defaultdict(Counter)
    for lot_id, op_id in session.execute(select(OperationExecution.lot_id, OperationExecution.routing_operation_id)
                                         .where(OperationExecution.lot_id.in_(ids))):
        ops[lot_id][op_id] += 1
    newer = aliased(ParameterMeasurement)
    measured = defaultdict(set)
    for lot_id, param_id in session.execute(
            select(ParameterMeasurement.lot_id, ParameterMeasurement.parameter_id)
            .outerjoin(newer, newer.supersedes_id == ParameterMeasurement.id)
            .where(ParameterMeasurement.lot_id.in_(ids), newer.id.is_(None))):
        measured[lot_id].add(param_id)
    signed = _signed_lots(session, [lot.lot_number for lot in lots])
    devs = _deviation_counts(session, ids)
    rows = []
    for lot in lots:
        required = {p["parameter_id"] for op in (lot.manifest or {}).get("routing", {}).get("operations", [])
                    for p in op.get("parameters", [])}
        decided = lot.status in kpi.DECIDED
        rows.append({"id": lot.lot_number, "status": lot.status, "qty_made": lot.quantity_made,
                     "qty_approved": lot.quantity_approved, "operations": sum(ops[lot.id].values()),
                     "reworked": any(n > 1 for n in ops[lot.id].values()), "deviations": devs.get(lot.id, 0),
                     "measurements_missing": len(required - measured[lot.id]),
                     "signatures_missing": 0 if (not decided or lot.lot_number in signed) else 1})
    return rows


def _signed_lots(session: Session, numbers: list[str]) -> set[str]:
    direct = session.scalars(select(Signature.record_id).where(Signature.record_type == "lot",
                                                               Signature.record_id.in_(numbers)))
    via_tasks = session.scalars(select(ProcessInstance.business_key).join(
        WorkflowTask, WorkflowTask.instance_id == ProcessInstance.id).where(
        ProcessInstance.business_key.in_(numbers), WorkflowTask.signature_id.is_not(None)))
    return set(direct) | set(via_tasks)


def _deviation_counts(session: Session, lot_ids: list[int]) -> dict[int, int]:
    pm = processes_models()
    if pm is None:
        return {}
    return dict(session.execute(select(pm.Deviation.lot_id, func.count()).where(pm.Deviation.lot_id.in_(lot_ids))
                                .group_by(pm.Deviation.lot_id)).all())


def _quality(session: Session, start, end, as_of) -> dict:
    pm = processes_models()
    if pm is None:
        return {"available": False}
    devs = [{"id": d.number, "category": d.classification or "unclassified",
             "operation": f"{d.operation.sequence} {d.operation.name}" if d.operation else "—"}
            for d in session.scalars(select(pm.Deviation).where(_in_period(pm.Deviation.raised_at, start, end)))]
    changes = [{"id": c.number, "opened_at": c.created_at, "closed_at": c.closed_at}
               for c in session.scalars(select(pm.ChangeRequest).where(_in_period(pm.ChangeRequest.created_at, start, end)))]
    end_of_day = dt.time(23, 59, 59, tzinfo=dt.timezone.utc)
    capas = [{"id": c.number, "closed_at": c.closed_at,
              "due_at": dt.datetime.combine(c.due_on, end_of_day) if c.due_on else None}
             for c in session.scalars(select(pm.Capa).where(_in_period(pm.Capa.opened_at, start, end)))]
    return {"available": True,
            "deviations_by_category": {k: f.as_dict() for k, f in kpi.count_by(devs, "category").items()},
            "deviations_by_operation": {k: f.as_dict() for k, f in kpi.count_by(devs, "operation").items()},
            "change_lead_time_days": kpi.median_lead_time(changes).as_dict(),
            "capa_on_time_closure": kpi.on_time_closure(capas, as_of).as_dict()}


def _integrity(session: Session, start, end) -> dict:
    rows = session.execute(select(ParameterMeasurement.id, ParameterMeasurement.measured_at,
                                  ParameterMeasurement.recorded_at, ParameterMeasurement.supersedes_id, Lot.lot_number)
                           .join(Lot, Lot.id == ParameterMeasurement.lot_id)
                           .where(_in_period(ParameterMeasurement.recorded_at, start, end))).all()
    originals = [r for r in rows if r.supersedes_id is None]
    corrected = Counter()
    by_id = {r.id: r for r in rows}
    for r in rows:
        root = r
        while root.supersedes_id is not None and root.supersedes_id in by_id:
            root = by_id[root.supersedes_id]
        if r.supersedes_id is not None:
            corrected[root.id] += 1
    records = [{"id": f"{r.lot_number}#m{r.id}", "occurred_at": r.measured_at, "recorded_at": r.recorded_at,
                "corrections": corrected.get(r.id, 0)} for r in originals]
    insp = session.execute(select(InspectionResult.id, InspectionResult.inspected_at, InspectionResult.recorded_at,
                                  InspectionResult.supersedes_id)
                           .where(_in_period(InspectionResult.recorded_at, start, end))).all()
    records += [{"id": f"i{r.id}", "occurred_at": r.inspected_at, "recorded_at": r.recorded_at,
                 "corrections": 0} for r in insp if r.supersedes_id is None]
    signed_tasks = [{"ready_at": t.created_at, "signed_at": t.completed_at} for t in session.execute(
        select(WorkflowTask.created_at, WorkflowTask.completed_at).where(
            WorkflowTask.signature_id.is_not(None), _in_period(WorkflowTask.completed_at, start, end)))]
    delay = kpi.entry_delay(records)
    corr = kpi.corrections(records)
    return {"entry_delay_median_minutes": delay["median_minutes"].as_dict(),
            "entry_delay_p95_minutes": delay["p95_minutes"].as_dict(),
            "back_entries": delay["back_entries"].as_dict(),
            "corrections_per_record": corr["per_record"].as_dict(),
            "right_first_time": corr["right_first_time"].as_dict(),
            "signature_latency_hours": kpi.signature_latency(signed_tasks).as_dict()}


def _overdue_tasks(session: Session, as_of) -> dict:
    tasks = [{"id": t.id, "role": t.lane or "unassigned", "due_at": t.due_at, "completed_at": t.completed_at}
             for t in session.scalars(select(WorkflowTask).where(WorkflowTask.state == "ready",
                                                                 WorkflowTask.due_at.is_not(None)))]
    return {k: f.as_dict() for k, f in kpi.overdue_by_role(tasks, as_of).items()}


def kpi_report(session: Session, start: dt.datetime, end: dt.datetime, *, as_of: dt.datetime | None = None) -> dict:
    """Every dashboard figure for lots and records in ``[start, end)``."""
    as_of = as_of or dt.datetime.now(dt.timezone.utc)
    lots = _lot_rows(session, start, end)
    return {"schema": SCHEMA, "period": {"start": start.isoformat(), "end": end.isoformat()},
            "as_of": as_of.isoformat(), "lots_in_period": len(lots),
            "production": {"batch_pass_rate": kpi.batch_pass_rate(lots).as_dict(),
                           "first_pass_yield": kpi.first_pass_yield(lots).as_dict(),
                           "rework_rate": kpi.rework_rate(lots).as_dict(),
                           "scrap_rate": kpi.scrap_rate(lots).as_dict(),
                           "record_completeness": kpi.completeness(lots).as_dict()},
            "quality": _quality(session, start, end, as_of),
            "overdue_tasks_by_role": _overdue_tasks(session, as_of),
            "data_integrity": _integrity(session, start, end),
            "plant": plant_figures(session, start, end, as_of),
            "parameters": chartable_parameters(session)}


def chartable_parameters(session: Session) -> list[dict]:
    """Parameters that have measurements, for the control-chart picker."""
    rows = session.execute(select(OperationParameter.id, OperationParameter.name, OperationParameter.unit,
                                  RoutingOperation.sequence, func.count(ParameterMeasurement.id))
                           .join(RoutingOperation, RoutingOperation.id == OperationParameter.operation_id)
                           .join(ParameterMeasurement, ParameterMeasurement.parameter_id == OperationParameter.id)
                           .group_by(OperationParameter.id, OperationParameter.name, OperationParameter.unit,
                                     RoutingOperation.sequence).order_by(OperationParameter.name))
    return [{"id": r[0], "name": r[1], "unit": r[2], "operation": r[3], "measurements": r[4]} for r in rows]


def control_chart(session: Session, parameter_id: int, *, limit: int = 200) -> dict:
    """Individuals chart of the current (uncorrected) values of one parameter, oldest first."""
    param = session.get(OperationParameter, parameter_id)
    if param is None:
        raise NotFound(f"no parameter {parameter_id}", field="parameter")
    newer = aliased(ParameterMeasurement)
    rows = session.execute(select(ParameterMeasurement.id, ParameterMeasurement.value, ParameterMeasurement.unit,
                                  ParameterMeasurement.measured_at, Lot.lot_number)
                           .join(Lot, Lot.id == ParameterMeasurement.lot_id)
                           .outerjoin(newer, newer.supersedes_id == ParameterMeasurement.id)
                           .where(ParameterMeasurement.parameter_id == parameter_id, newer.id.is_(None))
                           .order_by(ParameterMeasurement.measured_at.desc()).limit(limit)).all()[::-1]
    values = [convert(r.value, r.unit, param.unit) if r.unit != param.unit else r.value for r in rows]
    limits = kpi.individuals_limits(values)
    flagged = set(limits.out_of_control) if limits else set()
    return {"parameter": {"id": param.id, "name": param.name, "unit": param.unit, "target": param.target,
                          "lsl": param.lsl, "usl": param.usl, "lcl": param.lcl, "ucl": param.ucl},
            "limits": limits.as_dict() if limits else None,
            "points": [{"lot": r.lot_number, "measurement_id": r.id, "value": v, "measured_at": r.measured_at.isoformat(),
                        "out_of_control": i in flagged,
                        "out_of_spec": (param.lsl is not None and v < param.lsl) or (param.usl is not None and v > param.usl)}
                       for i, (r, v) in enumerate(zip(rows, values))]}
