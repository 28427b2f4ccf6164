"""The data format between the app and a script worker: JSON with tags for non-JSON values.

JSON, not pickle, in both directions: the parent never unpickles what a (possibly subverted)
worker sends. Task data keeps its Python types across the boundary: datetimes, dates, times,
timedeltas, decimals, tuples, sets, bytes and dicts with non-string keys are tagged
``{"$st": kind, "v": …}``. Anything else (functions, objects) is refused by name.
"""
from __future__ import annotations

import base64
import datetime as dt
import decimal
import json

TAG = "$st"


class CodecError(TypeError):
    """A value cannot cross the process boundary (not plain data)."""


def _encode(value, depth: int = 0):
    if depth > 200:
        raise CodecError("data nested deeper than 200 levels")
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, list):
        return [_encode(v, depth + 1) for v in value]
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value) and TAG not in value:
            return {k: _encode(v, depth + 1) for k, v in value.items()}
        return {TAG: "dict", "v": [[_encode(k, depth + 1), _encode(v, depth + 1)] for k, v in value.items()]}
    if isinstance(value, tuple):
        return {TAG: "tuple", "v": [_encode(v, depth + 1) for v in value]}
    if isinstance(value, (set, frozenset)):
        return {TAG: type(value).__name__, "v": [_encode(v, depth + 1) for v in value]}
    if isinstance(value, dt.datetime):
        return {TAG: "datetime", "v": value.isoformat()}
    if isinstance(value, dt.date):
        return {TAG: "date", "v": value.isoformat()}
    if isinstance(value, dt.time):
        return {TAG: "time", "v": value.isoformat()}
    if isinstance(value, dt.timedelta):
        return {TAG: "timedelta", "v": [value.days, value.seconds, value.microseconds]}
    if isinstance(value, decimal.Decimal):
        return {TAG: "decimal", "v": str(value)}
    if isinstance(value, (bytes, bytearray)):
        return {TAG: "bytes", "v": base64.b64encode(bytes(value)).decode("ascii")}
    raise CodecError(f"{type(value).__name__} is not plain data")


_DECODERS = {
    "tuple": lambda v: tuple(v),
    "set": lambda v: set(v),
    "frozenset": lambda v: frozenset(v),
    "dict": lambda v: {k: x for k, x in v},
    "datetime": dt.datetime.fromisoformat,
    "date": dt.date.fromisoformat,
    "time": dt.time.fromisoformat,
    "timedelta": lambda v: dt.timedelta(days=v[0], seconds=v[1], microseconds=v[2]),
    "decimal": decimal.Decimal,
    "bytes": base64.b64decode,
}


def _hook(obj: dict):
    kind = obj.get(TAG)
    if kind is None:
        return obj
    if kind in ("tuple", "set", "frozenset", "dict"):
        return _DECODERS[kind](obj["v"])
    try:
        return _DECODERS[kind](obj["v"])
    except (KeyError, ValueError, TypeError) as exc:
        raise CodecError(f"bad {kind!r} value") from exc


def dumps(value) -> bytes:
    """``value`` as UTF-8 JSON bytes; CodecError when it holds something that is not plain data."""
    return json.dumps(_encode(value), ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def loads(data: bytes):
    """The value ``dumps`` encoded (CodecError on a malformed message)."""
    try:
        return json.loads(data, object_hook=_hook)
    except (ValueError, RecursionError) as exc:
        raise CodecError(f"malformed message: {exc}") from None
