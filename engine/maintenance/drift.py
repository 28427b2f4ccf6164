"""Drift of one measured series: the last change point (``ruptures``, piecewise-linear cost) and a
least-squares trend after it, with the day the trend — and its prediction band — reaches a limit.

Pure functions on arrays (days since an origin, values); no database. The noise level is
estimated robustly from first differences, so a drift does not inflate it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import ruptures as rpt
from scipy import stats

MIN_POINTS = 10  # fewer values say nothing about a trend
MIN_SEGMENT = 5
MIN_TREND_POINTS = 10  # a trend fitted on fewer values after a change point is overconfident
BAND = 0.90  # two-sided prediction band of the forecast crossing
MAX_AHEAD_DAYS = 365.0
SIGNIFICANCE_T = 3.0  # |slope| / its standard error: below this a "trend" is noise


@dataclass(frozen=True)
class Crossing:
    """When the trend reaches ``limit``: ``day`` (trend line), ``earliest``/``latest`` (prediction band)."""

    limit: float
    day: float | None
    earliest: float | None
    latest: float | None


@dataclass(frozen=True)
class Drift:
    """The trend of a series after its last change point."""

    n: int
    change_day: float | None  # first day of the current segment (None: no change point)
    slope_per_day: float
    level: float  # trend value on the last day
    sigma: float
    t_stat: float
    last_day: float
    control: Crossing | None
    spec: Crossing | None

    @property
    def significant(self) -> bool:
        return abs(self.t_stat) >= SIGNIFICANCE_T


def noise(values: np.ndarray) -> float:
    """Robust standard deviation of the noise (MAD of first differences / √2)."""
    diffs = np.diff(values)
    mad = float(np.median(np.abs(diffs - np.median(diffs)))) if len(diffs) else 0.0
    return max(mad / 0.6745 / math.sqrt(2), 1e-9)


def change_points(days: np.ndarray, values: np.ndarray) -> list[int]:
    """Indexes where a new linear regime starts (PELT, penalty 3σ²·ln n)."""
    if len(values) < 2 * MIN_SEGMENT:
        return []
    signal = np.column_stack([values, days - days[0], np.ones(len(values))])
    pen = 3 * noise(values) ** 2 * math.log(len(values))
    ends = rpt.Pelt(model="linear", min_size=MIN_SEGMENT, jump=1).fit(signal).predict(pen=pen)
    return [e for e in ends if e < len(values)]


def analyse(days, values, *, control: tuple[float | None, float | None] = (None, None),
            spec: tuple[float | None, float | None] = (None, None)) -> Drift | None:
    """Trend after the last change point and the forecast crossing of the control and spec limits
    ((lower, upper) each); None when there are too few values."""
    days, values = np.asarray(days, dtype=float), np.asarray(values, dtype=float)
    if len(values) < MIN_POINTS:
        return None
    breaks = [b for b in change_points(days, values) if len(values) - b >= MIN_TREND_POINTS]
    start = breaks[-1] if breaks else 0
    x, y = days[start:], values[start:]
    slope, intercept = np.polyfit(x, y, 1)
    resid = y - (slope * x + intercept)
    dof = max(len(x) - 2, 1)
    s = math.sqrt(float(resid @ resid) / dof) if dof else 0.0
    sxx = float(((x - x.mean()) ** 2).sum()) or 1e-9
    se_slope = s / math.sqrt(sxx) if s > 0 else 1e-12
    fit = _Fit(float(slope), float(intercept), s, float(x.mean()), sxx, len(x), float(days[-1]))
    return Drift(n=len(values), change_day=float(days[start]) if breaks else None, slope_per_day=float(slope),
                 level=float(slope * days[-1] + intercept), sigma=s, t_stat=float(slope) / se_slope,
                 last_day=float(days[-1]), control=fit.crossing(*control), spec=fit.crossing(*spec))


@dataclass(frozen=True)
class _Fit:
    slope: float
    intercept: float
    s: float
    xbar: float
    sxx: float
    n: int
    last: float

    def crossing(self, lower: float | None, upper: float | None) -> Crossing | None:
        """The limit the trend heads for, and when it (and its band) gets there."""
        if self.slope < 0 and lower is not None:
            limit, sign = lower, -1.0  # reaching it: at or below
        elif self.slope > 0 and upper is not None:
            limit, sign = upper, 1.0
        else:
            return None
        ahead = np.linspace(0.0, MAX_AHEAD_DAYS, int(MAX_AHEAD_DAYS * 4) + 1) + self.last
        mean = self.slope * ahead + self.intercept
        t = stats.t.ppf(0.5 + BAND / 2, max(self.n - 2, 1))
        half = t * self.s * np.sqrt(1 + 1 / self.n + (ahead - self.xbar) ** 2 / self.sxx)

        def first(curve):
            hit = np.nonzero(sign * (curve - limit) >= 0)[0]
            return float(ahead[hit[0]]) if len(hit) else None

        return Crossing(limit=limit, day=first(mean), earliest=first(mean + sign * half),
                        latest=first(mean - sign * half))
