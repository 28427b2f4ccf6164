"""Plain-data snapshots of model rows for the audit trail's ``before``/``after`` values."""
from __future__ import annotations

import hashlib

from sqlalchemy import inspect

_NEVER = frozenset({"password_hash", "file_content"})


def row_values(obj, *, exclude: tuple[str, ...] = ()) -> dict:
    """Column values of ``obj`` (secrets and blobs left out; a file is represented by its hash)."""
    out = {}
    for attr in inspect(obj).mapper.column_attrs:
        key = attr.key
        if key in _NEVER or key in exclude:
            continue
        value = getattr(obj, key)
        if isinstance(value, bytes):
            value = "sha256:" + hashlib.sha256(value).hexdigest()
        out[key] = value
    return out


def changed_values(before: dict, after: dict) -> tuple[dict, dict]:
    """The keys whose value differs, as ``(old, new)`` dicts."""
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after[k] for k in keys}
