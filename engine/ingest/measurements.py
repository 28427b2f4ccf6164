"""Measurements from machines and LIMS: record, judge against the lot's routing revision, SPC.

Each value is stored through the production records (unit converted to the parameter's unit),
then judged: outside the specification limits (LSL/USL) → an ``OOS`` process signal, which
opens a deviation; outside the control limits (LCL/UCL) → a warning in the answer and the audit
trail; Western Electric rules over the recent series against the parameter's SPC baseline →
an ``SPC-WE<n>`` process signal. Process signals are stored as alarms (channel ``process``) and
go through the alarm rules and escalation like any alarm: QA can configure them (for example
``hold`` for a critical parameter), and repeats attach to the deviation still open.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from audit import Actor
from engine.errors import NotFound, SealtrailError
from engine.ingest import baselines, spc
from engine.ingest.alarms import ingest_alarm
from engine.ingest.schemas import AlarmIn, AlarmSource, MeasurementIn
from engine.ingest.audit_entries import record
from engine.masterdata import units
from engine.masterdata.models import Equipment, OperationParameter
from engine.production.lots import get_lot
from engine.production.models import Lot, ParameterMeasurement
from engine.production.records import record_measurement

SERIES_LENGTH = 25
PROCESS_LINE = "process-control"
OOS_SEVERITY = 800
SPC_SEVERITY = 600
DEFAULT_ATTACH_MINUTES = 480  # with no rule, repeats within a shift attach to the open deviation


@dataclass
class MeasurementResult:
    """What one value did: stored row, its judgement, and the signals it raised."""

    measurement: ParameterMeasurement
    parameter: OperationParameter
    value_in_parameter_unit: float
    in_control: bool
    warnings: list[str] = field(default_factory=list)
    spc: list[spc.Violation] = field(default_factory=list)
    signals: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        m, p = self.measurement, self.parameter
        return {
            "measurement_id": m.id, "lot": m.lot.lot_number, "operation": p.operation.code,
            "parameter": p.name, "value": m.value, "unit": m.unit,
            "value_in_parameter_unit": self.value_in_parameter_unit, "parameter_unit": p.unit,
            "limits": {"lsl": p.lsl, "usl": p.usl, "lcl": p.lcl, "ucl": p.ucl, "target": p.target},
            "in_spec": bool(m.in_spec), "in_control": self.in_control, "warnings": self.warnings,
            "spc_violations": [{"rule": v.rule, "code": v.code, "description": v.description} for v in self.spc],
            "signals": self.signals,
        }


def _code(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._:/\-]", "_", text)[:60]


def resolve(session: Session, item: MeasurementIn) -> tuple[Lot, OperationParameter, Equipment | None]:
    """The lot, the parameter in the lot's routing revision, and the equipment named by ``item``."""
    try:
        lot = get_lot(session, item.lot)
    except NotFound as exc:
        raise NotFound(exc.message, field="lot") from exc
    revision = lot.routing_revision
    if revision is None:
        raise NotFound(f"lot {lot.lot_number} has no routing revision (not started?)", field="lot")
    operation = next((op for op in revision.operations if op.code == item.operation), None)
    if operation is None:
        raise NotFound(f"operation {item.operation!r} is not in routing revision {revision.label} of lot "
                       f"{lot.lot_number}", field="operation")
    parameter = next((p for p in operation.parameters if p.name == item.parameter), None)
    if parameter is None:
        raise NotFound(f"operation {operation.code} has no parameter {item.parameter!r}", field="parameter")
    equipment = None
    if item.equipment is not None:
        equipment = session.scalars(select(Equipment).where(Equipment.code == item.equipment)).one_or_none()
        if equipment is None:
            raise NotFound(f"no equipment {item.equipment!r}", field="equipment")
    return lot, parameter, equipment


def ingest_measurement(session: Session, actor: Actor, item: MeasurementIn, *,
                       client_id: str | None = None) -> MeasurementResult:
    """Record one value and act on the limits and SPC rules it breaks."""
    lot, parameter, equipment = resolve(session, item)
    row = record_measurement(session, actor, lot, parameter, value=item.value, unit=item.unit,
                             measured_at=item.measured_at, source="api", equipment=equipment)
    value = units.convert(row.value, row.unit, parameter.unit, field="unit")
    result = MeasurementResult(row, parameter, value, in_control=parameter.in_control(value))
    if not result.in_control and row.in_spec:
        result.warnings.append(f"{parameter.name} = {value:g} {parameter.unit} is outside the control limits "
                               f"[{parameter.lcl}, {parameter.ucl}]")
        record(session, actor, "measurement.control_warning", "lot", lot.lot_number,
               payload={"measurement_id": row.id, "parameter": parameter.name, "value": value,
                        "lcl": parameter.lcl, "ucl": parameter.ucl})
    source_equipment = equipment.code if equipment else _code(parameter.operation.code)
    if not row.in_spec:
        result.signals.append(_signal(session, actor, result, lot, equipment=source_equipment,
                                      code=f"OOS:{_code(parameter.name)}", severity=OOS_SEVERITY,
                                      message=f"{parameter.name} = {value:g} {parameter.unit} outside the "
                                              f"specification [{parameter.lsl}, {parameter.usl}]",
                                      client_id=client_id))
    baseline = baselines.find_for(session, parameter, equipment)
    if baseline is not None:
        series = baselines.series(session, parameter, equipment if baseline.equipment else None,
                                  limit=SERIES_LENGTH)
        result.spc = spc.check_latest(series, spc.Limits(baseline.mean, baseline.sigma),
                                      spc.parse_rules(baseline.rules))
        for violation in result.spc:
            result.signals.append(_signal(session, actor, result, lot, equipment=source_equipment,
                                          code=f"{violation.code}:{_code(parameter.name)}", severity=SPC_SEVERITY,
                                          message=f"{parameter.name}: {violation.description} (baseline "
                                                  f"{baseline.mean:g} ± {baseline.sigma:g} {baseline.unit})",
                                          client_id=client_id))
    return result


def _signal(session, actor, result: MeasurementResult, lot: Lot, *, equipment: str, code: str, severity: int,
            message: str, client_id: str | None) -> dict:
    row = result.measurement
    alarm = AlarmIn(source=AlarmSource(line=PROCESS_LINE, equipment=_code(equipment)),
                    event_id=f"measurement:{row.id}:{code}", code=code, severity=severity,
                    occurred_at=row.measured_at, message=message[:1000], lot=lot.lot_number,
                    operation=result.parameter.operation.code, parameter=result.parameter.name,
                    value=result.value_in_parameter_unit, unit=result.parameter.unit)
    outcome = ingest_alarm(session, actor, alarm, client_id=client_id, channel="process",
                           default_action="deviation", default_window_minutes=DEFAULT_ATTACH_MINUTES)
    return {"code": code, "alarm_id": outcome.alarm.id, "outcome": outcome.alarm.outcome,
            "deviation_id": outcome.alarm.deviation_id}


def ingest_batch(session: Session, actor: Actor, items: list[MeasurementIn], *,
                 client_id: str | None = None) -> list[MeasurementResult]:
    """All of ``items`` or none: an error names the item (``measurements.<i>.<field>``)."""
    results = []
    for index, item in enumerate(items):
        try:
            results.append(ingest_measurement(session, actor, item, client_id=client_id))
        except SealtrailError as exc:
            prefix = f"measurements.{index}"
            exc.details = [dict(d, field=f"{prefix}.{d.get('field') or ''}".rstrip(".")) for d in exc.details] \
                or [{"field": prefix, "message": exc.message}]
            exc.message = f"measurement {index}: {exc.message}"
            raise
    return results
