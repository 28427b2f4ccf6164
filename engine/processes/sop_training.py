"""Read-and-acknowledge training when a document revision becomes effective (ISO 13485 §6.2).

When change control releases a new revision of an SOP, process card or work instruction that an
operation of an effective routing follows, every active operator who is not yet trained on that
revision gets an ``sop_training`` task of their own (the task is assigned to them, so it sits in
their inbox only). Signing it records a passed ``read_and_acknowledge`` training on exactly that
revision — the record the shop-floor interlock (``engine.users.training.is_trained``) looks for.
Until then the interlock refuses the operator, naming the document and revision.

When ``sop_training`` is not deployed nothing is started: the interlock still refuses untrained
operators, and training is recorded by a trainer on the training page.
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from audit import Actor
from engine.db import utcnow
from engine.errors import Forbidden, NotFound
from engine.masterdata.models import Document, DocumentRevision, OperationDocument, RoutingOperation, RoutingRevision
from engine.processes.workflow import start
from engine.users.accounts import get_user_by_name, user_for_actor
from engine.users.models import User, UserRole
from engine.users.training import TRAINED_PURPOSES, is_trained, record_training
from engine.workflows.deploy import latest_version
from engine.workflows.instances import open_tasks
from engine.workflows.tasks import assign

PROCESS_ID = "sop_training"


def operations_following(session: Session, document: Document) -> list[RoutingOperation]:
    """The operations of effective routing revisions that must be performed to ``document``."""
    return list(session.scalars(
        select(RoutingOperation).join(OperationDocument, OperationDocument.operation_id == RoutingOperation.id)
        .join(RoutingRevision, RoutingRevision.id == RoutingOperation.routing_revision_id)
        .where(OperationDocument.document_id == document.id, OperationDocument.purpose.in_(TRAINED_PURPOSES),
               RoutingRevision.state == "released")
        .order_by(RoutingOperation.id)))


def operators_to_train(session: Session, revision: DocumentRevision) -> list[User]:
    """Active operators not yet trained on ``revision``, when an effective operation follows it."""
    if not operations_following(session, revision.master):
        return []
    operators = session.scalars(select(User).join(UserRole, UserRole.user_id == User.id)
                                .where(UserRole.role == "operator", User.active.is_(True)).order_by(User.username))
    return [u for u in operators if not is_trained(session, u, revision)]


def assign_training(session: Session, actor: Actor, revision: DocumentRevision) -> list[int]:
    """Start one read-and-acknowledge task per operator who must work to ``revision``; instance ids."""
    if revision.state != "released" or latest_version(session, PROCESS_ID) is None:
        return []
    doc = revision.master
    started = []
    for user in operators_to_train(session, revision):
        data = {"document_code": doc.code, "document_title": revision.title, "document_revision": revision.label,
                "change_summary": revision.change_summary or "", "trainee": user.username,
                "trainee_name": user.printed_name}
        instance = start(session, actor, PROCESS_ID, data,
                         business_key=f"{doc.code} rev {revision.label} · {user.username}")
        for task in open_tasks(session, instance.id):
            assign(session, actor, task_id=task.id, to_user=user,
                   reason=f"{doc.code} rev {revision.label} is effective: {user.username} must read and acknowledge it")
        started.append(instance.id)
    return started


def acknowledge(session: Session, actor: Actor, *, document: str, revision: str, trainee: str) -> dict:
    """Record the signer's read-and-acknowledge training on ``document`` rev ``revision``."""
    user = user_for_actor(session, actor)
    if user is None or user.username != trainee:
        raise Forbidden(f"only {trainee} acknowledges their own training", field="trainee")
    rev = session.scalars(select(DocumentRevision).join(Document, Document.id == DocumentRevision.document_id)
                          .where(Document.code == document, DocumentRevision.label == revision)).first()
    if rev is None:
        raise NotFound(f"{document} rev {revision} does not exist", field="document_revision")
    trainee_user = get_user_by_name(session, trainee)
    if is_trained(session, trainee_user, rev):  # a trainer recorded it meanwhile: nothing twice
        return {"recorded": False, "already_trained": True, "document": f"{document} rev {revision}"}
    record = record_training(session, actor, trainee_user, rev, trained_on=utcnow().date(),
                             method="read_and_acknowledge", result="pass", recorded_by=trainee_user,
                             notes="read and acknowledged in the sop_training workflow")
    return {"recorded": True, "training_record_id": record.id, "document": f"{document} rev {revision}"}
