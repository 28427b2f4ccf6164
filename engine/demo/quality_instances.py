"""Demo: one instance of each quality process waiting in someone's inbox, on the demo plant.

Called by ``sealtrail demo`` after the plant is loaded. The change request is submitted (signed by
the demo's process engineer with the authenticator the demo enrolled) so that it waits at the
risk assessment with its impact analysis computed; the others wait at their first user task.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from audit.policy import SigningPolicy
from audit.totp import totp
from engine.masterdata.models import Product, Routing
from engine.masterdata.revisions import new_draft, open_revision
from engine.masterdata.routings import update_parameter
from engine.processes.audit_reviews import schedule
from engine.processes.deviations import open_deviation
from engine.processes.release import request_release
from engine.production.models import Lot, ParameterMeasurement
from engine.users.models import User, UserRole
from engine.workflows import actor_of, complete_task, deploy_all_shipped, open_tasks, start_instance


def _user(session: Session, role: str) -> User:
    user = session.scalars(select(User).join(UserRole).where(UserRole.role == role, User.active.is_(True))
                           .order_by(User.id)).first()
    if user is None:
        raise LookupError(f"the demo has no active {role}")
    return user


def _actor(user: User):
    return actor_of(user)


def start_demo_processes(session: Session, settings, result=None, *, product_code: str = "IS-200") -> dict:
    """Deploy the shipped diagrams and leave one instance of each process waiting; ``{process: instance id}``."""
    qa, qm, pe = _user(session, "qa_engineer"), _user(session, "qa_manager"), _user(session, "process_engineer")
    deployed = deploy_all_shipped(session, _actor(qm))
    if deployed.problems:
        raise RuntimeError(f"shipped diagrams do not deploy: {deployed.problems}")
    product = session.scalar(select(Product).where(Product.code == product_code))
    started = {
        "batch_release": _release(session, qa, product),
        "deviation": _deviation(session, qa, product),
        "capa": _capa(session, qa),
        "audit_review": _audit_review(session, qm),
        "change_control": _change(session, pe, product, settings, result),
    }
    return {k: v for k, v in started.items() if v is not None}


def _completed_lots(session: Session, product: Product | None) -> list[Lot]:
    query = select(Lot).where(Lot.status == "completed").order_by(Lot.lot_number)
    if product is not None:
        query = query.where(Lot.product_id == product.id)
    return list(session.scalars(query))


def _release(session: Session, qa: User, product) -> int | None:
    lots = _completed_lots(session, product)
    if not lots:
        return None
    return request_release(session, _actor(qa), lots[-1]).id


def _deviation(session: Session, qa: User, product) -> int | None:
    bad = session.scalars(select(ParameterMeasurement).where(ParameterMeasurement.in_spec.is_(False))
                          .order_by(ParameterMeasurement.id)).first()
    if bad is not None:
        lot = session.get(Lot, bad.lot_id)
        dev = open_deviation(session, _actor(qa), lot=lot, parameter=bad.parameter, value=bad.value,
                             source="measurement", severity=3 if bad.parameter.critical else 2,
                             patient_safety_impact=False,
                             description=f"{bad.parameter.name} = {bad.value:g} {bad.unit} outside its limits on lot "
                                         f"{lot.lot_number}")
    else:
        lots = _completed_lots(session, product)
        dev = open_deviation(session, _actor(qa), lot=lots[0] if lots else None, source="user",
                             severity=2, patient_safety_impact=False,
                             description="Pouch seal width below drawing on two samples")
    return dev.process_instance_id


def _capa(session: Session, qa: User) -> int:
    data = {"capa_source": {"type": "complaint", "reference": "CMP-DEMO-001"},
            "capa_problem_statement": "Two hospital complaints: drip chamber cracked on spiking",
            "capa_effectiveness_days": 30}
    return start_instance(session, _actor(qa), "capa", data=data, business_key="CAPA (demo)").id


def _audit_review(session: Session, qm: User) -> int:
    now = datetime.now(timezone.utc)
    review = schedule(session, _actor(qm), period_start=now - timedelta(days=30), period_end=now, on_demand=True)
    return review.process_instance_id


def _change(session: Session, pe: User, product, settings, result) -> int | None:
    """A draft routing revision that tightens a critical parameter, submitted for change control."""
    routing = session.scalar(select(Routing).where(Routing.item_id == product.item_id)) if product else None
    if routing is None or open_revision(session, routing) is not None:
        return None
    draft = new_draft(session, _actor(pe), routing, change_summary="tighter window for a critical parameter")
    param = next((p for op in draft.operations for p in op.parameters
                  if p.critical and p.lsl is not None and p.usl is not None), None)
    if param is not None:
        margin = (param.usl - param.lsl) * 0.1
        update_parameter(session, _actor(pe), param, lsl=param.lsl + margin, usl=param.usl - margin,
                         reason="process capability study")
    today = datetime.now(timezone.utc).date()
    data = {"change_title": f"Tighten {param.name if param else 'routing'} on {routing.code}",
            "change_description": f"{routing.code} rev {draft.label}: narrower limits for "
                                  f"{param.name if param else 'a parameter'}",
            "change_reason": "Capability study: Cpk 1.1 at the current limits", "change_urgency": "routine",
            "changed_revisions": [{"kind": "routing", "code": routing.code, "label": draft.label}],
            "changed_objects": [], "effective_from": (today + timedelta(days=7)).isoformat(),
            "change_action": "submit", "change_comment": ""}
    instance = start_instance(session, _actor(pe), "change_control", data=data, user=pe)
    _sign_submission(session, pe, instance.id, data, settings, result)
    return instance.id


def _sign_submission(session: Session, pe: User, instance_id: int, data: dict, settings, result) -> None:
    """Submit the demo change as the process engineer (password + TOTP from the demo's credentials)."""
    creds = result.credentials().get(pe.username) if result is not None else None
    if creds is None or not creds.totp_secret:
        return  # no credentials: the request waits, prefilled, in the engineer's inbox

    task = next(t for t in open_tasks(session, instance_id) if t.spec_name == "submit_change")
    complete_task(session, user=pe, task_id=task.id, data=data, password=creds.password,
                  totp_code=totp(creds.totp_secret).now(), policy=SigningPolicy.from_settings(settings),
                  comment="demo change request")


__all__ = ["start_demo_processes"]
