"""Equipment events with consequences: a failed calibration opens a deviation over what it measured.

``record_equipment_event`` is the use case pages, the API and the CLI call: it logs the event
(``engine.production.records.log_equipment_event``) and, when a calibration fails, finds every
measurement taken with that equipment — and every operation run on it — since its last passing
calibration, opens one deviation through the deviation process listing the lots and operations,
puts the unreleased lots (and lots made from them) on hold under that deviation, and lists the
released ones for the deviation's recall assessment.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from audit import Actor
from engine.masterdata.models import Equipment, OperationParameter
from engine.production import lots as lot_uc
from engine.production import records
from engine.production.models import EquipmentLog, Lot, OperationExecution, ParameterMeasurement
from engine.processes import deviations
from engine.processes.models import Deviation

HOLDABLE = ("in_process", "completed", "on_hold")
MAX_GENEALOGY_DEPTH = 20


@dataclass
class EquipmentEventOutcome:
    """The logged event and, for a failed calibration, the deviation and what it did to lots."""

    log: EquipmentLog
    deviation: Deviation | None = None
    since: datetime | None = None
    lots: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        out = {"log_id": self.log.id, "equipment": self.log.equipment.code, "kind": self.log.kind,
               "result": self.log.result, "performed_at": self.log.performed_at.isoformat(),
               "equipment_status": self.log.equipment.status,
               "calibration_due_on": _iso(self.log.equipment.calibration_due_on),
               "maintenance_due_on": _iso(self.log.equipment.maintenance_due_on), "deviation": None}
        if self.deviation is not None:
            out["deviation"] = {"number": self.deviation.number, "id": self.deviation.id,
                                "since": _iso(self.since), "lots": self.lots}
        return out


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def record_equipment_event(session: Session, actor: Actor, equipment: Equipment, *, kind: str,
                           performed_at: datetime, performed_by: str, result: str = "n/a",
                           certificate_ref: str = "", description: str = "",
                           as_found: str = "", as_left: str = "") -> EquipmentEventOutcome:
    """Log calibration/maintenance/breakdown/repair; a failed calibration opens the deviation."""
    text = description.strip()
    for label, value in (("as found", as_found), ("as left", as_left)):
        if value.strip():
            text += f"{'; ' if text else ''}{label}: {value.strip()}"
    log = records.log_equipment_event(session, actor, equipment, kind=kind, performed_at=performed_at,
                                      performed_by=performed_by, result=result, certificate_ref=certificate_ref,
                                      description=text)
    outcome = EquipmentEventOutcome(log)
    if kind == "calibration" and result == "fail":
        open_calibration_deviation(session, actor, log, outcome)
    return outcome


def last_passing_calibration(session: Session, equipment: Equipment, before: datetime) -> EquipmentLog | None:
    """The latest passed calibration of ``equipment`` before ``before``."""
    return session.scalars(select(EquipmentLog).where(
        EquipmentLog.equipment_id == equipment.id, EquipmentLog.kind == "calibration", EquipmentLog.result == "pass",
        EquipmentLog.performed_at < before).order_by(EquipmentLog.performed_at.desc(), EquipmentLog.id.desc())).first()


def affected_lots(session: Session, equipment: Equipment, since: datetime | None, until: datetime) -> dict[int, dict]:
    """Lots measured with (or operated on) ``equipment`` in (since, until]: lot id → operations, counts."""
    window = [ParameterMeasurement.measured_at <= until]
    if since is not None:
        window.append(ParameterMeasurement.measured_at > since)
    measured = session.execute(
        select(ParameterMeasurement.lot_id, ParameterMeasurement.id, ParameterMeasurement.parameter_id)
        .outerjoin(OperationExecution, OperationExecution.id == ParameterMeasurement.execution_id)
        .where(or_(ParameterMeasurement.equipment_id == equipment.id, OperationExecution.equipment_id == equipment.id),
               *window)).all()
    ran = [OperationExecution.started_at <= until, OperationExecution.equipment_id == equipment.id]
    if since is not None:
        ran.append(or_(OperationExecution.ended_at.is_(None), OperationExecution.ended_at > since))
    found: dict[int, dict] = {}
    for ex in session.scalars(select(OperationExecution).where(*ran)):
        entry = found.setdefault(ex.lot_id, {"operations": set(), "measurements": 0})
        entry["operations"].add(f"{ex.operation.sequence} {ex.operation.code}")
    for lot_id, _mid, param_id in measured:
        entry = found.setdefault(lot_id, {"operations": set(), "measurements": 0})
        entry["measurements"] += 1
        op = session.get(OperationParameter, param_id).operation
        entry["operations"].add(f"{op.sequence} {op.code}")
    return found


def open_calibration_deviation(session: Session, actor: Actor, log: EquipmentLog,
                               outcome: EquipmentEventOutcome) -> None:
    """Open the deviation for the failed calibration ``log``, hold and list the affected lots."""
    eq = log.equipment
    last = last_passing_calibration(session, eq, log.performed_at)
    since = last.performed_at if last is not None else None
    direct = affected_lots(session, eq, since, log.performed_at)
    rows = []
    for lot_id, entry in sorted(direct.items()):
        lot = session.get(Lot, lot_id)
        rows.append({"lot_number": lot.lot_number, "item": lot.item.code, "status": lot.status,
                     "operations": sorted(entry["operations"]), "measurements": entry["measurements"],
                     "via": None})
    rows += _made_from(session, [session.get(Lot, i) for i in sorted(direct)], set(direct))
    for row in rows:
        row["action"] = ("hold" if row["status"] in HOLDABLE else
                         "recall_assessment" if row["status"] == "released" else "none")
    since_text = f"its last passing calibration on {since.date().isoformat()}" if since else "it was first used"
    description = (f"Calibration of {eq.code} failed on {log.performed_at.date().isoformat()}"
                   f"{' (certificate ' + log.certificate_ref + ')' if log.certificate_ref else ''}: "
                   f"{len(direct)} lot(s) were measured or processed with it since {since_text}.")
    to_hold = [r["lot_number"] for r in rows if r["action"] == "hold"]
    dev = deviations.open_deviation(
        session, actor, source="calibration", description=description,
        details={"equipment": eq.code, "calibration_log_id": log.id, "certificate_ref": log.certificate_ref,
                 "last_passing_calibration": _iso(since), "lots": rows,
                 "recall_assessment": [r["lot_number"] for r in rows if r["action"] == "recall_assessment"]},
        affected_lots=to_hold)
    for number in to_hold:
        deviations.hold_lot(session, actor, number, deviation_id=dev.id,
                            reason=f"measured with {eq.code}, whose calibration failed")
    outcome.deviation, outcome.since, outcome.lots = dev, since, rows


def _made_from(session: Session, roots: list[Lot], seen: set[int]) -> list[dict]:
    """Lots made (at any level) from ``roots``: they carry the suspect values forward."""
    out, frontier = [], [(lot, lot.lot_number) for lot in roots]
    for _ in range(MAX_GENEALOGY_DEPTH):
        nxt = []
        for lot, root in frontier:
            for parent in lot_uc.lots_using(session, lot):
                if parent.id in seen:
                    continue
                seen.add(parent.id)
                out.append({"lot_number": parent.lot_number, "item": parent.item.code, "status": parent.status,
                            "operations": [], "measurements": 0, "via": root})
                nxt.append((parent, root))
        if not nxt:
            break
        frontier = nxt
    return out
