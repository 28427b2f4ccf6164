"""Unit strings: a strict grammar is checked before pint, whose parser evaluates arithmetic."""
from __future__ import annotations

import pytest

from engine.errors import UnitError, UnitSyntaxError
from engine.masterdata import units

# Each of these hung pint (a huge power computed in one C call), or made it raise something
# other than a unit error (a 500 behind the API).
HOSTILE = ["9**9**9 kPa", "10**10**7 kPa", "(", "kPa/0", "kPa)", "2 m", "m^5", "m**2**2", "kPa + kPa",
           "1e300 m", "m⁹", "½ m", "kPa;", "__import__", "m" * 65]


@pytest.mark.timeout(20)
@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_unit_strings_are_refused_before_pint(text):
    with pytest.raises(UnitError) as refused:
        units.parse_unit(text, field="unit", obj="measurement")
    assert refused.value.field == "unit"
    if text != "__import__":  # a well-formed symbol that pint simply does not know
        assert isinstance(refused.value, UnitSyntaxError)


@pytest.mark.parametrize("text, expected", [
    ("kPa", "kilopascal"), ("mW/cm^2", "milliwatt / centimeter ** 2"), ("N·m", "meter * newton"),
    ("m/s²", "meter / second ** 2"), ("°C", "degree_Celsius"), ("µm", "micrometer"),
    ("1/min", "1 / minute"), ("m**2", "meter ** 2"), ("m^-1", "1 / meter"), ("%", "percent"),
    ("pcs", "piece"), ("kg m", "kilogram * meter"), ("mL/min", "milliliter / minute"),
])
def test_ordinary_unit_spellings_still_parse(text, expected):
    assert str(units.parse_unit(text)) == expected


def test_conversion_refuses_a_hostile_target_unit_too():
    with pytest.raises(UnitSyntaxError, match="not a unit"):
        units.convert(1.0, "kPa", "kPa/0")
