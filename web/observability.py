"""Structured logs: one JSON object per line, each tagged with the request id.

Every request gets an id (the caller's ``X-Request-ID`` when it is sane, otherwise a new one),
echoed in the response header, attached to every log record written while the request runs
(engine/ and audit/ log through the standard ``logging`` module and need not know about Flask),
and written once more in the access line logged when the response leaves.
"""
from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
import re
import sys
import time
import traceback
import uuid

from flask import Flask, g, request

REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_STANDARD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message", "asctime", "request_id"}
access_log = logging.getLogger("sealtrail.access")


class RequestIdFilter(logging.Filter):
    """Copies the current request id (if any) onto every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            record.request_id = REQUEST_ID.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record: ts, level, logger, msg, request_id, extras, exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.timezone.utc)
            .isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None) or REQUEST_ID.get()
        if request_id:
            entry["request_id"] = request_id
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc_type"] = record.exc_info[0].__name__ if record.exc_info[0] else None
            entry["exc"] = "".join(traceback.format_exception(*record.exc_info)).rstrip()
        entry["pid"] = record.process
        return json.dumps(entry, default=str, ensure_ascii=False)


class _TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        record.request_id = getattr(record, "request_id", None) or REQUEST_ID.get() or "-"
        return super().format(record)


def make_handler(fmt: str) -> logging.Handler:
    """A stderr handler writing ``fmt`` ("json" or "text") with request ids attached."""
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    elif fmt == "text":
        handler.setFormatter(_TextFormatter(
            "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"))
    else:
        raise ValueError(f"SEALTRAIL_LOG_FORMAT must be 'json' or 'text', not {fmt!r}")
    handler.addFilter(RequestIdFilter())
    handler._sealtrail = True  # marks the handler this module installed
    return handler


def configure_logging(fmt: str, level: str = "INFO") -> None:
    """Send the root logger to stderr as ``fmt``; idempotent (replaces our earlier handler)."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_sealtrail", False)]:
        root.removeHandler(old)
    root.addHandler(make_handler(fmt))
    root.setLevel(level)
    # Alembic announces its dialect on every readiness probe; that is noise, not news.
    logging.getLogger("alembic.runtime.migration").setLevel(logging.WARNING)


def install(app: Flask) -> None:
    """Give every request an id and write one access line per response."""

    @app.before_request
    def _start():
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _SANE_ID.match(incoming) else uuid.uuid4().hex
        g.request_id = request_id
        g.request_started = time.perf_counter()
        g.request_id_token = REQUEST_ID.set(request_id)

    @app.after_request
    def _finish(response):
        request_id = g.get("request_id")
        if request_id:
            response.headers["X-Request-ID"] = request_id
            access_log.info(
                "%s %s %s", request.method, request.path, response.status_code,
                extra={"method": request.method, "path": request.path,
                       "status": response.status_code,
                       "duration_ms": round((time.perf_counter() - g.request_started) * 1000, 1),
                       "remote_addr": request.remote_addr, "user_id": _user_id()})
        return response

    @app.teardown_request
    def _reset(_exc):
        token = g.pop("request_id_token", None)
        if token is not None:
            REQUEST_ID.reset(token)


def _user_id() -> str | None:
    """The signed-in user's id when flask-login already loaded it (never loads it: no extra query)."""
    user = g.get("_login_user")
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return str(user.get_id())
