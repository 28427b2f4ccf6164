"""Operations endpoints and the database-outage handler.

``/healthz``: liveness (the process answers; consults nothing external, so an orchestrator never
restarts healthy app servers because the database blinked). ``/readyz``: readiness (database
reachable, schema at the migration heads): a load balancer routes traffic only to ready servers.
Both run :mod:`engine.health`, which ``/api/v1/health`` reuses.

A database that is down, restarting or unreachable surfaces as SQLAlchemy ``OperationalError``
/ ``InterfaceError`` / pool ``TimeoutError``; the request's transaction is already rolled back by
then (its ``with session.begin():`` block exited on the exception), so the honest answer is a
503 saying nothing was saved, with ``Retry-After``. The pool replaces dead connections on the next
checkout (engine/db.py: a ping after idle, the whole pool renewed after a disconnect): the app
recovers without a restart once the database is back.
"""
from __future__ import annotations

import logging

from flask import Blueprint, Flask, current_app, g, jsonify, render_template, request
from sqlalchemy import exc as sa_exc

from engine import health
from web.authz import blueprint_rule
from web.errors import PROBLEM_TYPE, problem

bp = Blueprint("ops", __name__)
blueprint_rule(bp, "public")  # probes answer without a session
log = logging.getLogger("sealtrail.db")

RETRY_AFTER_SECONDS = 5
_UNREACHABLE_HINTS = (
    "connection refused", "could not connect", "server closed the connection",
    "terminating connection", "connection is closed", "connection not open",
    "the database system is shutting down", "the database system is starting up",
    "no route to host", "timeout expired", "connection timed out", "consuming input failed",
    "unable to open database file", "connection to server", "ssl connection has been closed",
)


@bp.get("/healthz")
def healthz():
    response = jsonify(health.liveness())
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/readyz")
def readyz():
    result = health.check_readiness(current_app.extensions["sealtrail.engine"])
    body = result.as_dict() | {"version": health.software_version()}
    response = jsonify(body)
    response.status_code = 200 if result.ready else 503
    response.headers["Cache-Control"] = "no-store"
    if not result.ready:
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def is_unreachable(error: BaseException) -> bool:
    """True when ``error`` means the database cannot be reached (rather than busy/conflicting)."""
    if getattr(error, "connection_invalidated", False):
        return True
    if isinstance(error, (sa_exc.TimeoutError, sa_exc.InterfaceError)):
        return True
    message = str(getattr(error, "orig", None) or error).lower()
    return any(hint in message for hint in _UNREACHABLE_HINTS)


def database_unavailable(error: Exception):
    """Answer 503 (problem+json for the API and JSON clients, a page for people)."""
    unreachable = is_unreachable(error)
    log.error("database %s: %s", "unreachable" if unreachable else "unavailable",
              str(getattr(error, "orig", None) or error).strip().splitlines()[0],
              extra={"error_class": type(error).__name__, "path": request.path})
    if unreachable:
        detail = ("The database is unreachable. Nothing from this request was saved; "
                  "try again shortly.")
    else:
        detail = ("The database could not complete the request (busy or conflicting). "
                  "Nothing from this request was saved; try again.")
    if _wants_json():
        response = problem(503, "Service unavailable", detail,
                           type_=PROBLEM_TYPE + "database-unavailable",
                           retry_after=RETRY_AFTER_SECONDS)
    else:
        if "_login_user" not in g:  # the user could not be loaded: the page must not try again
            g._login_user = current_app.login_manager.anonymous_user()
        response = current_app.make_response(
            render_template("ops/unavailable.html", detail=detail,
                            retry_after=RETRY_AFTER_SECONDS))
    response.status_code = 503
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response.headers["Cache-Control"] = "no-store"
    return response


def _wants_json() -> bool:
    if request.path.startswith("/api/") or request.is_json:
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json",
                                                "application/problem+json"])
    return best in ("application/json", "application/problem+json")


def install(app: Flask) -> None:
    """Register the health endpoints and the outage handler on ``app``."""
    app.register_blueprint(bp)
    for error_class in (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError):
        app.register_error_handler(error_class, database_unavailable)
