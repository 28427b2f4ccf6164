"""Sampling by attributes per ISO 2859-1 (AQL): sample size and accept/reject numbers from the lot
size, the inspection level and the AQL (``aql_iso2859_1.json``: Table 1 and the single sampling
plans of Tables 2-A and 2-B), and the switching between normal and tightened inspection by the
inspection item's history (ISO 2859-1 clause 9.3):

- normal → tightened when 2 of 5 or fewer consecutive lots were not accepted;
- tightened → normal when 5 consecutive lots were accepted;
- 5 lots not accepted while on tightened inspection: inspection is discontinued (``discontinued``)
  until the supplier's or process's quality has been corrected.

Reduced inspection (Table 2-C and the switching score) is not offered: an item stays on normal or
tightened inspection.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

from engine.errors import ValidationFailed

SEVERITIES = ("normal", "tightened")
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
    """The single sampling plan (Table 2-A normal, 2-B tightened), following the table's arrows."""
    check_level_and_aql(level, aql)
    if severity not in SEVERITIES:
        raise ValidationFailed(f"severity must be one of {', '.join(SEVERITIES)}", field="severity")
    letter = code_letter(lot_size, level)
    letters = list(tables()[severity])
    column = _aql_index(aql)
    i = letters.index(letter)
    cell = tables()[severity][letters[i]][column]
    while isinstance(cell, str):  # "down" / "up": the first plan below / above, with its sample size
        i += 1 if cell == "down" else -1
        if not 0 <= i < len(letters):
            raise ValidationFailed(f"ISO 2859-1 has no {severity} plan for AQL {aql} from code letter {letter}",
                                   field="aql")
        cell = tables()[severity][letters[i]][column]
    n = tables()["sample_sizes"][letters[i]]
    accept, reject = cell
    return SamplingPlan(lot_size=lot_size, inspection_level=level, aql=aql, severity=severity, code_letter=letter,
                        plan_letter=letters[i], sample_size=min(n, lot_size), accept=accept, reject=reject,
                        full_inspection=n >= lot_size)


def severity_after(accepted: list[bool]) -> str:
    """The severity for the next lot from the item's lots so far, oldest first (True = accepted);
    ``discontinued`` after 5 lots not accepted on tightened inspection."""
    severity, recent, rejected_on_tightened = "normal", [], 0
    for ok in accepted:
        recent.append(ok)
        if severity == "normal":
            recent = recent[-5:]
            if recent.count(False) >= 2:
                severity, recent, rejected_on_tightened = "tightened", [], 0
        else:
            rejected_on_tightened += 0 if ok else 1
            if rejected_on_tightened >= 5:
                return "discontinued"
            if len(recent) >= 5 and all(recent[-5:]):
                severity, recent = "normal", []
    return severity
