"""POST /alarms (idempotent), GET /alarms/<id>, and the alarm rules."""
from __future__ import annotations

from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel, Field

from engine.access.tokens import ALARMS_WRITE, READ
from engine.ingest import alarms, idempotency
from engine.ingest.fingerprint import fingerprint
from engine.ingest.schemas import AlarmIn
from web.api.auth import current_client
from web.api.common import SECURITY, HeaderModel, json_response, scope
from web.authz import rule
from web.db import transaction

TAG = Tag(name="alarms", description="Production alarms: stored once, turned into deviations by rules")


class IdempotencyHeader(HeaderModel):
    idempotency_key: str = Field(
        alias="Idempotency-Key", min_length=1, max_length=255,
        description="Required (missing → 400). Unique per request, e.g. a UUID or the source's "
                    "event id. Same key and payload → the first answer; same key, other payload → "
                    "422; first request still in flight → 409.")


class AlarmPath(BaseModel):
    alarm_id: int = Field(ge=1, le=2**31 - 1)


class AlarmOut(BaseModel):
    alarm_id: int
    status: str = Field(description="created | duplicate (POST); stored (GET)")
    source: str
    event_id: str
    code: str
    severity: int
    outcome: str = Field(description="ignored | logged | deviation_opened | attached | lot_held")
    deviation_id: int | None
    rule_id: int | None
    lot: str | None
    received_at: str


def routes(api: APIBlueprint) -> None:
    @api.post("/alarms", tags=[TAG], security=SECURITY, responses={200: AlarmOut, 201: AlarmOut},
              summary="Report an alarm (exactly once per source and event id)",
              description="201 when the alarm is new, 200 when it is a duplicate of a stored "
                          "event (the body says `status: duplicate`). A retry with the same Idempotency-Key "
                          "and body gets the first answer again, status and body, with "
                          "`Idempotent-Replayed: true`. Needs `alarms:write`.")
    @scope(ALARMS_WRITE)
    @rule("api.scoped")
    def post_alarm(header: IdempotencyHeader, body: AlarmIn):
        client = current_client()
        key = header.idempotency_key
        with transaction() as session:
            claim = idempotency.claim(session, client_id=client.client_id, key=key,
                                      endpoint="POST /alarms", fingerprint=fingerprint(body.canonical()))
            if claim.replay is not None:  # the first answer, as it was (draft-ietf-httpapi-idempotency-key-header)
                return json_response(claim.replay.response_body, claim.replay.response_status,
                                     {"Idempotent-Replayed": "true"})
            result = alarms.ingest_alarm(session, client.actor, body, event_id=key,
                                         client_id=client.client_id)
            answer = result.as_dict()
            status = 201 if result.created else 200
            idempotency.complete(session, claim, status=status, body=answer)
        return json_response(answer, status)

    @api.get("/alarms/<int:alarm_id>", tags=[TAG], security=SECURITY, responses={200: AlarmOut}, summary="One alarm")
    @scope(READ)
    @rule("signed_in")
    def get_alarm(path: AlarmPath):
        with transaction() as session:
            alarm = alarms.get_alarm(session, path.alarm_id)
            answer = alarms.IngestResult(alarm, created=True).as_dict() | {"status": "stored"}
        return json_response(answer)
