"""Units of measure (pint): parsing, convertibility and conversion, with errors naming the field."""
from __future__ import annotations

import re
from functools import lru_cache

import pint

from engine.errors import UnitError


@lru_cache(maxsize=1)
def registry() -> pint.UnitRegistry:
    """The one unit registry; adds a counting unit (``piece``, ``pcs``, ``ea``) for discrete items."""
    ureg = pint.UnitRegistry(autoconvert_offset_to_baseunit=True)
    ureg.define("piece = [count] = pcs = ea = each")
    return ureg


def parse_unit(unit: str, *, field: str = "unit", obj: str | None = None) -> pint.Unit:
    """``unit`` as a pint unit, or UnitError naming ``field``."""
    if not isinstance(unit, str) or not unit.strip():
        raise UnitError(f"{field} is required", field=field, obj=obj)
    try:
        return registry().parse_units(unit.strip())
    except (pint.errors.UndefinedUnitError, pint.errors.DefinitionSyntaxError, ValueError, TypeError,
            AttributeError, AssertionError) as exc:
        where = f"{obj}: " if obj else ""
        raise UnitError(f"{where}{field} {unit!r} is not a known unit", field=field, obj=obj) from exc


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
