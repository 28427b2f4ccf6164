"""Traceability over the API: genealogy, recall simulation, Device History Record, KPI figures."""
from __future__ import annotations

import datetime as dt
from typing import Literal

from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel, ConfigDict, Field

from engine.errors import NotFound, ValidationFailed
from engine.production import inspection_plans
from engine.trace import dhr, genealogy
from engine.trace.kpi_report import control_chart, kpi_report
from web.api.common import SECURITY, json_response
from web.authz import rule
from web.db import transaction

TAG = Tag(name="traceability", description="Genealogy, recall simulation, DHR and KPIs (scope `read`)")


class LotPath(BaseModel):
    lot: str = Field(min_length=1, max_length=200, description="Lot number or a scanned GS1 string (AI 10)")


class TraceQuery(BaseModel):
    direction: Literal["backward", "forward"] = "backward"


class KpiQuery(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    start: dt.date = Field(alias="from", description="First day of the period (UTC)")
    end: dt.date = Field(alias="to", description="Last day of the period (UTC), inclusive; a day before "
                                                 "`from` gives an empty period")


class ParameterPath(BaseModel):
    parameter_id: int = Field(ge=1, le=2**31 - 1)


class AnyObject(BaseModel):
    model_config = ConfigDict(extra="allow")


def _lot(session, text: str):
    """The lot for a lot number or GS1 string; a malformed scan finds no lot (404, with the reason)."""
    try:
        return genealogy.get_lot(session, text)
    except ValidationFailed as exc:
        raise NotFound(f"no lot for {text!r}: {exc.message}", field="lot") from exc


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def lot_summary(lot) -> dict:
    """A lot as the API shows it: identity, status, quantities and the pinned specification."""
    return {"lot_number": lot.lot_number, "item": lot.item.code if lot.item else None,
            "product": lot.product.code if lot.product else None, "source": lot.source,
            "status": lot.status, "unit": lot.unit, "quantity_planned": lot.quantity_planned,
            "quantity_made": lot.quantity_made, "quantity_approved": lot.quantity_approved,
            "product_revision_id": lot.product_revision_id, "bom_revision_id": lot.bom_revision_id,
            "routing_revision_id": lot.routing_revision_id, "manifest_sha256": lot.manifest_sha256,
            "manifest": lot.manifest, "expires_on": _iso(lot.expires_on), "created_at": _iso(lot.created_at),
            "started_at": _iso(lot.started_at), "completed_at": _iso(lot.completed_at)}


def routes(api: APIBlueprint) -> None:
    @api.get("/lots/<lot>", tags=[TAG], security=SECURITY, responses={200: AnyObject},
             summary="A lot: status, quantities and the master-data revisions pinned when it started")
    @rule("signed_in")
    def lot_get(path: LotPath):
        with transaction() as session:
            return json_response(lot_summary(_lot(session, path.lot)))

    @api.get("/lots/<lot>/inspection-plans", tags=[TAG], security=SECURITY, responses={200: AnyObject},
             summary="The ISO 2859-1 plan of each AQL inspection of the lot: severity (normal, tightened, "
                     "reduced) and why (switching reason and score), code letter, n, Ac, Re")
    @rule("signed_in")
    def lot_inspection_plans(path: LotPath):
        with transaction() as session:
            lot = _lot(session, path.lot)
            return json_response({"lot": lot.lot_number, "plans": inspection_plans.lot_plans(session, lot)})

    @api.get("/lots/<lot>/trace", tags=[TAG], security=SECURITY, responses={200: AnyObject},
             summary="Backward (components) or forward (where used) genealogy of a lot, as a tree")
    @rule("signed_in")
    def lot_trace(path: LotPath, query: TraceQuery):
        with transaction() as session:
            return json_response(genealogy.trace(session, _lot(session, path.lot), query.direction).as_dict())

    @api.get("/lots/<lot>/recall", tags=[TAG], security=SECURITY, responses={200: AnyObject},
             summary="Recall simulation: every finished lot the suspect lot reached, with status and quantity")
    @rule("signed_in")
    def lot_recall(path: LotPath):
        with transaction() as session:
            return json_response(genealogy.simulate_recall(session, _lot(session, path.lot)).as_dict())

    @api.get("/lots/<lot>/dhr", tags=[TAG], security=SECURITY, responses={200: AnyObject},
             summary="The Device History Record of a lot as data (the PDF renders the same record); "
                     "times in UTC")
    @rule("signed_in")
    def lot_dhr(path: LotPath):
        with transaction() as session:
            return json_response(dhr.build_dhr(session, _lot(session, path.lot), timezone="UTC"))

    @api.get("/kpi", tags=[TAG], security=SECURITY, responses={200: AnyObject},
             summary="KPI figures for a period (the dashboard's numbers, with the records behind them)")
    @rule("signed_in")
    def kpi_figures(query: KpiQuery):
        utc = dt.timezone.utc
        start = dt.datetime.combine(query.start, dt.time(), utc)
        end = dt.datetime.combine(query.end, dt.time.max, utc)  # the whole last day
        with transaction() as session:
            return json_response(kpi_report(session, start, max(start, end)))

    @api.get("/kpi/parameters/<int:parameter_id>/control-chart", tags=[TAG], security=SECURITY,
             responses={200: AnyObject}, summary="Individuals control chart of a process parameter")
    @rule("signed_in")
    def kpi_control_chart(path: ParameterPath):
        with transaction() as session:
            return json_response(control_chart(session, path.parameter_id))
