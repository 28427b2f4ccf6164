"""The MES API: plan, start and complete lots, run operations behind the live interlocks, consume
component lots, record inspections, calibration/maintenance and training (scope ``production``).

Every write takes an optional ``Idempotency-Key``. A refused interlock answers 422 with
``blocking`` listing every reason, and the refusal itself is committed to the audit trail.
Signed-in people reach these routes too; then each route's rule (engine.access.rules) decides.
"""
from __future__ import annotations

import datetime as dt
from typing import Literal

from flask_openapi3 import APIBlueprint, Tag
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from engine.access.tokens import PRODUCTION
from engine.errors import Forbidden, InterlockRefused
from engine.ingest import idempotency
from engine.ingest.fingerprint import fingerprint
from engine.processes.calibration_failures import record_equipment_event
from engine.production import floor, interlocks, lots, records
from engine.trace import component_serials, serials
from web.api.auth import Client, current_client
from web.api.common import SECURITY, scope
from web.authz import rule
from web.api.measurements import OptionalIdempotencyHeader, idempotent_write, replayed
from web.api.trace import AnyObject, lot_summary
from web.db import transaction
from web.errors import handle_domain_error

TAG = Tag(name="shop floor", description="Lots, operations with live interlocks, consumption, inspections, "
                                         "equipment events and training (scope `production`)")

CODE = r"^[^\x00-\x20\x7f](?:[^\x00-\x1f\x7f]*[^\x00-\x20\x7f])?$"  # printable, no outer spaces


def _own_work(client: Client, operator: str) -> None:
    """A signed-in operator records only their own work (a manager may record for anyone)."""
    if client.user is None:
        return
    held = set(client.user.role_names)
    if held & {"production_manager", "admin"}:
        return
    if operator != client.user.username:
        raise Forbidden("an operator starts operations only as themselves", field="operator")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LotIn(Strict):
    lot_number: str = Field(min_length=1, max_length=64, pattern=CODE)
    quantity: float = Field(gt=0, le=1e9)
    kind: Literal["product", "item"] = Field("product", description="`product` (a finished device) or `item` "
                                                                    "(a made subassembly)")
    code: str = Field(min_length=1, max_length=64, description="The product's or the made item's code",
                      examples=["IS-200"])


class LotPath(BaseModel):
    lot: str = Field(min_length=1, max_length=64)


class ExecutionPath(BaseModel):
    execution_id: int = Field(ge=1, le=2**31 - 1)


class EquipmentPath(BaseModel):
    code: str = Field(min_length=1, max_length=64)


class OperationIn(Strict):
    operation: str = Field(min_length=1, max_length=64, description="Operation code or sequence number")
    operator: str = Field(min_length=1, max_length=64, description="User name of the operator")
    equipment: str | None = Field(None, min_length=1, max_length=64)
    tooling: str | None = Field(None, min_length=1, max_length=64)


class FinishIn(Strict):
    quantity_good: float | None = Field(None, ge=0, le=1e9)
    quantity_scrap: float | None = Field(None, ge=0, le=1e9)
    notes: str = Field("", max_length=4000)


class ConsumptionIn(Strict):
    component_lot: str = Field(min_length=1, max_length=64)
    quantity: float = Field(gt=0, le=1e12)
    unit: str = Field(min_length=1, max_length=32)


class ComponentSerialsIn(Strict):
    serials: list[str] = Field(min_length=1, max_length=10_000,
                               description="The serials (GS1 AI 21) of the lot's units, as their labels carry them")


class UnitPath(BaseModel):
    lot: str = Field(min_length=1, max_length=64)
    serial: str = Field(min_length=1, max_length=20, description="The unit's serial (GS1 AI 21)")


class FitIn(Strict):
    components: list[str] = Field(min_length=1, max_length=50, description="Each component unit's scan: "
                                  "(01)GTIN(21)SERIAL", examples=[["(01)06901234600018(21)HLC2600001"]])


class InspectionIn(Strict):
    operation: str = Field(min_length=1, max_length=64)
    inspection: str = Field(min_length=1, max_length=200, description="Inspection item name")
    sample_size: int = Field(ge=1, le=10**7)
    defects_found: int = Field(0, ge=0, le=10**7)
    measured_value: float | None = None
    unit: str | None = Field(None, min_length=1, max_length=32)
    inspector: str | None = Field(None, min_length=1, max_length=64)
    notes: str = Field("", max_length=4000)


class EmptyIn(Strict):
    """No fields: send ``{}``."""


class CompleteIn(Strict):
    quantity_made: float = Field(ge=0, le=1e9)


class EquipmentEventIn(Strict):
    kind: Literal["calibration", "maintenance", "breakdown", "repair"]
    result: Literal["pass", "fail", "n/a"] = "n/a"
    performed_at: AwareDatetime = Field(description="When it was done (with a UTC offset)")
    performed_by: str = Field(min_length=1, max_length=200)
    certificate_ref: str = Field("", max_length=200)
    as_found: str = Field("", max_length=1000, description="As-found values (calibration)")
    as_left: str = Field("", max_length=1000, description="As-left values (calibration)")
    description: str = Field("", max_length=4000)


class TrainingIn(Strict):
    user: str = Field(min_length=1, max_length=64)
    document: str = Field(min_length=1, max_length=64, examples=["SOP-001"])
    revision: str = Field(min_length=1, max_length=16, examples=["B"])
    trained_on: dt.date
    trainer: str = Field("", max_length=200)
    method: Literal["read_and_acknowledge", "classroom", "on_the_job", "e_learning"] = "classroom"
    result: Literal["pass", "fail"] = "pass"
    score: float | None = Field(None, ge=0, le=100)
    notes: str = Field("", max_length=4000)


def _write(endpoint: str, key: str | None, body: BaseModel, work, *, refusal=None):
    """One idempotent unit of work; a refused interlock is rolled back, then recorded and answered.

    The refusal is committed with its answer under the Idempotency-Key, so a retry of a refused
    request is answered the same (replayed, not judged again and recorded twice).
    """
    try:
        return idempotent_write(endpoint, key, body, work)
    except InterlockRefused as exc:
        if refusal is None:
            raise
        client = current_client()
        answer = handle_domain_error(exc)
        with transaction() as session:
            claim = None
            if key:
                claim = idempotency.claim(session, client_id=client.client_id, key=key, endpoint=endpoint,
                                          fingerprint=fingerprint(body.model_dump(mode="json")))
                if claim.replay is not None:  # a concurrent retry answered first
                    return replayed(claim.replay)
            action, lot_number = refusal
            interlocks.record_refusal(session, client.actor, lots.get_lot(session, lot_number), action,
                                      body.model_dump(mode="json"), exc.blocking)
            if claim is not None:
                idempotency.complete(session, claim, status=answer.status_code, body=answer.get_json())
        return answer


def routes(api: APIBlueprint) -> None:
    common = dict(tags=[TAG], security=SECURITY, responses={201: AnyObject})

    @api.post("/lots", summary="Plan a lot of a product or made item", **common)
    @rule("floor.lots")
    @scope(PRODUCTION)
    def lot_plan(header: OptionalIdempotencyHeader, body: LotIn):
        return _write("POST /lots", header.idempotency_key, body, lambda s, c: lot_summary(
            floor.plan(s, c.actor, lot_number=body.lot_number, quantity=body.quantity,
                       **{body.kind: body.code})))

    @api.post("/lots/<lot>/start", summary="Start a planned lot (pins the master data in effect)", **common)
    @rule("floor.lots")
    @scope(PRODUCTION)
    def lot_start(path: LotPath, header: OptionalIdempotencyHeader, body: EmptyIn):
        return _write(f"POST /lots/{path.lot}/start", header.idempotency_key, body,
                      lambda s, c: lot_summary(lots.start_lot(s, c.actor, lots.get_lot(s, path.lot))))

    @api.post("/lots/<lot>/complete", summary="Production finished: record the quantity made", **common)
    @rule("floor.lots")
    @scope(PRODUCTION)
    def lot_complete(path: LotPath, header: OptionalIdempotencyHeader, body: CompleteIn):
        return _write(f"POST /lots/{path.lot}/complete", header.idempotency_key, body,
                      lambda s, c: lot_summary(lots.complete_lot(s, c.actor, lots.get_lot(s, path.lot),
                                                                 quantity_made=body.quantity_made)))

    @api.post("/lots/<lot>/operations", summary="Start an operation (live interlocks; 422 names every reason)",
              description="Checks the operator's training on the effective SOP revisions, the equipment's "
                          "calibration and maintenance, the tooling's life. A refusal answers 422 with "
                          "`blocking` and is recorded in the audit trail.", **common)
    @rule("floor.run")
    @scope(PRODUCTION)
    def operation_start(path: LotPath, header: OptionalIdempotencyHeader, body: OperationIn):
        def work(s, c):
            _own_work(c, body.operator)
            return floor.execution_summary(floor.start_operation(
                s, c.actor, path.lot, operation=body.operation, operator=body.operator, equipment=body.equipment,
                tooling=body.tooling))
        return _write(f"POST /lots/{path.lot}/operations", header.idempotency_key, body, work,
                      refusal=("operation.start", path.lot))

    @api.post("/executions/<int:execution_id>/finish", summary="Finish an operation execution", **common)
    @rule("floor.run")
    @scope(PRODUCTION)
    def execution_finish(path: ExecutionPath, header: OptionalIdempotencyHeader, body: FinishIn):
        def work(s, c):
            ex = floor.get_execution(s, path.execution_id)
            _own_work(c, ex.operator.username)
            return floor.execution_summary(records.finish_operation(s, c.actor, ex, quantity_good=body.quantity_good,
                                                            quantity_scrap=body.quantity_scrap, notes=body.notes))
        return _write(f"POST /executions/{path.execution_id}/finish", header.idempotency_key, body,
                      work)

    @api.post("/lots/<lot>/consumptions", summary="Consume a component lot (BOM, release, expiry, quantity checked)",
              **common)
    @rule("floor.run")
    @scope(PRODUCTION)
    def lot_consume(path: LotPath, header: OptionalIdempotencyHeader, body: ConsumptionIn):
        def work(s, c):
            row = floor.consume(s, c.actor, path.lot, component_lot=body.component_lot, quantity=body.quantity,
                                unit=body.unit)
            return {"consumption_id": row.id, "lot": path.lot, "component_lot": row.component_lot.lot_number,
                    "component": row.component_lot.item.code, "quantity": row.quantity, "unit": row.unit}
        return _write(f"POST /lots/{path.lot}/consumptions", header.idempotency_key, body, work,
                      refusal=("lot.consume", path.lot))

    @api.post("/lots/<lot>/component-serials", summary="Record the serials of a serialised component's lot",
              **common)
    @rule("floor.serials")
    @scope(PRODUCTION)
    def lot_component_serials(path: LotPath, header: OptionalIdempotencyHeader, body: ComponentSerialsIn):
        def work(s, c):
            lot = lots.get_lot(s, path.lot)
            rows = component_serials.receive_component_serials(s, c.actor, lot, body.serials)
            return {"lot": lot.lot_number, "item": lot.item.code, "count": len(rows), "first": rows[0].serial,
                    "last": rows[-1].serial}
        return _write(f"POST /lots/{path.lot}/component-serials", header.idempotency_key, body, work)

    @api.post("/lots/<lot>/units/<serial>/components",
              summary="Scan component serials into a finished unit (assembly, packing)",
              description="Refused (409/404/422, naming the serial and the reason) when a component serial is "
                          "unknown, already fitted, from a lot not released, of an item the unit's BOM does not "
                          "list, from a lot the unit's lot has not consumed, or one more than the BOM takes.",
              **common)
    @rule("floor.serials")
    @scope(PRODUCTION)
    def unit_components(path: UnitPath, header: OptionalIdempotencyHeader, body: FitIn):
        def work(s, c):
            found = serials.get_unit(s, lots.get_lot(s, path.lot), path.serial)
            unit, rows = component_serials.fit_components(s, c.actor, found, body.components)
            return {"lot": unit.lot.lot_number, "unit_serial": unit.serial.serial,
                    "components": [{"item": r.item.code, "serial": r.serial, "lot": r.lot.lot_number,
                                    "fitted_at": r.fitted_at.isoformat()} for r in rows]}
        return _write(f"POST /lots/{path.lot}/units/{path.serial}/components", header.idempotency_key, body, work)

    @api.post("/lots/<lot>/inspections", summary="Record an inspection result (pass/fail from its criteria)",
              **common)
    @rule("floor.inspections")
    @scope(PRODUCTION)
    def lot_inspect(path: LotPath, header: OptionalIdempotencyHeader, body: InspectionIn):
        def work(s, c):
            row = floor.inspect(s, c.actor, path.lot, operation=body.operation, inspection=body.inspection,
                                sample_size=body.sample_size, defects_found=body.defects_found,
                                measured_value=body.measured_value, unit=body.unit, inspector=body.inspector,
                                notes=body.notes)
            return {"inspection_result_id": row.id, "lot": path.lot, "inspection": body.inspection,
                    "result": row.result, "sampling_plan": row.sampling_plan}
        return _write(f"POST /lots/{path.lot}/inspections", header.idempotency_key, body, work)

    @api.post("/equipment/<code>/events", summary="Log calibration, maintenance, breakdown or repair",
              description="A failed calibration opens a deviation listing the lots measured with the equipment "
                          "since its last passing calibration: unreleased lots (and lots made from them) are "
                          "put on hold, released ones listed for recall assessment.", **common)
    @rule("equipment.log")
    @scope(PRODUCTION)
    def equipment_event(path: EquipmentPath, header: OptionalIdempotencyHeader, body: EquipmentEventIn):
        return _write(f"POST /equipment/{path.code}/events", header.idempotency_key, body,
                      lambda s, c: record_equipment_event(
                          s, c.actor, floor.get_equipment(s, path.code, "code"), kind=body.kind,
                          performed_at=body.performed_at, performed_by=body.performed_by, result=body.result,
                          certificate_ref=body.certificate_ref, description=body.description,
                          as_found=body.as_found, as_left=body.as_left).as_dict())

    @api.post("/training-records", summary="Record training on a document revision (pass/fail, score)", **common)
    @rule("training.record")
    @scope(PRODUCTION)
    def training_record(header: OptionalIdempotencyHeader, body: TrainingIn):
        def work(s, c):
            row = floor.train(s, c.actor, user=body.user, document=body.document, revision=body.revision,
                              trained_on=body.trained_on, trainer=body.trainer, method=body.method,
                              result=body.result, score=body.score, notes=body.notes)
            return {"training_record_id": row.id, "user": body.user, "document": body.document,
                    "revision": body.revision, "result": row.result}
        return _write("POST /training-records", header.idempotency_key, body, work)
