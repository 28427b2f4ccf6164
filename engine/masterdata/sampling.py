"""Sampling by attributes per ISO 2859-1:1999 (AQL): sample size and accept/reject numbers from the
lot size, the inspection level and the AQL, over the tables in ``aql_iso2859_1.json``: Table 1 (code
letters) and the single sampling plans of Table 2-A (normal), 2-B (tightened) and 2-C (reduced).
Arrows are followed to the plan they point to, with that plan's sample size; a sample as large as
the lot means inspecting every unit.

Table 2-C is the 1999 edition's: every reduced plan has Re = Ac + 1, so a reduced lot is accepted or
not like any other. MIL-STD-105E / ANSI/ASQ Z1.4 Table II-C is a different table (its reduced plans
leave a gap between Ac and Re, "accept but reinstate normal inspection"); it is not used here. The
JSON's ``_about`` and docs/governance.md name the sources every cell was checked against.

Which severity applies to the next lot follows from the inspection's history: ``engine.masterdata.
switching`` (clause 9.3, with the switching score).
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

from engine.errors import ValidationFailed

SEVERITIES = ("normal", "tightened", "reduced")
_PATH = Path(__file__).with_name("aql_iso2859_1.json")


@lru_cache(maxsize=1)
def tables() -> dict:
    """The ISO 2859-1 tables (data)."""
    return json.loads(_PATH.read_text(encoding="utf-8"))


def levels() -> tuple[str, ...]:
    return tuple(tables()["levels"])


def aqls() -> tuple[float, ...]:
    return tuple(float(a) for a in tables()["aqls"])


@dataclass(frozen=True)
class SamplingPlan:
    """What to draw and how to judge it."""

    lot_size: int
    inspection_level: str
    aql: float
    severity: str
    code_letter: str        # from Table 1
    plan_letter: str        # the letter whose plan applies (after following the table's arrow)
    sample_size: int        # units to inspect (the whole lot when the plan's n reaches the lot size)
    accept: int             # Ac: largest number of nonconforming units that accepts the lot
    reject: int             # Re
    full_inspection: bool
    # Why this severity (engine.masterdata.switching.Switching.as_dict()), when the plan follows a history.
    switching: dict | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def check_level_and_aql(level: str | None, aql: float | None, where: str = "") -> None:
    """Both or neither; the level one of Table 1's, the AQL one of the tables' columns."""
    prefix = f"{where}: " if where else ""
    if (level is None) != (aql is None):
        raise ValidationFailed(f"{prefix}give both the inspection level and the AQL, or neither",
                               field="aql" if aql is None else "inspection_level", obj=where or None)
    if level is None:
        return
    if level not in levels():
        raise ValidationFailed(f"{prefix}inspection level must be one of {', '.join(levels())}",
                               field="inspection_level", obj=where or None)
    if _aql_index(aql) is None:
        raise ValidationFailed(f"{prefix}AQL must be one of {', '.join(tables()['aqls'])} (percent nonconforming)",
                               field="aql", obj=where or None)


def _aql_index(aql: float | None) -> int | None:
    for i, value in enumerate(aqls()):
        if aql is not None and abs(value - aql) < 1e-9:
            return i
    return None


def code_letter(lot_size: int, level: str) -> str:
    """Table 1: the sample size code letter for a lot size and inspection level."""
    if not isinstance(lot_size, int) or lot_size < 2:
        raise ValidationFailed("a lot to sample has at least 2 units", field="lot_size")
    if level not in levels():
        raise ValidationFailed(f"inspection level must be one of {', '.join(levels())}", field="inspection_level")
    for row in tables()["code_letters"]:
        if row["from"] <= lot_size and (row["to"] is None or lot_size <= row["to"]):
            return row["letters"][level]
    raise AssertionError("Table 1 covers every lot size from 2")


def sampling_plan(lot_size: int, level: str, aql: float, severity: str = "normal") -> SamplingPlan:
    """The single sampling plan (Table 2-A normal, 2-B tightened, 2-C reduced), following the arrows."""
    check_level_and_aql(level, aql)
    letter = code_letter(lot_size, level)
    plan_letter, n, accept, reject = letter_plan(letter, aql, severity)
    return SamplingPlan(lot_size=lot_size, inspection_level=level, aql=aql, severity=severity, code_letter=letter,
                        plan_letter=plan_letter, sample_size=min(n, lot_size), accept=accept, reject=reject,
                        full_inspection=n >= lot_size)


def letter_plan(letter: str, aql: float, severity: str = "normal") -> tuple[str, int, int, int]:
    """(plan letter, n, Ac, Re) for a code letter and AQL in the severity's table, arrows followed."""
    if severity not in SEVERITIES:
        raise ValidationFailed(f"severity must be one of {', '.join(SEVERITIES)}", field="severity")
    column = _aql_index(aql)
    if column is None:
        raise ValidationFailed(f"AQL must be one of {', '.join(tables()['aqls'])} (percent nonconforming)",
                               field="aql")
    letters = list(tables()[severity])
    i = letters.index(letter)
    cell = tables()[severity][letters[i]][column]
    while isinstance(cell, str):  # "down" / "up": the first plan below / above, with its sample size
        i += 1 if cell == "down" else -1
        if not 0 <= i < len(letters):
            raise ValidationFailed(f"ISO 2859-1 has no {severity} plan for AQL {aql:g} from code letter {letter}",
                                   field="aql")
        cell = tables()[severity][letters[i]][column]
    if cell is None:  # blank in the standard: no arrow of the table leads here
        raise ValidationFailed(f"ISO 2859-1 has no {severity} plan for AQL {aql:g} from code letter {letter}",
                               field="aql")
    return letters[i], _sample_sizes(severity)[letters[i]], cell[0], cell[1]


def _sample_sizes(severity: str) -> dict[str, int]:
    return tables()["reduced_sample_sizes" if severity == "reduced" else "sample_sizes"]


def tighter_accept(plan_letter: str, aql: float) -> int | None:
    """Ac of the normal plan of the same code letter (same sample size) one AQL step tighter, or None
    when Table 2-A has no plan there (an arrow, or no tighter AQL): the switching score's test."""
    column = _aql_index(aql)
    if column is None or column == 0:
        return None
    cell = tables()["normal"][plan_letter][column - 1]
    return None if cell is None or isinstance(cell, str) else cell[0]
