"""One place that maps errors to HTTP: pages for people, RFC 9457 problems for ``/api/``.

- ``engine.errors.SealtrailError`` subclasses answer with their ``status``; pages show the
  domain message (it names the field or element, never internals), the API answers
  ``application/problem+json`` with ``errors`` listing field-level details.
- ``HTTPException`` (abort(403), 404, CSRF failures, 429 from the limiter) answers with a
  generic page that says nothing about the object asked for.
- Anything else is a 500: logged with a random reference that the page shows, nothing more.

The JSON API (web/api) uses :func:`problem` for its own errors so both agree on one format.
Field-level details in the API are ``{"field": "source.equipment", "pointer": "/source/equipment",
"detail": "Field required"}`` (a JSON Pointer, RFC 6901, into the request), whether they come from
request validation (pydantic, :func:`validation_problem`) or from a domain error's ``details``.
"""
from __future__ import annotations

import logging
import secrets

from flask import Flask, jsonify, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from werkzeug.exceptions import HTTPException

from engine.errors import SealtrailError

log = logging.getLogger("sealtrail.web")

PROBLEM_TYPE = "https://sealtrail.dev/problems/"


def wants_problem() -> bool:
    """True for requests to the JSON API (they get RFC 9457 problem documents)."""
    return request.path.startswith("/api/")


def problem(status: int, title: str, detail: str | None = None, *, type_: str | None = None,
            errors: list[dict] | None = None, **extra):
    """An RFC 9457 ``application/problem+json`` response."""
    body = {"type": type_ or "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = errors
    body["instance"] = request.path
    body.update(extra)
    response = jsonify(body)
    response.status_code = status
    response.mimetype = "application/problem+json"
    return response


class FieldProblem(BaseModel):
    """One field-level problem of an API request."""

    field: str = Field(description="Dotted name of the offending field ('' for the whole request).")
    pointer: str = Field(description="JSON Pointer (RFC 6901) to it.")
    detail: str = Field(description="What is wrong with it.")


class Problem(BaseModel):
    """An RFC 9457 problem document (the schema of every API error in the OpenAPI document)."""

    model_config = ConfigDict(extra="allow", title="Problem")

    type: str = Field("about:blank", description="URI reference identifying the problem type.")
    title: str = Field(description="Short, human-readable summary of the problem type.")
    status: int = Field(description="The HTTP status code.")
    detail: str | None = Field(None, description="Explanation specific to this occurrence.")
    instance: str | None = Field(None, description="URI reference of this occurrence.")
    errors: list[FieldProblem] | None = Field(None, description="Field-level details.")


def _pointer(parts) -> str:
    return "/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in parts) if parts else ""


def field_errors(details: list[dict]) -> list[dict]:
    """Domain-error details (``{"field", "message"}``) as API field problems."""
    out = []
    for item in details:
        name = str(item.get("field") or "")
        out.append({"field": name, "pointer": _pointer(name.split(".") if name else ()),
                    "detail": str(item.get("message") or item.get("detail") or "")})
    return out


def validation_problem(exc: ValidationError):
    """Request validation failed (flask-openapi3's validation_error_callback): 422 with each field."""
    errors = []
    for err in exc.errors(include_url=False, include_input=False):
        loc = tuple(err.get("loc", ()))
        errors.append({"field": ".".join(str(p) for p in loc), "pointer": _pointer(loc),
                       "detail": err.get("msg", "invalid")})
    names = ", ".join(sorted({e["field"] or "request" for e in errors}))
    # draft-ietf-httpapi-idempotency-key-header: a missing key on an endpoint that requires one is 400
    missing_key = any(e.get("type") == "missing" and tuple(e.get("loc", ()))[:1] == ("Idempotency-Key",)
                      for e in exc.errors(include_url=False, include_input=False))
    if missing_key:
        return problem(400, "Idempotency-Key required", "this operation needs an Idempotency-Key header",
                       type_=PROBLEM_TYPE + "IdempotencyKeyMissing", errors=errors)
    return problem(422, "Validation failed", f"Invalid request: {names}",
                   type_=PROBLEM_TYPE + "ValidationFailed", errors=errors)


_GENERIC = {
    400: (_l("Bad request"), _l("The request could not be understood.")),
    401: (_l("Sign-in required"), _l("Please sign in to continue.")),
    403: (_l("Forbidden"), _l("You do not have permission to do this.")),
    404: (_l("Not found"), _l("The page or record does not exist, or you cannot see it.")),
    405: (_l("Method not allowed"), _l("This action is not available here.")),
    409: (_l("Conflict"), _l("The record changed in the meantime. Reload and try again.")),
    413: (_l("Too large"), _l("The upload is larger than allowed.")),
    422: (_l("Validation failed"), _l("Some input is not valid.")),
    429: (_l("Too many attempts"), _l("Too many attempts. Wait a moment and try again.")),
    500: (_l("Server error"), _l("Something went wrong on our side.")),
}


def _generic(status: int) -> tuple[str, str]:
    title, text = _GENERIC.get(status, _GENERIC[500] if status >= 500 else _GENERIC[400])
    return str(title), str(text)


def _page(status: int, detail: str | None = None, errors: list[dict] | None = None,
          reference: str | None = None):
    title, text = _generic(status)
    html = render_template("errors/error.html", status=status, title=title, text=text,
                           detail=detail, errors=errors or [], reference=reference)
    return html, status


def handle_domain_error(exc: SealtrailError):
    if wants_problem():
        extra = {"blocking": exc.blocking} if hasattr(exc, "blocking") else {}
        response = problem(exc.status, exc.title, exc.message, type_=PROBLEM_TYPE + type(exc).__name__,
                           errors=field_errors(exc.details) or None, **extra)
        if exc.status == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="sealtrail"'
        return response
    # 403/404 pages say nothing about the object; other domain messages help the user fix input.
    detail = None if exc.status in (403, 404) else exc.message
    return _page(exc.status, detail, exc.details)


def handle_csrf(exc: CSRFError):
    if wants_problem():
        return problem(400, "CSRF check failed", exc.description)
    return _page(400, _("The form has expired or was not sent from this site. Reload the page and try again."))


def handle_http(exc: HTTPException):
    status = exc.code or 500
    if exc.response is not None and exc.response.mimetype == "application/problem+json":
        return exc.response  # already a problem (request validation in the API)
    if wants_problem():
        response = problem(status, exc.name, exc.description)
        if status == 405 and exc.valid_methods:
            response.headers["Allow"] = ", ".join(exc.valid_methods)
        if status == 415:
            response.headers["Accept-Post"] = "application/json"
        return response
    response = _page(status)
    if status == 405 and exc.valid_methods:
        return response[0], status, {"Allow": ", ".join(exc.valid_methods)}
    return response


def handle_unexpected(exc: Exception):
    if isinstance(exc, HTTPException):
        return handle_http(exc)
    reference = secrets.token_hex(6)
    log.exception("unhandled error (reference %s) on %s %s", reference, request.method, request.path)
    if wants_problem():
        return problem(500, "Internal Server Error", f"Reference {reference}.")
    return _page(500, reference=reference)


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(SealtrailError, handle_domain_error)
    app.register_error_handler(CSRFError, handle_csrf)
    app.register_error_handler(HTTPException, handle_http)
    app.register_error_handler(Exception, handle_unexpected)
