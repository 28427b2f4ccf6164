"""Unit spelling normalised with pint: ``millimetre`` and ``mm`` are the same unit.

Parsing is master data's (``engine.masterdata.units.parse_unit``: the strict unit grammar, then
pint), so what the import accepts is exactly what the data model accepts, and a hostile unit
string in a file is a reported error, never a hang.
"""
from __future__ import annotations

import pint

from engine.masterdata import units as md_units
from engine.masterdata.units import registry

# Count units the plant uses that pint lacks; "pc" is not an alias because pint reads it as parsec.
_ALIASES = {"pc": "pcs", "pce": "pcs", "pieces": "pcs",
            "unit": "pcs", "units": "pcs", "ml": "mL", "l": "L", "℃": "°C", "deg c": "°C", "degc": "°C",
            "celsius": "°C", "percent": "%"}


def parse_unit(text: str) -> pint.Unit:
    """The pint unit for ``text`` (plant aliases first); raises ``engine.errors.UnitError``."""
    cleaned = text.strip()
    cleaned = _ALIASES.get(cleaned.lower(), cleaned)
    return md_units.parse_unit(cleaned)


def canonical(text: str) -> str:
    """The short symbol of the unit: ``millimetre`` → ``mm``, ``degC`` → ``°C``, ``pieces`` → ``pcs``."""
    unit = parse_unit(text)
    symbol = f"{unit:~P}"
    return {"degC": "°C", "percent": "%", "ml": "mL", "l": "L"}.get(symbol, symbol)


def compatible(a: str, b: str) -> bool:
    return parse_unit(a).dimensionality == parse_unit(b).dimensionality


def convert(value: float, from_unit: str, to_unit: str) -> float:
    """``value`` in ``from_unit`` expressed in ``to_unit`` (offset units such as °C handled)."""
    ureg = registry()
    return ureg.Quantity(value, parse_unit(from_unit)).to(parse_unit(to_unit)).magnitude


def is_temperature(unit: str) -> bool:
    return parse_unit(unit).dimensionality == registry().Unit("K").dimensionality
