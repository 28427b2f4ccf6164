"""The seam to the deviation process (engine/processes/): open, attach, hold."""
from __future__ import annotations

from sqlalchemy.orm import Session

from audit import Actor
from engine.processes import deviations as process


def open(session: Session, actor: Actor, signal) -> int:  # noqa: A001 - verb of the use case
    """Open a deviation for ``signal``; its id."""
    deviation = process.open_deviation(
        session, actor, lot=signal.lot_number, operation=signal.operation, parameter=signal.parameter,
        value=signal.value, unit=signal.unit, source=signal.source[:64], description=signal.description,
        details={"signal": {"source": signal.source, "code": signal.code, "severity": signal.severity}})
    return deviation.id


def is_open(session: Session, deviation_id: int) -> bool:
    """True while the deviation is not closed."""
    return process.is_open(session, deviation_id)


def attach(session: Session, actor: Actor, deviation_id: int, signal) -> None:
    """Record one more occurrence on an open deviation."""
    process.attach_occurrence(session, actor, deviation_id, description=signal.description)


def hold_lot(session: Session, actor: Actor, lot_number: str, deviation_id: int, signal) -> None:
    """Put the lot on hold because of the deviation."""
    process.hold_lot(session, actor, lot_number, reason=signal.description, deviation_id=deviation_id)
