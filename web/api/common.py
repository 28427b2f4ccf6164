"""Pieces every API module shares: security requirements, problem responses, scopes."""
from __future__ import annotations

import copy
from collections.abc import Callable

from flask import Response, current_app, json
from pydantic import BaseModel

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}


def _problem_response(description: str) -> dict:
    return {"description": description,
            "content": {"application/problem+json": {"schema": PROBLEM_REF}}}


PROBLEM_RESPONSES = {
    400: _problem_response("Malformed request (unparseable JSON, missing Idempotency-Key, …)"),
    401: _problem_response("Missing, unknown, revoked or expired API token"),
    403: _problem_response("The token lacks the scope this operation needs"),
    404: _problem_response("No such object"),
    409: _problem_response("Conflict (a request with the same Idempotency-Key is in flight, …)"),
    413: _problem_response("Request body too large"),
    415: _problem_response("Request body is not application/json"),
    422: _problem_response("Validation failed; `errors` lists each field"),
}

SECURITY = [{"bearerAuth": []}, {"cookieAuth": []}]

SECURITY_SCHEMES = {
    "bearerAuth": {"type": "http", "scheme": "bearer",
                   "description": "An API token (`stk_…`) created by an administrator with "
                                  "`sealtrail tokens create`; scopes: alarms:write, "
                                  "measurements:write, workflows:start, read, production."},
    "cookieAuth": {"type": "apiKey", "in": "cookie", "name": "sealtrail_session",
                   "description": "The browser session of a signed-in user; unsafe methods also "
                                  "need the `X-CSRFToken` header."},
}


def scope(name: str) -> Callable:
    """Mark a view as needing the token scope ``name`` (checked in web/api/auth.py)."""

    def mark(func):
        func.required_scope = name
        return func

    return mark


def public(func):
    """Mark a view as reachable without credentials (its authorization rule is ``public``)."""
    func.public = True
    func.access_rule = "public"
    return func


def json_response(body, status: int = 200, headers: dict | None = None) -> Response:
    """A JSON answer."""
    response = current_app.response_class(json.dumps(body), status=status, mimetype="application/json")
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


class HeaderModel(BaseModel):
    """Base of the request-header models. flask-openapi3 (4.3) rebuilds a header model's JSON
    schema on every request to read its field types, about a millisecond of CPU per request;
    a model's schema never changes, so it is built once per set of arguments and a copy is
    handed out (callers may modify what they get)."""

    @classmethod
    def model_json_schema(cls, *args, **kwargs) -> dict:
        key = (cls, args, tuple(sorted(kwargs.items())))
        schema = _HEADER_SCHEMAS.get(key)
        if schema is None:
            schema = _HEADER_SCHEMAS[key] = super().model_json_schema(*args, **kwargs)
        return copy.deepcopy(schema)


_HEADER_SCHEMAS: dict = {}
