"""One place that maps errors to HTTP: pages for people, RFC 9457 problems for ``/api/``.

- ``engine.errors.SealtrailError`` subclasses answer with their ``status``; pages show the
  domain message (it names the field or element, never internals), the API answers
  ``application/problem+json`` with ``errors`` listing field-level details.
- ``HTTPException`` (abort(403), 404, CSRF failures, 429 from the limiter) answers with a
  generic page that says nothing about the object asked for.
- Anything else is a 500: logged with a random reference that the page shows, nothing more.

The JSON API (web/api) uses :func:`problem` for its own errors so both agree on one format.
"""
from __future__ import annotations

import logging
import secrets

from flask import Flask, jsonify, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
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
        return problem(exc.status, exc.title, exc.message,
                       type_=PROBLEM_TYPE + type(exc).__name__, errors=exc.details or None)
    # 403/404 pages say nothing about the object; other domain messages help the user fix input.
    detail = None if exc.status in (403, 404) else exc.message
    return _page(exc.status, detail, exc.details)


def handle_csrf(exc: CSRFError):
    if wants_problem():
        return problem(400, "CSRF check failed", exc.description)
    return _page(400, _("The form has expired or was not sent from this site. Reload the page and try again."))


def handle_http(exc: HTTPException):
    status = exc.code or 500
    if wants_problem():
        return problem(status, exc.name, exc.description)
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
