"""Units of measure (pint): parsing, convertibility and conversion, with errors naming the field.

pint parses a unit string as an arithmetic expression: ``9**9**9 kPa`` computes a huge power
inside one C call and never returns, ``kPa/0`` divides by zero, ``(`` breaks its tokenizer. So
every unit string is first checked against a strict grammar and only then given to pint:

    unit     := ["1" "/"] factor (op factor)*        (at most 64 characters)
    factor   := symbol [exponent]
    symbol   := A–Z a–z _ ° % ‰ µ Ω Å (no digits)
    exponent := ("^" | "**") ["-"] 1…4   |   superscript ¹ ² ³ ⁴ (optionally ⁻)
    op       := "/" | "*" | "·" | "⋅" | spaces (multiplication)

No other numbers, no parentheses, no other operators. Everything that enters as a unit (API,
MQTT, import, master-data pages and forms) goes through :func:`parse_unit`.
"""
from __future__ import annotations

import re
from functools import lru_cache

import pint

from engine.errors import UnitError, UnitSyntaxError


@lru_cache(maxsize=1)
def registry() -> pint.UnitRegistry:
    """The one unit registry; adds a counting unit (``piece``, ``pcs``, ``ea``) for discrete items."""
    ureg = pint.UnitRegistry(autoconvert_offset_to_baseunit=True)
    ureg.define("piece = [count] = pcs = ea = each")
    return ureg


MAX_UNIT_CHARS = 64
_SYMBOL = r"[A-Za-z_°%‰µμΩÅ]+"
_EXPONENT = r"(?:(?:\^|\*\*)-?[1-4]|⁻?[¹²³⁴])"
_FACTOR = rf"{_SYMBOL}{_EXPONENT}?"
_OP = r"(?:\s*[/*·⋅]\s*|\s+)"
_GRAMMAR = re.compile(rf"(?:1\s*/\s*)?{_FACTOR}(?:{_OP}{_FACTOR})*")


def check_unit_syntax(unit: str, *, field: str = "unit", obj: str | None = None) -> str:
    """``unit`` stripped, or UnitError when it is not a plain unit expression (see module doc)."""
    where = f"{obj}: " if obj else ""
    if not isinstance(unit, str) or not unit.strip():
        raise UnitError(f"{where}{field} is required", field=field, obj=obj)
    text = unit.strip()
    if len(text) > MAX_UNIT_CHARS:
        raise UnitSyntaxError(f"{where}{field} is longer than {MAX_UNIT_CHARS} characters", field=field, obj=obj)
    if not _GRAMMAR.fullmatch(text):
        shown = text if len(text) <= 40 else text[:40] + "…"
        raise UnitSyntaxError(f"{where}{field} {shown!r} is not a unit: use unit symbols with / · * and "
                        "exponents up to 4 (e.g. kPa, mm, mW/cm^2, N·m), no numbers or brackets",
                        field=field, obj=obj)
    return text


def parse_unit(unit: str, *, field: str = "unit", obj: str | None = None) -> pint.Unit:
    """``unit`` as a pint unit, or UnitError naming ``field`` (grammar checked before pint)."""
    text = check_unit_syntax(unit, field=field, obj=obj)
    try:
        return _parse_checked(text)
    except (pint.errors.PintError, ValueError, TypeError, AttributeError, AssertionError,
            ArithmeticError, KeyError) as exc:
        where = f"{obj}: " if obj else ""
        raise UnitError(f"{where}{field} {text!r} is not a known unit", field=field, obj=obj) from exc


@lru_cache(maxsize=1024)
def _parse_checked(text: str) -> pint.Unit:
    return registry().parse_units(text)


def check_convertible(unit: str, to_unit: str, *, field: str = "unit", obj: str | None = None) -> None:
    """Refuse ``unit`` when it cannot be converted to ``to_unit`` (e.g. kg to mm)."""
    src = parse_unit(unit, field=field, obj=obj)
    dst = parse_unit(to_unit, field=field, obj=obj)
    if src.dimensionality != dst.dimensionality:
        where = f"{obj}: " if obj else ""
        raise UnitError(f"{where}{field} {unit!r} cannot be converted to {to_unit!r} "
                        f"({src.dimensionality} vs {dst.dimensionality})", field=field, obj=obj)


def convert(value: float, unit: str, to_unit: str, *, field: str = "unit", obj: str | None = None) -> float:
    """``value`` ``unit`` expressed in ``to_unit``."""
    check_convertible(unit, to_unit, field=field, obj=obj)
    ureg = registry()
    return float(ureg.Quantity(value, parse_unit(unit)).to(parse_unit(to_unit)).magnitude)


_UNIT_TOKEN = re.compile(r"([A-Za-zµΩ°_][\w°µΩ]*)(?:\s*(?:\*\*|\^)\s*(-?\d))?")
_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def pretty_unit(unit: str | None) -> str:
    """``unit`` as people read it on pages and in the DHR: ``degC`` → ``°C``, ``percent`` → ``%``,
    ``N*m`` → ``N·m``, ``mm**2`` → ``mm²``; the written order and case of symbols are kept
    (``mL`` stays ``mL``). Text that is not a unit is returned unchanged."""
    if not unit:
        return unit or ""

    def symbol(match: re.Match) -> str:
        name, power = match.group(1), match.group(2)
        try:
            shown = format(registry().parse_units(name), "~P")
        except (pint.errors.UndefinedUnitError, pint.errors.DefinitionSyntaxError, ValueError, TypeError,
                AttributeError, AssertionError):  # not a unit name: leave the text as written
            shown = name
        if shown.lower() == name.lower():
            shown = name
        return shown + (power.translate(_SUPERSCRIPT) if power and power != "1" else "")

    return _UNIT_TOKEN.sub(symbol, unit.strip()).replace(" * ", "·").replace("*", "·")
