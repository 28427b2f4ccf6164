"""Batch release review by exception: every check a QA reviewer would make, run by the engine.

``exceptions_for(session, lot)`` runs all checks over the lot's production record and returns
each check with its outcome and the list of exceptions (an empty list means "no exceptions").
Each exception has a stable ``key`` so that a reviewer's disposition can be matched to it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import ValidationFailed
from engine.masterdata import units
from engine.masterdata.models import Equipment
from engine.production.models import (
    EquipmentLog, InspectionResult, Lot, MaterialConsumption, OperationExecution, ParameterMeasurement,
)
from engine.processes.models import Deviation, DeviationLot
from engine.users.training import TRAINED_PURPOSES, document_revision_in_effect, is_trained

LATE_ENTRY_AFTER = timedelta(hours=24)

CHECKS = (
    ("lot_status", "Lot is completed and not on hold", "批次已完工且未被暂停"),
    ("routing_complete", "Every routing operation executed", "所有工序均已执行"),
    ("parameter_limits", "Every measured parameter within its limits", "所有参数均在规格限内"),
    ("inspections", "Every inspection passed", "所有检验均合格"),
    ("open_deviations", "No open deviation on the lot or its component lots", "本批及组件批无未关闭偏差"),
    ("equipment", "Equipment within calibration and maintenance on the date of use", "设备在使用日处于校准和维护有效期内"),
    ("training", "Operators trained on the effective SOP revision on the date of work", "操作员在作业日已接受现行SOP版本培训"),
    ("data_integrity", "No late entries, no corrections without a reason", "无补录，无无理由更正"),
    ("component_lots", "Component lots released", "组件批均已放行"),
    ("record_complete", "Record complete (no missing signatures)", "记录完整（无缺失签名）"),
)


@dataclass
class Findings:
    """Exceptions gathered per check."""

    by_check: dict[str, list[dict]] = field(default_factory=lambda: {c[0]: [] for c in CHECKS})

    def add(self, check: str, key: str, message: str, **details) -> None:
        self.by_check[check].append({"key": f"{check}:{key}", "check": check, "message": message,
                                     "details": details})


def exceptions_for(session: Session, lot: Lot, *, late_entry_after: timedelta = LATE_ENTRY_AFTER) -> dict:
    """``{"lot", "checks": [{check, title, title_zh, passed, exceptions}], "exceptions": [...]}``."""
    found = Findings()
    _lot_status(lot, found)
    executions = list(session.scalars(select(OperationExecution).where(OperationExecution.lot_id == lot.id)
                                      .order_by(OperationExecution.started_at, OperationExecution.id)))
    measurements = _effective(session, ParameterMeasurement, lot.id)
    results = _effective(session, InspectionResult, lot.id)
    operations = lot.routing_revision.operations if lot.routing_revision else []
    _routing(operations, executions, found)
    _parameters(operations, measurements, found)
    _inspections(operations, results, found)
    _deviations(session, lot, found)
    _equipment(session, executions, measurements, found)
    _training(session, executions, found)
    _data_integrity(session, lot.id, measurements, results, late_entry_after, found)
    _components(session, lot, found)
    _completeness(executions, measurements, results, found)
    checks = [{"check": code, "title": en, "title_zh": zh, "passed": not found.by_check[code],
               "exceptions": len(found.by_check[code])} for code, en, zh in CHECKS]
    exceptions = [e for code, _, _ in CHECKS for e in found.by_check[code]]
    return {"lot": {"id": lot.id, "lot_number": lot.lot_number, "item": lot.item.code, "status": lot.status},
            "checks": checks, "exceptions": exceptions}


def _effective(session: Session, model, lot_id: int) -> list:
    """Rows of the lot that no later row supersedes (the values in force)."""
    superseded = select(model.supersedes_id).where(model.supersedes_id.is_not(None))
    return list(session.scalars(select(model).where(model.lot_id == lot_id, model.id.not_in(superseded))
                                .order_by(model.id)))


def _lot_status(lot: Lot, found: Findings) -> None:
    if lot.status == "on_hold":
        found.add("lot_status", "on_hold", f"lot {lot.lot_number} is on hold")
    elif lot.status != "completed":
        found.add("lot_status", lot.status, f"lot {lot.lot_number} is {lot.status}, not completed")


def _routing(operations, executions, found: Findings) -> None:
    done = {e.routing_operation_id for e in executions if e.ended_at is not None}
    for op in operations:
        if op.id not in done:
            found.add("routing_complete", op.code, f"operation {op.sequence} {op.code} {op.name} was not executed "
                      "to completion", operation=op.code)


def _parameters(operations, measurements, found: Findings) -> None:
    by_param: dict[int, list[ParameterMeasurement]] = {}
    for m in measurements:
        by_param.setdefault(m.parameter_id, []).append(m)
    for op in operations:
        for param in op.parameters:
            rows = by_param.get(param.id, [])
            where = f"{op.code}/{param.name}"
            if not rows:
                found.add("parameter_limits", f"{where}:missing", f"{where}: no measured value", parameter=where)
            for m in rows:
                try:
                    value = m.value if m.unit == param.unit else units.convert(m.value, m.unit, param.unit)
                except ValidationFailed:
                    found.add("parameter_limits", f"{where}:{m.id}", f"{where}: value {m.value} {m.unit} cannot be "
                              f"expressed in the parameter's unit {param.unit}", parameter=where, measurement_id=m.id)
                    continue
                if not param.in_spec(value):
                    found.add("parameter_limits", f"{where}:{m.id}",
                              f"{where} = {m.value:g} {m.unit} outside limits [{_fmt(param.lsl)}, {_fmt(param.usl)}] "
                              f"{param.unit}", parameter=where, measurement_id=m.id, value=m.value, unit=m.unit,
                              lsl=param.lsl, usl=param.usl, measured_at=m.measured_at.isoformat())


def _fmt(v) -> str:
    return "–" if v is None else f"{v:g}"


def _inspections(operations, results, found: Findings) -> None:
    by_item: dict[int, list[InspectionResult]] = {}
    for r in results:
        by_item.setdefault(r.inspection_item_id, []).append(r)
    for op in operations:
        for item in op.inspection_items:
            rows = by_item.get(item.id, [])
            where = f"{op.code}/{item.name}"
            if not rows:
                found.add("inspections", f"{where}:missing", f"{where}: no inspection result", inspection=where)
            for r in rows:
                if r.result != "pass":
                    found.add("inspections", f"{where}:{r.id}", f"{where}: failed ({r.defects_found} defects in "
                              f"{r.sample_size})", inspection=where, result_id=r.id)


def component_lots(session: Session, lot: Lot, *, depth: int = 20) -> list[Lot]:
    """Every lot consumed into ``lot``, at every level (genealogy, backwards)."""
    seen: dict[int, Lot] = {}
    frontier = [lot.id]
    while frontier and depth:
        depth -= 1
        rows = session.scalars(select(MaterialConsumption).where(MaterialConsumption.parent_lot_id.in_(frontier)))
        frontier = []
        for c in rows:
            if c.component_lot_id not in seen and c.component_lot_id != lot.id:
                seen[c.component_lot_id] = c.component_lot
                frontier.append(c.component_lot_id)
    return list(seen.values())


def _deviations(session: Session, lot: Lot, found: Findings) -> None:
    lots = {lot.id: lot, **{c.id: c for c in component_lots(session, lot)}}
    direct = select(Deviation).where(Deviation.lot_id.in_(lots), Deviation.status != "closed")
    linked = (select(Deviation).join(DeviationLot, DeviationLot.deviation_id == Deviation.id)
              .where(DeviationLot.lot_id.in_(lots), Deviation.status != "closed"))
    devs = {d.id: d for d in session.scalars(direct)} | {d.id: d for d in session.scalars(linked)}
    for dev in sorted(devs.values(), key=lambda d: d.number):
        which = lots.get(dev.lot_id) if dev.lot_id in lots else None
        on = f" on lot {which.lot_number}" if which is not None else ""
        found.add("open_deviations", dev.number, f"deviation {dev.number}{on} is {dev.status}", deviation=dev.number)


def _windows(session: Session, eq: Equipment, kind: str) -> list[tuple[date, date | None]]:
    """Validity windows of calibration/maintenance: passing logs + the master record's dates."""
    interval = eq.calibration_interval_days if kind == "calibration" else eq.maintenance_interval_days
    logs = session.scalars(select(EquipmentLog).where(EquipmentLog.equipment_id == eq.id, EquipmentLog.kind == kind,
                                                      EquipmentLog.result != "fail"))
    windows = [(log.performed_at.date(), log.performed_at.date() + timedelta(days=interval) if interval else None)
               for log in logs]
    last, due = ((eq.last_calibrated_on, eq.calibration_due_on) if kind == "calibration"
                 else (eq.last_maintained_on, eq.maintenance_due_on))
    if due is not None:
        windows.append((last or date.min, due))
    return windows


def _valid_on(windows, day: date) -> bool:
    return any(start <= day and (end is None or day <= end) for start, end in windows)


def _out_of_service(session: Session, eq: Equipment) -> list[tuple[datetime, datetime | None]]:
    """Breakdown (or failed check) → next passing repair/calibration: the equipment was not usable."""
    logs = session.scalars(select(EquipmentLog).where(EquipmentLog.equipment_id == eq.id)
                           .order_by(EquipmentLog.performed_at, EquipmentLog.id))
    spans, down = [], None
    for log in logs:
        if down is None and (log.kind == "breakdown" or log.result == "fail"):
            down = log.performed_at
        elif down is not None and log.kind in ("repair", "calibration", "maintenance") and log.result == "pass":
            spans.append((down, log.performed_at))
            down = None
    if down is not None:
        spans.append((down, None))
    return spans


def _equipment(session: Session, executions, measurements, found: Findings) -> None:
    uses: dict[int, set[date]] = {}
    moments: dict[int, set[datetime]] = {}
    for e in executions:
        if e.equipment_id:
            uses.setdefault(e.equipment_id, set()).add(e.started_at.date())
            moments.setdefault(e.equipment_id, set()).add(e.started_at)
    for m in measurements:
        if m.equipment_id:
            uses.setdefault(m.equipment_id, set()).add(m.measured_at.date())
            moments.setdefault(m.equipment_id, set()).add(m.measured_at)
    for eq_id in sorted(uses):
        eq = session.get(Equipment, eq_id)
        down = [t for t in sorted(moments[eq_id]) for start, end in _out_of_service(session, eq)
                if start <= t and (end is None or t < end)]
        if down:
            found.add("equipment", f"out_of_service:{eq.code}",
                      f"equipment {eq.code} was used while out of service (breakdown not yet repaired) at "
                      + ", ".join(t.isoformat() for t in down), equipment=eq.code, kind="out_of_service")
        kinds = (["calibration"] if eq.calibration_required else []) + (
            ["maintenance"] if eq.maintenance_interval_days or eq.maintenance_due_on else [])
        for kind in kinds:
            windows = _windows(session, eq, kind)
            bad = sorted(d for d in uses[eq_id] if not _valid_on(windows, d))
            if bad:
                found.add("equipment", f"{kind}:{eq.code}",
                          f"equipment {eq.code} was used outside its {kind} validity on "
                          + ", ".join(d.isoformat() for d in bad), equipment=eq.code, kind=kind,
                          dates=[d.isoformat() for d in bad])


def _training(session: Session, executions, found: Findings) -> None:
    reported = set()
    for e in executions:
        for link in e.operation.document_links:
            if link.purpose not in TRAINED_PURPOSES:
                continue
            rev = document_revision_in_effect(session, link.document_id, e.started_at)
            who = e.operator.username
            key = f"{who}:{link.document.code}"
            if rev is None:
                if key not in reported:
                    reported.add(key)
                    found.add("training", key, f"{link.document.code}: no revision was in effect on "
                              f"{e.started_at.date().isoformat()}", operator=who, document=link.document.code)
                continue
            if not is_trained(session, e.operator, rev, e.started_at.date()) and key not in reported:
                reported.add(key)
                found.add("training", key, f"operator {who} was not trained on {link.document.code} rev {rev.label} "
                          f"when performing {e.operation.code} on {e.started_at.date().isoformat()}",
                          operator=who, document=link.document.code, revision=rev.label, operation=e.operation.code)


def _data_integrity(session: Session, lot_id: int, measurements, results, late: timedelta, found: Findings) -> None:
    # Late entries are one exception per lot (a reviewer justifies a back-entry session once);
    # the ids and the longest delay are in the details. Corrections without a reason are per row.
    late_m = [m for m in measurements if m.source != "import" and m.recorded_at - m.measured_at > late]
    late_r = [r for r in results if r.recorded_at - r.inspected_at > late]
    if late_m or late_r:
        worst = max([m.recorded_at - m.measured_at for m in late_m] + [r.recorded_at - r.inspected_at for r in late_r])
        found.add("data_integrity", "late_entries",
                  f"{len(late_m)} measured value(s) and {len(late_r)} inspection result(s) were entered more than "
                  f"{_hours(late)} after the fact (longest {_hours(worst)})",
                  measurement_ids=[m.id for m in late_m], inspection_ids=[r.id for r in late_r])
    for model, label in ((ParameterMeasurement, "measurement"), (InspectionResult, "inspection")):
        corrections = session.scalars(select(model).where(model.lot_id == lot_id, model.supersedes_id.is_not(None)))
        for row in corrections:
            if not (row.correction_reason or "").strip():
                found.add("data_integrity", f"correction:{label}:{row.id}",
                          f"{label} #{row.supersedes_id} was corrected without a reason", **{f"{label}_id": row.id})


def _hours(delta: timedelta) -> str:
    return f"{delta.total_seconds() / 3600:.1f} h"


def _components(session: Session, lot: Lot, found: Findings) -> None:
    direct = session.scalars(select(MaterialConsumption).where(MaterialConsumption.parent_lot_id == lot.id))
    for lot_number in sorted({c.component_lot.lot_number for c in direct if c.component_lot.status != "released"}):
        comp = session.scalar(select(Lot).where(Lot.lot_number == lot_number))
        found.add("component_lots", lot_number, f"component lot {lot_number} ({comp.item.code}) is {comp.status}",
                  lot=lot_number)


def _completeness(executions, measurements, results, found: Findings) -> None:
    for e in executions:
        if e.ended_at is None:
            found.add("record_complete", f"execution:{e.id}", f"operation {e.operation.code} started "
                      f"{e.started_at.isoformat()} has no end/sign-off", execution_id=e.id)
    for m in measurements:
        if m.source == "manual" and m.recorded_by_id is None:
            found.add("record_complete", f"measurement:{m.id}", f"{m.parameter.name} value has no recorder",
                      measurement_id=m.id)
    for r in results:
        if r.inspector_id is None:
            found.add("record_complete", f"inspection:{r.id}", f"inspection {r.inspection_item.name} has no "
                      "inspector signature", result_id=r.id)
