"""Health."""
from __future__ import annotations

from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel
from sqlalchemy import text

from web.api.common import json_response, public
from web.db import db_session
from web.errors import problem

TAG = Tag(name="system", description="Service health")


class Health(BaseModel):
    status: str
    database: str


def routes(api: APIBlueprint) -> None:
    @api.get("/health", tags=[TAG], security=[], responses={200: Health},
             summary="Liveness and database reachability (no credentials needed)")
    @public
    def health():
        try:
            session = db_session()
            with session.begin():
                session.execute(text("SELECT 1"))
        except Exception as exc:  # noqa: BLE001 - any database failure means "unhealthy"
            return problem(503, detail=f"database unreachable: {type(exc).__name__}")
        return json_response({"status": "ok", "database": "ok"})
