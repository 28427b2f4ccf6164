"""Measurement chart data for the forms: a parameter's recent values against its limits."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.masterdata.models import OperationParameter, RoutingOperation, RoutingRevision
from engine.production.models import Lot, ParameterMeasurement


def parameter_chart(session: Session, parameter: OperationParameter, *, limit: int = 50) -> dict:
    """The last ``limit`` values in force of ``parameter`` across every revision of its routing.

    The same parameter (routing, operation code, name) is one series even when revisions change
    its limits; each point carries the limits it was judged against.
    """
    op = parameter.operation
    same = (select(OperationParameter.id).join(RoutingOperation).join(RoutingRevision)
            .where(RoutingRevision.routing_id == op.revision.routing_id, RoutingOperation.code == op.code,
                   OperationParameter.name == parameter.name))
    superseded = select(ParameterMeasurement.supersedes_id).where(ParameterMeasurement.supersedes_id.is_not(None))
    rows = session.execute(
        select(ParameterMeasurement, Lot.lot_number)
        .join(Lot, ParameterMeasurement.lot_id == Lot.id)
        .where(ParameterMeasurement.parameter_id.in_(same), ParameterMeasurement.id.not_in(superseded))
        .order_by(ParameterMeasurement.measured_at.desc(), ParameterMeasurement.id.desc()).limit(limit)).all()
    points = [{"lot": lot_number, "value": m.value, "unit": m.unit, "in_spec": m.in_spec,
               "measured_at": m.measured_at.isoformat(), "lsl": m.parameter.lsl, "usl": m.parameter.usl}
              for m, lot_number in reversed(rows)]
    return {"parameter": parameter.name, "operation": op.code, "routing": op.revision.master.code,
            "unit": parameter.unit, "target": parameter.target, "lsl": parameter.lsl, "usl": parameter.usl,
            "lcl": parameter.lcl, "ucl": parameter.ucl, "points": points}
