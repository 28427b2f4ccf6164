"""Health."""
from __future__ import annotations

from flask import current_app
from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel

from engine import health
from web.api.common import json_response, public

TAG = Tag(name="system", description="Service health")


class CheckOut(BaseModel):
    ok: bool
    detail: str
    duration_ms: float


class HealthOut(BaseModel):
    status: str
    version: str
    checks: dict[str, CheckOut]


def routes(api: APIBlueprint) -> None:
    @api.get("/health", tags=[TAG], responses={200: HealthOut, 503: HealthOut},
             summary="Readiness: database reachable and schema at the expected migration heads "
                     "(no credentials needed)")
    @public
    def health_check():
        result = health.check_readiness(current_app.extensions["sealtrail.engine"])
        body = result.as_dict() | {"version": health.software_version()}
        return json_response(body, 200 if result.ready else 503, {"Cache-Control": "no-store"})
