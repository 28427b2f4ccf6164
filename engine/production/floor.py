"""The shop floor by codes: what an MES or a tablet at the line sends (lot numbers, operation codes,
user names, equipment and tooling codes), resolved to rows and passed to the production use cases.

Pages, the API and the CLI call these, so each resolves codes the same way and names the field
it could not resolve.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from audit import Actor
from engine.errors import NotFound, ValidationFailed
from engine.masterdata.models import (
    Document, DocumentRevision, Equipment, InspectionItem, Item, Product, RoutingOperation, Tooling,
)
from engine.production import lots, records
from engine.production.models import InspectionResult, Lot, MaterialConsumption, OperationExecution
from engine.users.accounts import get_user_by_name
from engine.users.models import TrainingRecord, User
from engine.users.training import record_training


def _by_code(session: Session, model, code: str | None, field: str):
    row = session.scalar(select(model).where(model.code == (code or "").strip()))
    if row is None:
        raise NotFound(f"{model.__tablename__.rstrip('s')} {code!r} does not exist", field=field)
    return row


def get_equipment(session: Session, code: str, field: str = "equipment") -> Equipment:
    """Equipment by code; NotFound naming ``field``."""
    return _by_code(session, Equipment, code, field)


def get_tooling(session: Session, code: str, field: str = "tooling") -> Tooling:
    """Tooling by code; NotFound naming ``field``."""
    return _by_code(session, Tooling, code, field)


def operation_of(lot: Lot, ident: str | int) -> RoutingOperation:
    """The operation of the lot's pinned routing revision by code or sequence number."""
    if lot.routing_revision is None:
        raise ValidationFailed(f"lot {lot.lot_number} has not started: it has no routing yet", field="operation")
    text = str(ident).strip()
    for op in lot.routing_revision.operations:
        if op.code == text or str(op.sequence) == text:
            return op
    raise ValidationFailed(f"lot {lot.lot_number}: no operation {text!r} in routing "
                           f"{lot.routing_revision.master.code} rev {lot.routing_revision.label}", field="operation")


def plan(session: Session, actor: Actor, *, lot_number: str, quantity: float, product: str | None = None,
         item: str | None = None) -> Lot:
    """Plan a lot of a product (by code) or of a made item (by code)."""
    if bool(product) == bool(item):
        raise ValidationFailed("give either product or item", field="product")
    if product:
        return lots.plan_lot(session, actor, lot_number=lot_number, quantity=quantity,
                             product=_by_code(session, Product, product, "product"))
    return lots.plan_lot(session, actor, lot_number=lot_number, quantity=quantity,
                         item=_by_code(session, Item, item, "item"))


def start_operation(session: Session, actor: Actor, lot_number: str, *, operation: str | int, operator: str,
                    equipment: str | None = None, tooling: str | None = None) -> OperationExecution:
    """Start ``operation`` on the lot now, by ``operator``; the interlocks refuse with every reason."""
    lot = lots.get_lot(session, lot_number)
    op = operation_of(lot, operation)
    user = get_user_by_name(session, operator)
    return records.start_operation(
        session, actor, lot, op, operator=user,
        equipment=get_equipment(session, equipment) if equipment else None,
        tooling=get_tooling(session, tooling) if tooling else None)


def get_execution(session: Session, execution_id: int) -> OperationExecution:
    """An operation execution by id; NotFound otherwise."""
    ex = session.get(OperationExecution, execution_id)
    if ex is None:
        raise NotFound(f"operation execution {execution_id} does not exist", field="execution")
    return ex


def open_executions(session: Session, operator: User | None = None) -> list[OperationExecution]:
    """Executions not yet finished (of ``operator`` when given), oldest first."""
    query = select(OperationExecution).where(OperationExecution.ended_at.is_(None))
    if operator is not None:
        query = query.where(OperationExecution.operator_id == operator.id)
    return list(session.scalars(query.order_by(OperationExecution.started_at, OperationExecution.id)))


def consume(session: Session, actor: Actor, lot_number: str, *, component_lot: str, quantity: float,
            unit: str) -> MaterialConsumption:
    """Record consumption of a component lot (by number) into the lot; interlocks apply."""
    parent = lots.get_lot(session, lot_number)
    try:
        comp = lots.get_lot(session, component_lot)
    except NotFound as exc:
        raise NotFound(exc.message, field="component_lot") from None
    return lots.record_consumption(session, actor, parent, comp, quantity=quantity, unit=unit)


def inspect(session: Session, actor: Actor, lot_number: str, *, operation: str | int, inspection: str,
            sample_size: int, defects_found: int = 0, measured_value: float | None = None,
            unit: str | None = None, inspector: str | None = None, notes: str = "") -> InspectionResult:
    """Record an inspection result of the lot (item named within the operation)."""
    lot = lots.get_lot(session, lot_number)
    op = operation_of(lot, operation)
    item = next((i for i in op.inspection_items if i.name == inspection), None)
    if item is None:
        raise ValidationFailed(f"operation {op.code} has no inspection {inspection!r}", field="inspection")
    who = get_user_by_name(session, inspector) if inspector else None
    return records.record_inspection(session, actor, lot, item, sample_size=sample_size, defects_found=defects_found,
                                     measured_value=measured_value, unit=unit, inspector=who, notes=notes)


def inspection_items(lot: Lot) -> list[InspectionItem]:
    """Every inspection item of the lot's routing, in operation order."""
    return [i for op in (lot.routing_revision.operations if lot.routing_revision else []) for i in op.inspection_items]


def train(session: Session, actor: Actor, *, user: str, document: str, revision: str, trained_on: date,
          trainer: str = "", method: str = "classroom", result: str = "pass", score: float | None = None,
          notes: str = "", recorded_by: User | None = None) -> TrainingRecord:
    """Record training of ``user`` on ``document`` rev ``revision`` (all by code)."""
    person = get_user_by_name(session, user)
    doc = _by_code(session, Document, document, "document")
    rev = session.scalar(select(DocumentRevision).where(DocumentRevision.document_id == doc.id,
                                                        DocumentRevision.label == (revision or "").strip()))
    if rev is None:
        raise NotFound(f"{doc.code} has no revision {revision!r}", field="revision")
    return record_training(session, actor, person, rev, trained_on=trained_on, trainer=trainer, method=method,
                           result=result, score=score, notes=notes, recorded_by=recorded_by)


def execution_summary(ex: OperationExecution) -> dict:
    """An operation execution as pages and the API show it."""
    def iso(value: datetime | None) -> str | None:
        return value.isoformat() if value is not None else None

    return {"execution_id": ex.id, "lot": ex.lot.lot_number, "operation": ex.operation.code,
            "sequence": ex.operation.sequence, "operator": ex.operator.username,
            "equipment": ex.equipment.code if ex.equipment else None,
            "tooling": ex.tooling.code if ex.tooling else None, "started_at": iso(ex.started_at),
            "ended_at": iso(ex.ended_at), "quantity_good": ex.quantity_good, "quantity_scrap": ex.quantity_scrap}
