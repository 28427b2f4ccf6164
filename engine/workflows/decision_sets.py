"""Sets of values a decision-table cell accepts, and boxes of them: the algebra of table checks.

A cell constrains one input. Numeric inputs take unions of intervals (integers are kept as closed
integer intervals, so ``> 3`` and ``>= 4`` are the same set); strings and booleans take finite
sets or, for strings without declared allowed values, complements of finite sets. A rule is a
box: one set per input. Overlaps are non-empty intersections of boxes; gaps are what is left of
the whole input space after subtracting every rule's box. Every set can name a witness value,
which is how a finding says *which* input falls through or hits two rules.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

INF = math.inf


@dataclass(frozen=True)
class Interval:
    lo: float
    lo_closed: bool
    hi: float
    hi_closed: bool


class NumberSet:
    """A union of disjoint, sorted intervals of numbers (of integers when ``integer``)."""

    def __init__(self, parts, integer: bool):
        self.integer = integer
        self.parts: tuple[Interval, ...] = self._normalise(parts)

    # --- construction ------------------------------------------------------------------
    @classmethod
    def everything(cls, integer: bool) -> "NumberSet":
        return cls([Interval(-INF, False, INF, False)], integer)

    @classmethod
    def compare(cls, op: str, value: float, integer: bool) -> "NumberSet":
        """The set of x with ``x <op> value``."""
        whole = {"<": [Interval(-INF, False, value, False)], "<=": [Interval(-INF, False, value, True)],
                 ">": [Interval(value, False, INF, False)], ">=": [Interval(value, True, INF, False)],
                 "==": [Interval(value, True, value, True)]}
        if op == "!=":
            return cls([Interval(value, True, value, True)], integer).complement()
        return cls(whole[op], integer)

    def _normalise(self, parts) -> tuple[Interval, ...]:
        out = []
        for p in parts:
            if self.integer:
                lo = p.lo if p.lo == -INF else (math.ceil(p.lo) if p.lo_closed else math.floor(p.lo) + 1)
                hi = p.hi if p.hi == INF else (math.floor(p.hi) if p.hi_closed else math.ceil(p.hi) - 1)
                p = Interval(lo, lo != -INF, hi, hi != INF)
            if p.lo > p.hi or (p.lo == p.hi and not (p.lo_closed and p.hi_closed)):
                continue
            out.append(p)
        out.sort(key=lambda p: (p.lo, not p.lo_closed))
        merged: list[Interval] = []
        for p in out:
            if merged:
                last = merged[-1]
                touching = last.hi > p.lo or (last.hi == p.lo and (last.hi_closed or p.lo_closed))
                if self.integer and last.hi != INF and p.lo != -INF and p.lo == last.hi + 1:
                    touching = True
                if touching:
                    if (p.hi, p.hi_closed) > (last.hi, last.hi_closed):
                        merged[-1] = Interval(last.lo, last.lo_closed, p.hi, p.hi_closed)
                    continue
            merged.append(p)
        return tuple(merged)

    # --- algebra -----------------------------------------------------------------------
    def is_empty(self) -> bool:
        return not self.parts

    def union(self, other: "NumberSet") -> "NumberSet":
        return NumberSet(self.parts + other.parts, self.integer)

    def complement(self) -> "NumberSet":
        out, lo, lo_closed = [], -INF, False
        for p in self.parts:
            out.append(Interval(lo, lo_closed, p.lo, not p.lo_closed))
            lo, lo_closed = p.hi, not p.hi_closed
        out.append(Interval(lo, lo_closed, INF, False))
        return NumberSet([p for p in out if not (p.lo == p.hi == INF or p.lo == p.hi == -INF)], self.integer)

    def intersect(self, other: "NumberSet") -> "NumberSet":
        if not self.parts or not other.parts or _apart(self.parts[-1], other.parts[0]) \
                or _apart(other.parts[-1], self.parts[0]):
            return NumberSet((), self.integer)  # quick reject: most pairs of rule ranges are disjoint
        out = []
        for a in self.parts:
            for b in other.parts:
                lo, lo_closed = max((a.lo, not a.lo_closed), (b.lo, not b.lo_closed))
                hi, hi_closed = min((a.hi, a.hi_closed), (b.hi, b.hi_closed))
                out.append(Interval(lo, not lo_closed, hi, hi_closed))
        return NumberSet(out, self.integer)

    def witness(self):
        """A value in the set (None when empty), preferring round numbers."""
        if not self.parts:
            return None
        p = self.parts[0]
        if p.lo_closed:
            return _tidy(p.lo)
        if p.hi_closed:
            return _tidy(p.hi)
        if p.lo == -INF and p.hi == INF:
            return 0
        if p.lo == -INF:
            return _tidy(p.hi - 1)
        if p.hi == INF:
            return _tidy(p.lo + 1)
        return _tidy((p.lo + p.hi) / 2)

    def __eq__(self, other) -> bool:
        return isinstance(other, NumberSet) and self.parts == other.parts

    def __repr__(self) -> str:
        return "NumberSet(" + " ∪ ".join(
            f"{'[' if p.lo_closed else '('}{p.lo}, {p.hi}{']' if p.hi_closed else ')'}" for p in self.parts) + ")"


def _apart(low: Interval, high: Interval) -> bool:
    """True when ``low`` ends before ``high`` starts."""
    return low.hi < high.lo or (low.hi == high.lo and not (low.hi_closed and high.lo_closed))


def _tidy(value: float):
    return int(value) if float(value).is_integer() else value


class ValueSet:
    """A finite set of values, or (``negated``) every value but those; ``universe`` when finite."""

    def __init__(self, values, negated: bool = False, universe: frozenset | None = None):
        values = frozenset(values)
        if universe is not None:
            values = (universe - values) if negated else (values & universe)
            negated = False
        self.values, self.negated, self.universe = values, negated, universe

    @classmethod
    def everything(cls, universe: frozenset | None) -> "ValueSet":
        return cls((), negated=True, universe=universe)

    def _new(self, values, negated: bool) -> "ValueSet":
        return ValueSet(values, negated, self.universe)

    def is_empty(self) -> bool:
        return not self.negated and not self.values

    def complement(self) -> "ValueSet":
        return self._new(self.values, not self.negated)

    def union(self, other: "ValueSet") -> "ValueSet":
        if self.negated and other.negated:
            return self._new(self.values & other.values, True)
        if self.negated:
            return self._new(self.values - other.values, True)
        if other.negated:
            return self._new(other.values - self.values, True)
        return self._new(self.values | other.values, False)

    def intersect(self, other: "ValueSet") -> "ValueSet":
        return self.complement().union(other.complement()).complement()

    def witness(self):
        if not self.negated:
            return min(self.values, key=repr) if self.values else None
        n = 0
        while True:  # any text not named by a rule
            candidate = "other" if n == 0 else f"other{n}"
            if candidate not in self.values:
                return candidate
            n += 1

    def __eq__(self, other) -> bool:
        return isinstance(other, ValueSet) and (self.values, self.negated) == (other.values, other.negated)

    def __repr__(self) -> str:
        return f"ValueSet({'not ' if self.negated else ''}{sorted(self.values, key=repr)})"


# --- boxes (one set per input) -------------------------------------------------------------
def box_is_empty(box) -> bool:
    return any(s.is_empty() for s in box)


def box_intersect(a, b):
    return tuple(x.intersect(y) for x, y in zip(a, b))


def box_overlap(a, b) -> tuple | None:
    """``a ∩ b``, or None as soon as one input's sets are disjoint (most rule pairs are)."""
    out = []
    for x, y in zip(a, b):
        both = x.intersect(y)
        if both.is_empty():
            return None
        out.append(both)
    return tuple(out)


def box_subtract(a, b) -> list[tuple]:
    """``a - b`` as disjoint boxes (at most one per input)."""
    if box_overlap(a, b) is None:
        return [a]
    out, prefix = [], []
    for i, (x, y) in enumerate(zip(a, b)):
        rest = x.intersect(y.complement())
        if not rest.is_empty():
            out.append(tuple(prefix) + (rest,) + tuple(a[i + 1:]))
        prefix.append(x.intersect(y))
    return out


class TooManyPieces(Exception):
    """The remaining input space fragmented beyond the verification budget."""


def subtract_all(space: list[tuple], boxes, limit: int = 20_000) -> list[tuple]:
    """What is left of ``space`` (a list of disjoint boxes) after removing every box in ``boxes``."""
    left = list(space)
    for b in boxes:
        nxt = []
        for piece in left:
            nxt.extend(box_subtract(piece, b))
            if len(nxt) > limit:
                raise TooManyPieces(f"more than {limit} uncovered regions")
        left = nxt
        if not left:
            break
    return left


def box_witness(box) -> tuple:
    return tuple(s.witness() for s in box)
