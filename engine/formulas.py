"""Spreadsheet formula injection (OWASP "CSV injection"): what we write is inert, what we read is flagged.

A cell whose text starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is taken as a
formula by spreadsheet programs (``=cmd|' /C calc'!A0``). Every CSV/XLSX export passes its text
cells through :func:`escape_cell`, which prefixes such a value with an apostrophe; plain numbers
(``-0.5``, ``+3``) are left alone. :func:`unescape_cell` undoes exactly that on import, so an
export re-imports unchanged, and :func:`is_formula_like` lets the import report warn about values
that arrive looking like formulas.
"""
from __future__ import annotations

import re

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def is_formula_like(value: str) -> bool:
    """True when a spreadsheet would read ``value`` as a formula (numbers are not)."""
    return (isinstance(value, str) and value.startswith(FORMULA_STARTS)
            and not _NUMBER.fullmatch(value.strip()))


def escape_cell(value):
    """``value`` made inert for a spreadsheet: a formula-like text gets a leading apostrophe.

    A text that already starts with apostrophes before a formula character gets one more, so
    :func:`unescape_cell` restores every value exactly.
    """
    if not isinstance(value, str):
        return value
    if is_formula_like(value.lstrip("'")):
        return "'" + value
    return value


def unescape_cell(value: str) -> str:
    """The value :func:`escape_cell` was given (other texts unchanged)."""
    if isinstance(value, str) and value.startswith("'") and is_formula_like(value.lstrip("'")):
        return value[1:]
    return value
