"""Raise a maintenance request (the ``maintenance_request`` BPMN process, a task in the process
engineers' inbox) for each equipment parameter the forecast alarms on, once while one is open.

When ``maintenance_request`` is not deployed nothing is started: the forecast still reports."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from audit import Actor
from engine.maintenance.forecast import Forecast
from engine.workflows.deploy import latest_version
from engine.workflows.instances import start_instance
from engine.workflows.models import ProcessInstance

PROCESS_ID = "maintenance_request"


def business_key(forecast: Forecast) -> str:
    return f"{forecast.series.equipment}/{forecast.series.parameter}"[:120]


def raise_requests(session: Session, actor: Actor, forecasts: list[Forecast]) -> list[ProcessInstance]:
    """Start a request for every alarming forecast without an open one; returns those started."""
    if latest_version(session, PROCESS_ID) is None:
        return []
    started = []
    for f in forecasts:
        if f.status != "alarm":
            continue
        key = business_key(f)
        open_one = session.scalars(select(ProcessInstance.id).where(
            ProcessInstance.process_id == PROCESS_ID, ProcessInstance.business_key == key,
            ProcessInstance.completed_at.is_(None))).first()
        if open_one is not None:
            continue
        d = f.as_dict()
        spec = d.get("spec_crossing") or {}
        evidence = (f"{d['values']} values, last {d['last_value']:g} {d['unit']} on {d['last_at'][:10]}; trend "
                    f"{d.get('slope_per_day', 0):+.3g} {d['unit']}/day since {(d.get('change_point_at') or '—')[:10]}; "
                    f"limit {spec.get('limit')} forecast on {(spec.get('at') or '—')[:10]} "
                    f"(90 % interval {(spec.get('earliest') or '—')[:10]} … {(spec.get('latest') or 'later')[:10]})")
        started.append(start_instance(session, actor, PROCESS_ID, business_key=key, data={
            "equipment_code": f.series.equipment, "parameter": f.series.parameter, "evidence": evidence,
            "spec_crossing_at": spec.get("at"), "forecast": d}))
    return started
