"""One MQTT alarm message, from bytes to a stored alarm or an audited rejection.

These are the per-message use cases of the MQTT bridge (``web/cli/mqtt_bridge.py`` runs the
broker loop and owns a transaction per message): parse the payload, ingest it in the caller's
transaction, or record why it was refused. The event id is the payload's ``event_id``, else a
SHA-256 of the payload, so a redelivered message is an ordinary duplicate.
"""
from __future__ import annotations

import hashlib
import json

from pydantic import ValidationError
from sqlalchemy.orm import Session

from audit import Actor
from engine.ingest.alarms import ingest_alarm
from engine.ingest.audit_entries import record
from engine.ingest.schemas import AlarmIn
from engine.jsonsafe import MAX_DEPTH, nesting_depth

MAX_BYTES = 64 * 1024
EXCERPT_CHARS = 500


def topic_line(pattern: str, topic: str) -> str | None:
    """The topic level matched by the pattern's first ``+`` (the production line)."""
    levels, topic_levels = pattern.split("/"), topic.split("/")
    for index, level in enumerate(levels):
        if level == "+" and index < len(topic_levels):
            return topic_levels[index]
    return None


def parse_message(pattern: str, topic: str, payload: bytes) -> AlarmIn:
    """The alarm a message on ``topic`` carries; ValueError or ValidationError when malformed."""
    if len(payload) > MAX_BYTES:
        raise ValueError("message larger than 64 KiB")
    if nesting_depth(payload, stop_above=MAX_DEPTH) > MAX_DEPTH:
        raise ValueError(f"message nests deeper than {MAX_DEPTH} levels")
    data = json.loads(payload.decode("utf-8"))
    if not isinstance(data, dict):
        raise ValueError("message must be a JSON object")
    line = topic_line(pattern, topic)
    source = data.get("source")
    if source is None and line is not None and "equipment" in data:
        data["source"] = {"line": line, "equipment": data.pop("equipment")}
    elif isinstance(source, dict) and "line" not in source and line is not None:
        data["source"] = {"line": line, **source}
    return AlarmIn.model_validate(data)


def event_id_of(alarm: AlarmIn, payload: bytes) -> str:
    """The id that makes a redelivery a duplicate: the sender's ``event_id``, else the payload's hash."""
    return alarm.event_id or "sha256:" + hashlib.sha256(payload).hexdigest()


def ingest_message(session: Session, actor: Actor, alarm: AlarmIn, payload: bytes) -> str:
    """Store one parsed message's alarm (flushes): ``created`` or ``duplicate``.

    Raises ``SealtrailError`` when the alarm is refused (the caller rolls back and records it).
    """
    result = ingest_alarm(session, actor, alarm, event_id=event_id_of(alarm, payload), client_id=actor.id,
                          channel="mqtt")
    return "created" if result.created else "duplicate"


def record_rejection(session: Session, actor: Actor, topic: str, payload: bytes, reason: str) -> str:
    """Audit a refused message (``alarm.rejected``, with an excerpt); returns its SHA-256."""
    digest = hashlib.sha256(payload).hexdigest()
    excerpt = payload[:EXCERPT_CHARS].decode("utf-8", errors="replace")
    record(session, actor, "alarm.rejected", "mqtt_message", digest,
           payload={"topic": topic, "reason": reason[:1000], "excerpt": excerpt, "bytes": len(payload)})
    return digest


def rejection_reason(exc: Exception) -> str:
    """Why a message could not be parsed, in one line naming the field."""
    if isinstance(exc, ValidationError):
        return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'message'}: {e['msg']}"
                         for e in exc.errors(include_url=False, include_input=False))
    if isinstance(exc, UnicodeDecodeError):
        return "message is not UTF-8"
    if isinstance(exc, json.JSONDecodeError):
        return f"message is not JSON: {exc.msg} at position {exc.pos}"
    return str(exc)
