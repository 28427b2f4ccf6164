"""Pieces every API module shares: security requirements, problem responses, scopes."""
from __future__ import annotations

from collections.abc import Callable

from flask import Response, current_app, json

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
