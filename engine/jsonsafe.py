"""JSON from outside: its nesting measured before it is parsed, and strict JSON types.

Python's ``json`` parser recurses once per ``[``/``{``: a body nested some thousands deep raises
RecursionError (a 500, and a stack that other code then lacks). Every JSON that enters from
outside — the API's bodies, MQTT messages — is measured here first and refused when it nests
deeper than any of our documents need. Strings are blanked first so brackets inside them do not
count; every scan runs at C speed, at most ``MAX_DEPTH`` + 1 passes.

Types: pydantic's lax mode reads ``true`` as 1 and ``"5"`` as 5. Fields that take numbers from
outside use ``JsonInt`` (a JSON Schema integer: a number without a fraction, ``203.0``
included; never a boolean or a string), ``StrictFloat`` and ``StrictBool``.
"""
from __future__ import annotations

import re
from typing import Annotated

from pydantic import BeforeValidator

from engine.errors import BadRequest

MAX_DEPTH = 32  # our deepest documents (workflow start data, rule changes) stay well inside this
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)  # unrolled: no per-character alternation
_NOT_BRACKET = re.compile(rb"[^\[\]{}]+")
_ONE_KIND = bytes.maketrans(b"{}", b"[]")  # depth does not care which kind of bracket


def nesting_depth(raw: bytes, stop_above: int | None = None) -> int:
    """The deepest bracket nesting of the JSON text ``raw`` (0 for a scalar); with ``stop_above``
    the count stops as soon as the depth exceeds it (a hostile body costs no more than that).

    Each pass deletes the innermost pairs (``bytes.replace``, C speed), so the passes count the
    depth; a run of openers longer than the depth still allowed ends the count at once. Brackets
    that never pair up (not JSON) count in full: the text is refused either way.
    """
    brackets = _NOT_BRACKET.sub(b"", _STRING.sub(b"", raw)).translate(_ONE_KIND)
    depth = 0
    while brackets:
        if stop_above is not None and b"[" * (stop_above - depth + 1) in brackets:
            return stop_above + 1
        peeled = brackets.replace(b"[]", b"")
        if len(peeled) == len(brackets):
            return depth + len(brackets)
        brackets, depth = peeled, depth + 1
        if stop_above is not None and depth > stop_above:
            break
    return depth


def check_depth(raw: bytes, limit: int = MAX_DEPTH, *, field: str = "body") -> None:
    """BadRequest when ``raw`` nests deeper than ``limit``."""
    if nesting_depth(raw, stop_above=limit) > limit:
        raise BadRequest(f"the JSON nests deeper than {limit} levels; at most {limit} are accepted", field=field)


def _json_integer(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError("must be a JSON integer (not a boolean or a string)")
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError("must be a whole number")
        return int(value)
    return value


JsonInt = Annotated[int, BeforeValidator(_json_integer)]
