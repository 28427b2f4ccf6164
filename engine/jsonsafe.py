"""JSON from outside: its nesting measured before it is parsed, and strict JSON types.

Python's ``json`` parser recurses once per ``[``/``{``: a body nested some thousands deep raises
RecursionError (a 500, and a stack that other code then lacks). Every JSON that enters from
outside — the API's bodies, MQTT messages — is measured here first and refused when it nests
deeper than any of our documents need. Strings are blanked first so brackets inside them do not
count; both scans are regular expressions (C speed), linear in the size of the text.

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
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(rb"[\[\]{}]")


def nesting_depth(raw: bytes) -> int:
    """The deepest bracket nesting of the JSON text ``raw`` (0 for a scalar)."""
    depth = deepest = 0
    for bracket in _BRACKET.findall(_STRING.sub(b'""', raw)):
        if bracket in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def check_depth(raw: bytes, limit: int = MAX_DEPTH, *, field: str = "body") -> None:
    """BadRequest when ``raw`` nests deeper than ``limit``."""
    depth = nesting_depth(raw)
    if depth > limit:
        raise BadRequest(f"the JSON nests {depth} levels deep; at most {limit} are accepted", field=field)


def _json_integer(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError("must be a JSON integer (not a boolean or a string)")
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError("must be a whole number")
        return int(value)
    return value


JsonInt = Annotated[int, BeforeValidator(_json_integer)]
