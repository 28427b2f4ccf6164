"""Statistical process control: the Western Electric rules (Nelson 1, 5, 6, 2 in Nelson's
numbering) over a series, against a centre line and sigma taken from a baseline.

Pure functions, no database. A rule fires at the point that *completes* its pattern, and only
when that newest point is itself part of the pattern, so an in-control point arriving after a
signal does not repeat it.

==== =========================================================== ============
rule pattern (ending at the newest point)                            Nelson rule
==== =========================================================== ============
1    one point beyond 3σ                                             1
2    2 of 3 consecutive points beyond 2σ, on the same side           5
3    4 of 5 consecutive points beyond 1σ, on the same side           6
4    8 consecutive points on the same side of the centre line        (2 uses 9)
==== =========================================================== ============
"""
from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

RULES = {
    1: "one point beyond 3 sigma",
    2: "2 of 3 consecutive points beyond 2 sigma on the same side",
    3: "4 of 5 consecutive points beyond 1 sigma on the same side",
    4: "8 consecutive points on the same side of the centre line",
}
MIN_BASELINE = 10


@dataclass(frozen=True)
class Violation:
    """Rule ``rule`` fired at ``index``; ``points`` are the indices that make the pattern."""

    rule: int
    index: int
    points: tuple[int, ...]

    @property
    def code(self) -> str:
        return f"SPC-WE{self.rule}"

    @property
    def description(self) -> str:
        return RULES[self.rule]


@dataclass(frozen=True)
class Limits:
    """Centre line and sigma of a series."""

    mean: float
    sigma: float

    def __post_init__(self):
        if not (math.isfinite(self.mean) and math.isfinite(self.sigma)) or self.sigma <= 0:
            raise ValueError("SPC limits need a finite mean and a positive, finite sigma")

    def z(self, value: float) -> float:
        return (value - self.mean) / self.sigma


def baseline(values: Iterable[float]) -> Limits:
    """Centre line (mean) and sigma (sample standard deviation) of a baseline period."""
    data = [float(v) for v in values]
    if len(data) < MIN_BASELINE:
        raise ValueError(f"a baseline needs at least {MIN_BASELINE} values, got {len(data)}")
    sigma = statistics.stdev(data)
    if sigma <= 0:
        raise ValueError("a baseline needs some variation (sigma is 0)")
    return Limits(statistics.fmean(data), sigma)


def _side(z: float) -> int:
    return (z > 0) - (z < 0)


def _k_of_n_beyond(z: Sequence[float], end: int, k: int, n: int, beyond: float) -> tuple[int, ...] | None:
    """Indices of ≥k of the (up to) n points ending at ``end`` beyond ``beyond`` σ on the newest
    point's side (a short series at the start counts: 2 points both beyond 2σ already signal)."""
    if abs(z[end]) <= beyond:
        return None
    side = _side(z[end])
    hits = tuple(i for i in range(max(0, end - n + 1), end + 1) if abs(z[i]) > beyond and _side(z[i]) == side)
    return hits if len(hits) >= k else None


def violations_at(z: Sequence[float], end: int, rules: Iterable[int] = (1, 2, 3, 4)) -> list[Violation]:
    """The rules completed by the point ``end`` of the z-score series ``z``."""
    found = []
    wanted = set(rules)
    if 1 in wanted and abs(z[end]) > 3:
        found.append(Violation(1, end, (end,)))
    if 2 in wanted and (points := _k_of_n_beyond(z, end, 2, 3, 2.0)):
        found.append(Violation(2, end, points))
    if 3 in wanted and (points := _k_of_n_beyond(z, end, 4, 5, 1.0)):
        found.append(Violation(3, end, points))
    if 4 in wanted and end >= 7:
        side = _side(z[end])
        window = range(end - 7, end + 1)
        if side != 0 and all(_side(z[i]) == side for i in window):
            found.append(Violation(4, end, tuple(window)))
    return found


def check_latest(values: Sequence[float], limits: Limits, rules: Iterable[int] = (1, 2, 3, 4)) -> list[Violation]:
    """Violations completed by the newest value (the last of ``values``, oldest first)."""
    if not values:
        return []
    z = [limits.z(v) for v in values]
    return violations_at(z, len(z) - 1, rules)


def check_series(values: Sequence[float], limits: Limits, rules: Iterable[int] = (1, 2, 3, 4)) -> list[Violation]:
    """Every violation along a whole series (to backtest a baseline or a rule change)."""
    z = [limits.z(v) for v in values]
    rules = tuple(rules)
    return [v for end in range(len(z)) for v in violations_at(z, end, rules)]


def parse_rules(text: str) -> tuple[int, ...]:
    """'1 2 3 4' → (1, 2, 3, 4); refuses unknown rule numbers."""
    numbers = tuple(int(part) for part in text.split())
    unknown = [n for n in numbers if n not in RULES]
    if unknown or not numbers:
        raise ValueError(f"SPC rules are numbers among {sorted(RULES)}")
    return numbers
