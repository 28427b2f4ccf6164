"""The audit trail: entries in chain order, and verification of the whole chain."""
from __future__ import annotations

from typing import Any

from flask import current_app
from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel, Field

from engine import trail_reader as trail
from engine.access.tokens import READ
from web.api.common import SECURITY, json_response, scope
from web.authz import rule
from web.db import transaction

TAG = Tag(name="audit", description="The hash-chained audit trail (21 CFR 11.10(e))")


class EntryQuery(BaseModel):
    object_type: str | None = Field(None, max_length=100)
    object_id: str | None = Field(None, max_length=200)
    action: str | None = Field(None, max_length=100)
    actor_id: str | None = Field(None, max_length=200)
    after_seq: int = Field(0, ge=0, le=2**62, description="Return entries after this sequence number.")
    limit: int = Field(100, ge=1, le=1000)


class ActorOut(BaseModel):
    kind: str
    id: str
    name: str


class EntryOut(BaseModel):
    seq: int
    event_id: str
    recorded_at: str
    actor: ActorOut
    action: str
    object_type: str
    object_id: str
    reason: str | None
    before: Any = None
    after: Any = None
    payload: Any = None
    prev_hash: str
    hash: str


class EntryPage(BaseModel):
    entries: list[EntryOut]
    next_after_seq: int | None = Field(description="Pass as after_seq for the next page; null at the end.")


class ProblemOut(BaseModel):
    seq: int | None
    kind: str
    detail: str


class VerifyOut(BaseModel):
    ok: bool
    count: int
    first_seq: int | None
    last_seq: int | None
    head_hash: str | None
    checkpoints_verified: int
    last_checkpoint_seq: int | None
    signatures_checked: bool
    problems: list[ProblemOut]
    notes: list[Any]


def routes(api: APIBlueprint) -> None:
    @api.get("/audit/verify", tags=[TAG], security=SECURITY, responses={200: VerifyOut},
             summary="Verify the whole chain: every hash, every link, the signed checkpoints",
             description="`ok: false` lists the problems, the first one where the chain breaks.")
    @scope(READ)
    @rule("audit_trail")
    def get_verify():
        settings = current_app.extensions["sealtrail.settings"]
        with transaction() as session:
            result = trail.verify(session, key_path=settings.checkpoint_key_path)
        return json_response(result)

    @api.get("/audit/entries", tags=[TAG], security=SECURITY, responses={200: EntryPage},
             summary="Audit entries in chain order (keyset paging by seq)")
    @scope(READ)
    @rule("audit_trail")
    def get_entries(query: EntryQuery):
        with transaction() as session:
            rows = trail.list_entries(session, **query.model_dump())
            entries = [trail.entry_view(e) for e in rows]
        next_seq = entries[-1]["seq"] if len(entries) == query.limit else None
        return json_response({"entries": entries, "next_after_seq": next_seq})
