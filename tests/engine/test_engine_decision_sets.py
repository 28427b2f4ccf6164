"""The algebra behind decision-table verification, on inputs with known answers."""
from __future__ import annotations

import math

import pytest

from engine.workflows.decision_cells import CellError, Domain, read_allowed, read_cell
from engine.workflows.decision_sets import (NumberSet, ValueSet, box_subtract, box_witness, subtract_all)

INT, REAL = Domain("integer"), Domain("number")


def spans(s: NumberSet) -> list[tuple]:
    return [(p.lo, p.lo_closed, p.hi, p.hi_closed) for p in s.parts]


@pytest.mark.parametrize("text, expected", [
    ("< 3", [(-math.inf, False, 2, True)]),
    ("> 3", [(4, True, math.inf, False)]),
    (">= 4", [(4, True, math.inf, False)]),
    ("3 <= ? < 7", [(3, True, 6, True)]),
    ("? < 2 or ? > 8", [(-math.inf, False, 1, True), (9, True, math.inf, False)]),
    ("in (1, 2, 3, 7)", [(1, True, 3, True), (7, True, 7, True)]),
    ("not in (1, 2)", [(-math.inf, False, 0, True), (3, True, math.inf, False)]),
    ("!= 5", [(-math.inf, False, 4, True), (6, True, math.inf, False)]),
    ("5", [(5, True, 5, True)]),
    ("-5", [(-5, True, -5, True)]),
    ("> 2.5", [(3, True, math.inf, False)]),
    ("-", [(-math.inf, False, math.inf, False)]),
    ("", [(-math.inf, False, math.inf, False)]),
    ("not (? > 3)", [(-math.inf, False, 3, True)]),
])
def test_integer_cells(text, expected):
    assert spans(read_cell(text, INT)) == expected


def test_real_cells_keep_open_bounds():
    below = read_cell("< 3", REAL)
    assert spans(below) == [(-math.inf, False, 3, False)]
    assert spans(below.complement()) == [(3, True, math.inf, False)]
    assert read_cell("1 < ? < 2", REAL).witness() == 1.5
    assert read_cell("< 3", REAL).intersect(read_cell(">= 3", REAL)).is_empty()
    assert not read_cell("<= 3", REAL).intersect(read_cell(">= 3", REAL)).is_empty()
    assert read_cell("<= 3", REAL).intersect(read_cell(">= 3", REAL)).witness() == 3


def test_integer_ranges_that_touch_merge():
    assert read_cell("<= 2", INT).union(read_cell(">= 3", INT)) == NumberSet.everything(True)
    assert not read_cell("<= 2", REAL).union(read_cell("> 2.5", REAL)) == NumberSet.everything(False)


def test_strings_booleans_and_allowed_values():
    risk = Domain("string", read_allowed('"I","II","III"', "string"))
    assert read_cell('!= "I"', risk) == ValueSet({"II", "III"})
    assert read_cell('in ("I", "X")', risk) == ValueSet({"I"})
    assert read_cell("-", risk).witness() == "I"
    free = Domain("string")
    other = read_cell('not in ("a", "other")', free)
    assert other.witness() == "other1" and read_cell('"a"', free).intersect(other).is_empty()
    flag = Domain("boolean")
    assert read_cell("True", flag).complement() == read_cell("False", flag)
    assert read_cell("not ?", flag) == ValueSet({False})


@pytest.mark.parametrize("domain, text, reason", [
    (INT, '"high"', "is not of type integer"),
    (INT, "2.5", "is not of type integer"),
    (Domain("boolean"), "1", "is not of type boolean"),
    (Domain("string"), '< "b"', "does not apply to string"),
    (INT, "1, 2", "needs 'in (…)'"),
    (INT, "limit", "is not a literal value"),
    (INT, "? + 1 > 3", "does not test the input"),
    (INT, "> > 3", "does not parse"),
])
def test_cells_that_are_refused(domain, text, reason):
    with pytest.raises(CellError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        read_cell(text, domain)


def test_box_subtraction_counts_and_witnesses():
    everything = (NumberSet.everything(True), ValueSet.everything(frozenset({True, False})))
    low = (read_cell("<= 2", INT), ValueSet({True, False}))
    high_true = (read_cell(">= 3", INT), ValueSet({True}))
    left = subtract_all([everything], [low, high_true])
    assert len(left) == 1 and box_witness(left[0]) == (3, False)
    assert subtract_all(left, [(read_cell(">= 3", INT), ValueSet({False}))]) == []
    assert box_subtract(low, high_true) == [low]  # disjoint: nothing removed
