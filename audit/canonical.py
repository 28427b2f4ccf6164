"""Canonical bytes and hashes of audit entries: pure functions, no database.

The hashed document of an entry is the RFC 8785 (JCS) canonical JSON of::

    {"action", "actor": {"id", "kind", "name"}, "after", "before", "event_id", "object_id",
     "object_type", "payload", "reason", "recorded_at", "seq", "v": 1}

and ``hash = SHA-256(prev_hash as 64 lowercase hex ASCII characters || canonical bytes)``.
``before``/``after``/``payload`` are stored as their own canonical text, so the document is
assembled from the stored columns without re-parsing them; ``entry_bytes`` does that and is
checked against ``rfc8785.dumps`` of the whole document in the tests.
"""
from __future__ import annotations

import datetime as dt
import enum
import hashlib
import json
import math
import re
import uuid
from decimal import Decimal
from json.encoder import encode_basestring

import rfc8785

from audit.errors import AuditValueError

FORMAT_VERSION = 1
GENESIS_DOMAIN = "sealtrail-audit-genesis"

# The C string encoder json uses with ensure_ascii=False: escapes '"', '\\' and the control
# characters exactly as ECMAScript's JSON.stringify (and so RFC 8785) does.
_jstr = encode_basestring


def normalize(value, field: str = "value"):
    """``value`` as plain JSON data (dict/list/str/int/float/bool/None) or AuditValueError.

    Accepted besides JSON types: aware datetimes (to UTC ISO 8601), dates, Decimal (as text,
    never a lossy float), UUID, Enum (its value), tuples and sets (sets sorted).
    """
    if value is None or isinstance(value, (bool, str)):
        if isinstance(value, str):
            check_text(value, field)
        return value
    if isinstance(value, int):
        if abs(value) > 2**53 - 1:
            raise AuditValueError(field, f"integer {value} is outside the interoperable JSON range (±2^53-1); pass it as text")
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise AuditValueError(field, f"{value!r} is not a finite number")
        return value
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise AuditValueError(field, f"object keys must be text, got {type(key).__name__} {key!r}")
            check_text(key, field)
            out[key] = normalize(item, f"{field}.{key}")
        return out
    if isinstance(value, (list, tuple)):
        return [normalize(item, f"{field}[{i}]") for i, item in enumerate(value)]
    if isinstance(value, (set, frozenset)):
        items = [normalize(item, f"{field}[]") for item in value]
        return sorted(items, key=lambda v: rfc8785.dumps(v))
    if isinstance(value, dt.datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise AuditValueError(field, f"naive datetime {value.isoformat()} has no time zone")
        return iso_utc(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise AuditValueError(field, f"{value} is not a finite number")
        return str(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, enum.Enum):
        return normalize(value.value, field)
    raise AuditValueError(field, f"values of type {type(value).__name__} cannot be recorded as JSON")


def check_text(text: str, field: str) -> None:
    """AuditValueError unless ``text`` is valid Unicode (no lone surrogates)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise AuditValueError(field, "text contains a lone surrogate (not valid Unicode)") from exc


def canonical_text(value, field: str = "value") -> str | None:
    """RFC 8785 canonical JSON text of ``value`` after :func:`normalize` (None stays None)."""
    if value is None:
        return None
    plain = normalize(value, field)
    # The C json encoder writes RFC 8785 text too unless a number is written differently (Python
    # "175.0"/"1e-05"/"-0.0" vs ECMAScript "175"/"0.00001"/"0") or a key needs UTF-16 order (a
    # character beyond the BMP): anything that could be either goes through rfc8785 instead.
    text = _json_dumps(plain)
    if _MAYBE_NOT_JCS.search(text) is None:
        return text
    return rfc8785.dumps(plain).decode("utf-8")


_json_dumps = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"),
                               allow_nan=False).encode
_MAYBE_NOT_JCS = re.compile(r"[0-9]\.0(?![0-9])|[0-9][eE]|[\U00010000-\U0010ffff]")


def iso_utc(moment: dt.datetime) -> str:
    """``moment`` as ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` in UTC (fixed width: sorts as text)."""
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def entry_bytes(seq: int, event_id: str, recorded_at: str, actor_kind: str, actor_id: str,
                actor_name: str, action: str, object_type: str, object_id: str,
                reason: str | None, before: str | None, after: str | None,
                payload: str | None) -> bytes:
    """The RFC 8785 canonical bytes of one entry (JSON values given as canonical text)."""
    return (entry_head(event_id, actor_kind, actor_id, actor_name, action, object_type, object_id,
                       reason, before, after, payload) + entry_tail(recorded_at, seq)).encode("utf-8")


def entry_head(event_id: str, actor_kind: str, actor_id: str, actor_name: str, action: str,
               object_type: str, object_id: str, reason: str | None, before: str | None,
               after: str | None, payload: str | None) -> str:
    """The canonical text of an entry up to its recorded time: the keys sort ``recorded_at``,
    ``seq`` and ``v`` last, so what depends on the chain's head comes at the end (``entry_tail``)."""
    return (
        f'{{"action":{_jstr(action)},"actor":{{"id":{_jstr(actor_id)},"kind":{_jstr(actor_kind)},'
        f'"name":{_jstr(actor_name)}}},"after":{after or "null"},"before":{before or "null"},'
        f'"event_id":{_jstr(event_id)},"object_id":{_jstr(object_id)},'
        f'"object_type":{_jstr(object_type)},"payload":{payload or "null"},'
        f'"reason":{"null" if reason is None else _jstr(reason)},"recorded_at":'
    )


def entry_tail(recorded_at: str, seq: int) -> str:
    """The rest of the canonical text after :func:`entry_head`."""
    return f'{_jstr(recorded_at)},"seq":{int(seq)},"v":{FORMAT_VERSION}}}'


def link_hash(prev_hash: str, canonical: bytes) -> str:
    """``SHA-256(prev_hash_hex_ascii || canonical)`` as lowercase hex."""
    return hashlib.sha256(prev_hash.encode("ascii") + canonical).hexdigest()


def genesis_hash(installation_id: str, created_at: str) -> str:
    """The value the first entry chains to: it names the installation and its creation time."""
    doc = {"domain": GENESIS_DOMAIN, "installation_id": installation_id,
           "created_at": created_at, "v": FORMAT_VERSION}
    return hashlib.sha256(rfc8785.dumps(doc)).hexdigest()


def row_bytes(row) -> bytes:
    """:func:`entry_bytes` of anything with the AuditEntry column attributes."""
    return entry_bytes(row.seq, row.event_id, row.recorded_at, row.actor_kind, row.actor_id,
                       row.actor_name, row.action, row.object_type, row.object_id, row.reason,
                       row.before, row.after, row.payload)
