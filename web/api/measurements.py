"""POST /measurements and /measurements/batch: values judged against limits and SPC rules."""
from __future__ import annotations

from flask import Response
from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel, Field

from engine.access.tokens import MEASUREMENTS_WRITE
from engine.ingest import idempotency, measurements
from engine.ingest.fingerprint import fingerprint
from engine.ingest.schemas import MeasurementBatchIn, MeasurementIn
from web.api.auth import current_client
from web.api.common import SECURITY, HeaderModel, json_response, scope
from web.authz import rule
from web.db import transaction

TAG = Tag(name="measurements", description="Process-parameter values: spec limits, control limits, SPC")


class OptionalIdempotencyHeader(HeaderModel):
    idempotency_key: str | None = Field(
        None, alias="Idempotency-Key", min_length=1, max_length=255,
        description="Optional: makes a retry safe (same key and body → the first answer; "
                    "other body → 422; still in flight → 409).")


class Limits(BaseModel):
    lsl: float | None
    usl: float | None
    lcl: float | None
    ucl: float | None
    target: float | None


class SpcViolationOut(BaseModel):
    rule: int
    code: str
    description: str


class SignalOut(BaseModel):
    code: str
    alarm_id: int
    outcome: str
    deviation_id: int | None


class MeasurementOut(BaseModel):
    measurement_id: int
    lot: str
    operation: str
    parameter: str
    value: float
    unit: str
    value_in_parameter_unit: float
    parameter_unit: str
    limits: Limits
    in_spec: bool
    in_control: bool
    warnings: list[str]
    spc_violations: list[SpcViolationOut]
    signals: list[SignalOut]


class BatchOut(BaseModel):
    measurements: list[MeasurementOut]


def replayed(record) -> Response:
    """The stored answer of an earlier request with the same Idempotency-Key (a refusal stays a problem)."""
    response = json_response(record.response_body, record.response_status, {"Idempotent-Replayed": "true"})
    if record.response_status >= 400:
        response.mimetype = "application/problem+json"
    return response


def idempotent_write(endpoint: str, key: str | None, body: BaseModel, work):
    """One unit of work answered 201, replayed as first answered for a repeated Idempotency-Key."""
    client = current_client()
    with transaction() as session:
        claim = None
        if key:
            claim = idempotency.claim(session, client_id=client.client_id, key=key, endpoint=endpoint,
                                      fingerprint=fingerprint(body.model_dump(mode="json")))
            if claim.replay is not None:
                return replayed(claim.replay)
        answer = work(session, client)
        if claim is not None:
            idempotency.complete(session, claim, status=201, body=answer)
    return json_response(answer, 201)


def routes(api: APIBlueprint) -> None:
    @api.post("/measurements", tags=[TAG], security=SECURITY, responses={201: MeasurementOut},
              summary="Record one measured value",
              description="Judged against the limits of the lot's routing revision (unit converted): "
                          "outside LSL/USL opens a deviation (or attaches to the open one), outside "
                          "LCL/UCL adds a warning; SPC rules run when the parameter has a baseline. "
                          "Needs `measurements:write`.")
    @scope(MEASUREMENTS_WRITE)
    @rule("api.scoped")
    def post_measurement(header: OptionalIdempotencyHeader, body: MeasurementIn):
        return idempotent_write("POST /measurements", header.idempotency_key, body, lambda session, client:
                           measurements.ingest_measurement(session, client.actor, body,
                                                           client_id=client.client_id).as_dict())

    @api.post("/measurements/batch", tags=[TAG], security=SECURITY, responses={201: BatchOut},
              summary="Record up to 1000 values: all or none",
              description="One transaction; an error names the item (`measurements.<i>.<field>`). "
                          "Needs `measurements:write`.")
    @scope(MEASUREMENTS_WRITE)
    @rule("api.scoped")
    def post_measurement_batch(header: OptionalIdempotencyHeader, body: MeasurementBatchIn):
        return idempotent_write("POST /measurements/batch", header.idempotency_key, body, lambda session, client: {
            "measurements": [r.as_dict() for r in measurements.ingest_batch(
                session, client.actor, body.measurements, client_id=client.client_id)]})
