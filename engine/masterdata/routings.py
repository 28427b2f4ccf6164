"""Routing operations on drafts: sequence, resources (no obsolete equipment), parameters, inspections."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from audit import Actor, chain
from engine.errors import RevisionRuleViolation, ValidationFailed
from engine.masterdata import sampling, units
from engine.masterdata.models import (
    Document, Equipment, InspectionItem, OperationDocument, OperationEquipment, OperationParameter,
    OperationTooling, RoutingOperation, RoutingRevision, Tooling,
)
from engine.masterdata.models.revisioned import audit_id
from engine.snapshot import changed_values, row_values

OPERATION_FIELDS = ("sequence", "code", "name", "work_centre", "description", "qc_point", "setup_minutes",
                    "run_minutes_per_unit")
PARAMETER_FIELDS = ("name", "unit", "target", "lsl", "usl", "lcl", "ucl", "critical")
INSPECTION_FIELDS = ("name", "kind", "method", "sample_size", "acceptance_criteria", "accept_number", "unit",
                     "lsl", "usl", "inspection_level", "aql", "reduced_inspection_approved")


def _draft(rev: RoutingRevision) -> None:
    if rev.state != "draft":
        raise RevisionRuleViolation(f"{rev.describe()} is {rev.state}: operations can only change on a draft",
                                    field="operations", obj=rev.describe())


def _op_name(op: RoutingOperation, rev: RoutingRevision | None = None) -> str:
    rev = rev or op.revision
    return f"{rev.describe()} op {op.sequence}"


def check_equipment(eq: Equipment, where: str) -> None:
    if eq.status == "obsolete":
        raise ValidationFailed(f"{where}: equipment {eq.code} is obsolete and cannot be used in a routing",
                               field="equipment", obj=where)


def check_tooling(tool: Tooling, where: str) -> None:
    if tool.status == "obsolete":
        raise ValidationFailed(f"{where}: tooling {tool.code} is obsolete and cannot be used in a routing",
                               field="tooling", obj=where)


# A week of set-up, or a day per unit, is a typing error rather than a standard time.
MAX_SETUP_MINUTES = 7 * 24 * 60
MAX_RUN_MINUTES_PER_UNIT = 24 * 60


def check_standard_time(setup_minutes, run_minutes_per_unit, where: str) -> None:
    """Set-up and per-unit minutes are numbers within 0..their caps."""
    for name, value, cap in (("setup_minutes", setup_minutes, MAX_SETUP_MINUTES),
                             ("run_minutes_per_unit", run_minutes_per_unit, MAX_RUN_MINUTES_PER_UNIT)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= cap:
            raise ValidationFailed(f"{where}: {name} must be a number of minutes from 0 to {cap}", field=name,
                                   obj=where)


def check_parameter(p: OperationParameter, where: str) -> None:
    """Unit known; LSL ≤ target ≤ USL; LCL < UCL inside the specification limits."""
    where = f"{where} parameter {p.name!r}"
    if not (p.name or "").strip():
        raise ValidationFailed(f"{where}: name is required", field="name", obj=where)
    units.parse_unit(p.unit, field="unit", obj=where)
    if p.lsl is not None and p.usl is not None and p.lsl > p.usl:
        raise ValidationFailed(f"{where}: lsl {p.lsl} is above usl {p.usl}", field="lsl", obj=where)
    if p.target is not None and not p.in_spec(p.target):
        raise ValidationFailed(f"{where}: target {p.target} lies outside {p.lsl}..{p.usl}", field="target", obj=where)
    if p.lcl is not None and p.ucl is not None and p.lcl >= p.ucl:
        raise ValidationFailed(f"{where}: lcl {p.lcl} must be below ucl {p.ucl}", field="lcl", obj=where)
    for name in ("lcl", "ucl"):
        value = getattr(p, name)
        if value is not None and not p.in_spec(value):
            raise ValidationFailed(f"{where}: {name} {value} lies outside the specification limits "
                                   f"{p.lsl}..{p.usl}", field=name, obj=where)


def check_inspection(item: InspectionItem, where: str) -> None:
    where = f"{where} inspection {item.name!r}"
    for name in ("name", "method", "acceptance_criteria"):
        if not (getattr(item, name) or "").strip():
            raise ValidationFailed(f"{where}: {name} is required", field=name, obj=where)
    if item.sample_size is None or item.sample_size <= 0:
        raise ValidationFailed(f"{where}: sample_size must be a positive number", field="sample_size", obj=where)
    if item.kind not in ("variable", "attribute"):
        raise ValidationFailed(f"{where}: kind must be 'variable' or 'attribute'", field="kind", obj=where)
    if item.unit:
        units.parse_unit(item.unit, field="unit", obj=where)
    if item.accept_number is not None and not 0 <= item.accept_number <= item.sample_size:
        raise ValidationFailed(f"{where}: accept_number must lie within 0..sample_size", field="accept_number",
                               obj=where)
    sampling.check_level_and_aql(item.inspection_level, item.aql, where)
    if item.aql is not None and item.kind != "attribute":
        raise ValidationFailed(f"{where}: an AQL plan counts nonconforming units: the inspection must be an "
                               "attribute inspection", field="kind", obj=where)
    if item.reduced_inspection_approved and item.aql is None:
        raise ValidationFailed(f"{where}: reduced inspection (ISO 2859-1) needs an inspection level and AQL",
                               field="reduced_inspection_approved", obj=where)


def check_resources(rev: RoutingRevision) -> None:
    """Every operation's equipment and tooling usable, parameters and inspections consistent."""
    seqs = [op.sequence for op in rev.operations]
    if len(seqs) != len(set(seqs)):
        raise ValidationFailed(f"{rev.describe()}: operation sequence numbers repeat", field="sequence",
                               obj=rev.describe())
    for op in rev.operations:
        where = _op_name(op, rev)
        for link in op.equipment_links:
            check_equipment(link.equipment, where)
        for link in op.tooling_links:
            check_tooling(link.tooling, where)
        for p in op.parameters:
            check_parameter(p, where)
        for item in op.inspection_items:
            check_inspection(item, where)


def add_operation(session: Session, actor: Actor, rev: RoutingRevision, *, sequence: int, code: str, name: str,
                  work_centre: str = "", description: str = "", qc_point: bool = False,
                  equipment: list[Equipment] = (), tooling: list[Tooling] = (),
                  documents: list[tuple[Document, str]] = (), setup_minutes: float = 0.0,
                  run_minutes_per_unit: float = 0.0) -> RoutingOperation:
    """Add an operation to a draft routing; refused on obsolete equipment/tooling or a taken sequence."""
    _draft(rev)
    if any(op.sequence == sequence for op in rev.operations):
        raise ValidationFailed(f"{rev.describe()}: operation sequence {sequence} is taken", field="sequence",
                               obj=rev.describe())
    if not (code or "").strip() or not (name or "").strip():
        raise ValidationFailed(f"{rev.describe()} op {sequence}: code and name are required", field="code",
                               obj=rev.describe())
    where = f"{rev.describe()} op {sequence}"
    for eq in equipment:
        check_equipment(eq, where)
    for tool in tooling:
        check_tooling(tool, where)
    check_standard_time(setup_minutes, run_minutes_per_unit, where)
    op = RoutingOperation(sequence=sequence, code=code, name=name, work_centre=work_centre, description=description,
                          qc_point=qc_point, setup_minutes=float(setup_minutes),
                          run_minutes_per_unit=float(run_minutes_per_unit))
    op.equipment_links = [OperationEquipment(equipment=eq) for eq in equipment]
    op.tooling_links = [OperationTooling(tooling=t) for t in tooling]
    op.document_links = [OperationDocument(document=d, purpose=purpose) for d, purpose in documents]
    rev.operations.append(op)
    session.flush()
    chain.append(session, actor, "routing.add_operation", "routing_revision", audit_id(rev),
                 after={"sequence": sequence, "code": code, "name": name, "work_centre": work_centre,
                        "qc_point": qc_point, "setup_minutes": setup_minutes,
                        "run_minutes_per_unit": run_minutes_per_unit, "equipment": [e.code for e in equipment],
                        "tooling": [t.code for t in tooling],
                        "documents": [{"document": d.code, "purpose": p} for d, p in documents]})
    return op


def update_operation(session: Session, actor: Actor, op: RoutingOperation, *, reason: str | None = None,
                     **fields) -> RoutingOperation:
    """Change an operation's own fields on a draft routing."""
    _draft(op.revision)
    _only(fields, OPERATION_FIELDS, "operation")
    if "sequence" in fields and any(o.sequence == fields["sequence"] and o is not op for o in op.revision.operations):
        raise ValidationFailed(f"{op.revision.describe()}: operation sequence {fields['sequence']} is taken",
                               field="sequence", obj=op.revision.describe())
    if "setup_minutes" in fields or "run_minutes_per_unit" in fields:
        check_standard_time(fields.get("setup_minutes", op.setup_minutes),
                            fields.get("run_minutes_per_unit", op.run_minutes_per_unit), _op_name(op))
    _write_draft_edit(session, actor, op, op, fields, "routing.update_operation", reason)
    return op


def set_operation_resources(session: Session, actor: Actor, op: RoutingOperation, *,
                            equipment: list[Equipment] | None = None, tooling: list[Tooling] | None = None,
                            documents: list[tuple[Document, str]] | None = None,
                            reason: str | None = None) -> RoutingOperation:
    """Replace an operation's equipment, tooling and/or document references (draft only)."""
    _draft(op.revision)
    where = _op_name(op)
    before = {"equipment": [e.code for e in op.equipment], "tooling": [t.code for t in op.tooling],
              "documents": [{"document": link.document.code, "purpose": link.purpose} for link in op.document_links]}
    if equipment is not None:
        for eq in equipment:
            check_equipment(eq, where)
        op.equipment_links = [OperationEquipment(equipment=eq) for eq in equipment]
    if tooling is not None:
        for tool in tooling:
            check_tooling(tool, where)
        op.tooling_links = [OperationTooling(tooling=t) for t in tooling]
    if documents is not None:
        op.document_links = [OperationDocument(document=d, purpose=p) for d, p in documents]
    session.flush()
    after = {"equipment": [e.code for e in op.equipment], "tooling": [t.code for t in op.tooling],
             "documents": [{"document": link.document.code, "purpose": link.purpose} for link in op.document_links]}
    chain.append(session, actor, "routing.set_resources", "routing_revision", audit_id(op.revision),
                 reason=reason or "draft edit", before={"operation": op.code, **before},
                 after={"operation": op.code, **after})
    return op


def remove_operation(session: Session, actor: Actor, op: RoutingOperation, *, reason: str | None = None) -> None:
    rev = op.revision
    _draft(rev)
    snapshot = {"sequence": op.sequence, "code": op.code, "name": op.name}
    rev.operations.remove(op)
    session.flush()
    chain.append(session, actor, "routing.remove_operation", "routing_revision", audit_id(rev),
                 reason=reason or "draft edit", before=snapshot, after=None)


def add_parameter(session: Session, actor: Actor, op: RoutingOperation, *, name: str, unit: str,
                  target: float | None = None, lsl: float | None = None, usl: float | None = None,
                  lcl: float | None = None, ucl: float | None = None, critical: bool = False) -> OperationParameter:
    """Add a process parameter with limits to an operation of a draft routing."""
    _draft(op.revision)
    if any(p.name == name for p in op.parameters):
        raise ValidationFailed(f"{_op_name(op)}: parameter {name!r} exists", field="name", obj=_op_name(op))
    param = OperationParameter(name=name, unit=unit, target=target, lsl=lsl, usl=usl, lcl=lcl, ucl=ucl,
                               critical=critical)
    check_parameter(param, _op_name(op))
    op.parameters.append(param)
    session.flush()
    chain.append(session, actor, "routing.add_parameter", "routing_revision", audit_id(op.revision),
                 after={"operation": op.code, **row_values(param, exclude=("id", "operation_id"))})
    return param


def update_parameter(session: Session, actor: Actor, param: OperationParameter, *, reason: str | None = None,
                     **fields) -> OperationParameter:
    """Change a parameter's unit, target or limits on a draft routing."""
    op = param.operation
    _draft(op.revision)
    _only(fields, PARAMETER_FIELDS, "parameter")
    probe = OperationParameter(**{**{k: getattr(param, k) for k in PARAMETER_FIELDS}, **fields})
    check_parameter(probe, _op_name(op))
    _write_draft_edit(session, actor, op, param, fields, "routing.update_parameter", reason, named="parameter")
    return param


def add_inspection_item(session: Session, actor: Actor, op: RoutingOperation, *, name: str, method: str,
                        sample_size: int, acceptance_criteria: str, kind: str = "attribute",
                        accept_number: int | None = None, unit: str | None = None, lsl: float | None = None,
                        usl: float | None = None, inspection_level: str | None = None,
                        aql: float | None = None, reduced_inspection_approved: bool = False) -> InspectionItem:
    """Add an inspection item (method, sample size, acceptance criteria) to an operation of a draft;
    with ``inspection_level`` and ``aql`` the sample and Ac/Re follow ISO 2859-1 from the lot size,
    and ``reduced_inspection_approved`` lets a switching score of 30 switch it to reduced inspection."""
    _draft(op.revision)
    item = InspectionItem(name=name, method=method, sample_size=sample_size, acceptance_criteria=acceptance_criteria,
                          kind=kind, accept_number=accept_number, unit=unit, lsl=lsl, usl=usl,
                          inspection_level=inspection_level, aql=aql,
                          reduced_inspection_approved=bool(reduced_inspection_approved))
    check_inspection(item, _op_name(op))
    if any(i.name == name for i in op.inspection_items):
        raise ValidationFailed(f"{_op_name(op)}: inspection {name!r} exists", field="name", obj=_op_name(op))
    op.inspection_items.append(item)
    session.flush()
    chain.append(session, actor, "routing.add_inspection_item", "routing_revision", audit_id(op.revision),
                 after={"operation": op.code, **row_values(item, exclude=("id", "operation_id"))})
    return item


def update_inspection_item(session: Session, actor: Actor, item: InspectionItem, *, reason: str | None = None,
                           **fields) -> InspectionItem:
    """Change an inspection item of a draft routing (e.g. its AQL, or the approval of reduced inspection);
    the change takes effect when the revision is released through change control."""
    op = item.operation
    _draft(op.revision)
    _only(fields, INSPECTION_FIELDS, "inspection")
    probe = InspectionItem(**{**{k: getattr(item, k) for k in INSPECTION_FIELDS}, **fields})
    check_inspection(probe, _op_name(op))
    if fields.get("name", item.name) != item.name and any(i.name == fields["name"] for i in op.inspection_items):
        raise ValidationFailed(f"{_op_name(op)}: inspection {fields['name']!r} exists", field="name", obj=_op_name(op))
    _write_draft_edit(session, actor, op, item, fields, "routing.update_inspection_item", reason, named="inspection")
    return item


def effective_operations_using_document(session: Session, document: Document) -> list[RoutingOperation]:
    """Operations of effective routings that reference ``document``."""
    return list(session.scalars(
        select(RoutingOperation).join(OperationDocument).join(RoutingRevision)
        .where(OperationDocument.document_id == document.id, RoutingRevision.state == "released")))


def effective_operations_using_equipment(session: Session, equipment: Equipment) -> list[RoutingOperation]:
    """Operations of effective routings that run on ``equipment``."""
    return list(session.scalars(
        select(RoutingOperation).join(OperationEquipment).join(RoutingRevision)
        .where(OperationEquipment.equipment_id == equipment.id, RoutingRevision.state == "released")))


def _write_draft_edit(session: Session, actor: Actor, op: RoutingOperation, row, fields: dict, action: str,
                      reason: str | None, named: str | None = None) -> None:
    """Set checked ``fields`` on ``row`` (the operation or one of its parts) of a draft routing and
    audit what changed (old → new), naming the operation and, with ``named``, the part by its name."""
    before = row_values(row)
    for key, value in fields.items():
        setattr(row, key, value)
    session.flush()
    old, new = changed_values(before, row_values(row))
    if new:
        label = {"operation": op.code, **({named: row.name} if named else {})}
        chain.append(session, actor, action, "routing_revision", audit_id(op.revision),
                     reason=reason or "draft edit", before={**label, **old}, after={**label, **new})


def _only(fields: dict, allowed: tuple[str, ...], what: str) -> None:
    unknown = set(fields) - set(allowed)
    if unknown:
        raise ValidationFailed(f"unknown {what} field(s) {', '.join(sorted(unknown))}", field=sorted(unknown)[0])


def check_fields(rev: RoutingRevision) -> None:
    """A routing revision has no content columns of its own: its operations are checked as added."""


def check_ready(session: Session, rev: RoutingRevision) -> None:
    """What must hold before a routing revision is reviewed or released."""
    if not rev.operations:
        raise ValidationFailed(f"{rev.describe()}: a routing needs at least one operation", field="operations",
                               obj=rev.describe())
    check_resources(rev)
