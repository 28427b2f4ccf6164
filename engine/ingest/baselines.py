"""SPC baselines: the centre line and sigma of a parameter's series, established from history
(or a validation study's values) by a process engineer or QA, audited, superseded — never edited."""
from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from audit import Actor
from engine.errors import NotFound, ValidationFailed
from engine.ingest import spc
from engine.ingest.models import SpcBaseline
from engine.ingest.audit_entries import record
from engine.masterdata import units
from engine.masterdata.models import (
    Equipment, OperationParameter, Routing, RoutingOperation, RoutingRevision,
)
from engine.production.models import ParameterMeasurement


def _key(parameter: OperationParameter) -> tuple[str, str, str]:
    op = parameter.operation
    return op.revision.master.code, op.code, parameter.name


def find_for(session: Session, parameter: OperationParameter, equipment: Equipment | None) -> SpcBaseline | None:
    """The baseline in force for the parameter's series: for this equipment, else for any."""
    routing, operation, name = _key(parameter)
    candidates = session.scalars(select(SpcBaseline).where(
        SpcBaseline.routing == routing, SpcBaseline.operation == operation, SpcBaseline.parameter == name,
        SpcBaseline.superseded_at.is_(None),
        SpcBaseline.equipment.in_([equipment.code, ""] if equipment else [""]))).all()
    return min(candidates, key=lambda b: b.equipment == "", default=None)


def current_values(session: Session, parameter: OperationParameter, equipment: Equipment | None,
                   limit: int) -> list[ParameterMeasurement]:
    """The newest ``limit`` uncorrected values of the series (same routing, operation code and
    parameter name, across lots and routing revisions; one equipment when given), oldest first."""
    newer = aliased(ParameterMeasurement)
    op = parameter.operation
    query = (select(ParameterMeasurement)
             .join(OperationParameter, OperationParameter.id == ParameterMeasurement.parameter_id)
             .join(RoutingOperation, RoutingOperation.id == OperationParameter.operation_id)
             .join(RoutingRevision, RoutingRevision.id == RoutingOperation.routing_revision_id)
             .outerjoin(newer, newer.supersedes_id == ParameterMeasurement.id)
             .where(newer.id.is_(None), OperationParameter.name == parameter.name,
                    RoutingOperation.code == op.code, RoutingRevision.routing_id == op.revision.routing_id)
             .order_by(ParameterMeasurement.measured_at.desc(), ParameterMeasurement.id.desc()).limit(limit))
    if equipment is not None:
        query = query.where(ParameterMeasurement.equipment_id == equipment.id)
    return list(reversed(session.scalars(query).all()))


def series(session: Session, parameter: OperationParameter, equipment: Equipment | None, *, limit: int) -> list[float]:
    """The series' values in the parameter's unit, oldest first."""
    return [units.convert(m.value, m.unit, parameter.unit) for m in
            current_values(session, parameter, equipment, limit)]


def find_parameter(session: Session, *, routing: str, operation: str, parameter: str) -> OperationParameter:
    """The parameter in the routing's newest revision that has it; NotFound names what is missing."""
    found = session.scalars(
        select(OperationParameter).join(RoutingOperation).join(RoutingRevision).join(Routing)
        .where(Routing.code == routing, RoutingOperation.code == operation, OperationParameter.name == parameter)
        .order_by(RoutingRevision.id.desc())).first()
    if found is None:
        raise NotFound(f"routing {routing!r} has no parameter {parameter!r} at operation {operation!r}",
                       field="parameter")
    return found


def establish(session: Session, actor: Actor, parameter: OperationParameter, *, reason: str,
              equipment: Equipment | None = None, values: list[float] | None = None, last: int = 25,
              rules: str = "1 2 3 4") -> SpcBaseline:
    """A new baseline from ``values`` (in the parameter's unit) or the series' newest ``last`` values;
    the one it replaces is kept, marked superseded."""
    if not (reason or "").strip():
        raise ValidationFailed("give a reason for the baseline", field="reason")
    try:
        spc.parse_rules(rules)
        data = values if values is not None else series(session, parameter, equipment, limit=last)
        limits = spc.baseline(data)
    except ValueError as exc:
        raise ValidationFailed(str(exc), field="values" if "baseline" in str(exc) else "rules") from exc
    routing, operation, name = _key(parameter)
    code = equipment.code if equipment else ""
    now = datetime.now(UTC)
    previous = session.scalars(select(SpcBaseline).where(
        SpcBaseline.routing == routing, SpcBaseline.operation == operation, SpcBaseline.parameter == name,
        SpcBaseline.equipment == code, SpcBaseline.superseded_at.is_(None)).with_for_update()).all()
    for old in previous:
        old.superseded_at = now
    baseline = SpcBaseline(routing=routing, operation=operation, parameter=name, equipment=code,
                           mean=limits.mean, sigma=limits.sigma, unit=parameter.unit, sample_size=len(data),
                           rules=" ".join(str(r) for r in spc.parse_rules(rules)), established_at=now,
                           established_by=actor.id, reason=reason.strip())
    session.add(baseline)
    session.flush()
    record(session, actor, "spc_baseline.established", "spc_baseline", baseline.id, reason=reason.strip(),
           before={"baseline_ids": [b.id for b in previous]} if previous else None,
           after={"routing": routing, "operation": operation, "parameter": name, "equipment": code,
                  "mean": limits.mean, "sigma": limits.sigma, "unit": parameter.unit,
                  "sample_size": len(data), "rules": baseline.rules})
    return baseline
