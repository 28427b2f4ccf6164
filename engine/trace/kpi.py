"""KPI formulas over plain rows (dicts). No database here: ``kpi_report`` gathers the rows.

Every figure is a ``Figure``: the value plus the ids of the records that make it up, so the
dashboard can link each number to its evidence and the JSON API can return the same thing.
Ratios over an empty population are ``None`` (not 0 or 100 %): "no lots" is not "all failed".
"""
from __future__ import annotations

import datetime as dt
import math
import statistics
from collections import defaultdict
from dataclasses import dataclass, field

# Shewhart constants for X-bar charts from subgroup ranges (ASTM E2587 / Montgomery App. VI).
A2 = {2: 1.880, 3: 1.023, 4: 0.729, 5: 0.577, 6: 0.483, 7: 0.419, 8: 0.373, 9: 0.337, 10: 0.308}
D3 = {2: 0, 3: 0, 4: 0, 5: 0, 6: 0, 7: 0.076, 8: 0.136, 9: 0.184, 10: 0.223}
D4 = {2: 3.267, 3: 2.574, 4: 2.282, 5: 2.114, 6: 2.004, 7: 1.924, 8: 1.864, 9: 1.816, 10: 1.777}
D2_N2 = 1.128  # d2 for moving ranges of two


@dataclass
class Figure:
    """A KPI value with the population behind it."""

    value: float | None
    numerator: float | None = None
    denominator: float | None = None
    unit: str = ""
    records: list = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"value": None if self.value is None else round(self.value, 6),
                "numerator": self.numerator, "denominator": self.denominator,
                "unit": self.unit, "records": list(self.records)}


def ratio(num_ids: list, den_ids: list, unit: str = "%") -> Figure:
    """``len(num)/len(den)`` as a percentage; None when the denominator is empty."""
    den = len(den_ids)
    value = 100.0 * len(num_ids) / den if den else None
    return Figure(value, len(num_ids), den, unit, list(num_ids))


DECIDED = ("released", "rejected")


def batch_pass_rate(lots: list[dict]) -> Figure:
    """Released / (released + rejected) lots."""
    decided = [lot for lot in lots if lot["status"] in DECIDED]
    return ratio([lot["id"] for lot in decided if lot["status"] == "released"], [lot["id"] for lot in decided])


def first_pass_yield(lots: list[dict]) -> Figure:
    """Released lots that needed no rework and had no deviation / decided lots."""
    decided = [lot for lot in lots if lot["status"] in DECIDED]
    good = [lot["id"] for lot in decided if lot["status"] == "released"
            and not lot.get("reworked") and not lot.get("deviations")]
    return ratio(good, [lot["id"] for lot in decided])


def rework_rate(lots: list[dict]) -> Figure:
    """Lots with at least one repeated operation / lots that ran operations."""
    ran = [lot for lot in lots if lot.get("operations")]
    return ratio([lot["id"] for lot in ran if lot.get("reworked")], [lot["id"] for lot in ran])


def scrap_rate(lots: list[dict]) -> Figure:
    """Units made but not approved for distribution / units made, over decided lots."""
    decided = [lot for lot in lots if lot["status"] in DECIDED and lot.get("qty_made")]
    made = sum(float(lot["qty_made"]) for lot in decided)
    approved = sum(float(lot.get("qty_approved") or 0) for lot in decided
                   if lot["status"] == "released")
    scrapped = [lot["id"] for lot in decided
                if lot["status"] == "rejected" or float(lot.get("qty_approved") or 0) < float(lot["qty_made"])]
    return Figure(100.0 * (made - approved) / made if made else None, made - approved, made, "%", scrapped)


def count_by(rows: list[dict], key: str) -> dict[str, Figure]:
    """Rows counted by ``key`` (e.g. deviations by category), largest first, ids kept."""
    groups: dict[str, list] = defaultdict(list)
    for row in rows:
        groups[str(row.get(key) or "—")].append(row["id"])
    return {k: Figure(len(v), unit="", records=v)
            for k, v in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))}


def _days(a: dt.datetime, b: dt.datetime) -> float:
    return (b - a).total_seconds() / 86400.0


def median_lead_time(rows: list[dict], start: str = "opened_at", end: str = "closed_at") -> Figure:
    """Median days from ``start`` to ``end`` over the rows that have both."""
    done = [r for r in rows if r.get(start) and r.get(end)]
    if not done:
        return Figure(None, unit="d")
    return Figure(statistics.median(_days(r[start], r[end]) for r in done), None, len(done), "d",
                  [r["id"] for r in done])


def on_time_closure(capas: list[dict], as_of: dt.datetime) -> Figure:
    """CAPAs closed by their due date / CAPAs that are due (closed, or open past due)."""
    due = [c for c in capas if c.get("due_at") and (c.get("closed_at") or c["due_at"] <= as_of)]
    on_time = [c["id"] for c in due if c.get("closed_at") and c["closed_at"] <= c["due_at"]]
    return ratio(on_time, [c["id"] for c in due])


def completeness(lots: list[dict]) -> Figure:
    """Lots with every required signature and measurement present / completed-or-later lots."""
    scope = [lot for lot in lots if lot["status"] in ("completed", *DECIDED)]
    complete = [lot["id"] for lot in scope
                if lot.get("signatures_missing", 0) == 0 and lot.get("measurements_missing", 0) == 0]
    return ratio(complete, [lot["id"] for lot in scope])


def overdue_by_role(tasks: list[dict], as_of: dt.datetime) -> dict[str, Figure]:
    """Open tasks past due, counted per role."""
    return count_by([t for t in tasks if t.get("due_at") and t["due_at"] < as_of and not t.get("completed_at")],
                    "role")


def percentile(values: list[float], q: float) -> float | None:
    """Linear-interpolated percentile (q in 0..100); None for no values."""
    if not values:
        return None
    s = sorted(values)
    k = (len(s) - 1) * q / 100.0
    lo, hi = math.floor(k), math.ceil(k)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def entry_delay(records: list[dict], back_entry_hours: float = 24.0) -> dict[str, Figure]:
    """Time from the event (``occurred_at``) to its entry (``recorded_at``): median, p95 and back-entries."""
    delays = [(r["id"], (r["recorded_at"] - r["occurred_at"]).total_seconds() / 60.0)
              for r in records if r.get("occurred_at") and r.get("recorded_at")]
    minutes = [d for _, d in delays]
    back = [i for i, d in delays if d > back_entry_hours * 60]
    return {"median_minutes": Figure(statistics.median(minutes) if minutes else None, None, len(minutes), "min"),
            "p95_minutes": Figure(percentile(minutes, 95), None, len(minutes), "min"),
            "back_entries": Figure(len(back), len(back), len(minutes), "", back)}


def corrections(records: list[dict]) -> dict[str, Figure]:
    """Corrections per record and right-first-time (records never corrected / all records)."""
    n = len(records)
    total = sum(r.get("corrections", 0) for r in records)
    corrected = [r["id"] for r in records if r.get("corrections", 0) > 0]
    rft = ratio([r["id"] for r in records if not r.get("corrections", 0)], [r["id"] for r in records])
    return {"per_record": Figure(total / n if n else None, total, n, "", corrected), "right_first_time": rft}


def signature_latency(signatures: list[dict]) -> Figure:
    """Median hours from a task becoming ready to its signature."""
    hours = [(s["signed_at"] - s["ready_at"]).total_seconds() / 3600.0
             for s in signatures if s.get("ready_at") and s.get("signed_at")]
    return Figure(statistics.median(hours) if hours else None, None, len(hours), "h")


@dataclass
class ControlLimits:
    """Centre line and control limits of a chart (and the sigma estimate used)."""

    kind: str
    center: float
    ucl: float
    lcl: float
    sigma: float
    out_of_control: list[int]  # indices of points beyond the limits or in a run of 8 on one side

    def as_dict(self) -> dict:
        return {"kind": self.kind, "center": self.center, "ucl": self.ucl, "lcl": self.lcl,
                "sigma": self.sigma, "out_of_control": self.out_of_control}


def individuals_limits(values: list[float]) -> ControlLimits | None:
    """I-chart limits: mean ± 3·MR̄/d2 (d2 = 1.128); needs at least two values."""
    if len(values) < 2:
        return None
    center = statistics.fmean(values)
    mr = statistics.fmean(abs(b - a) for a, b in zip(values, values[1:]))
    sigma = mr / D2_N2
    ucl, lcl = center + 3 * sigma, center - 3 * sigma
    return ControlLimits("individuals", center, ucl, lcl, sigma, _signals(values, center, ucl, lcl))


def xbar_limits(subgroups: list[list[float]]) -> ControlLimits | None:
    """X-bar chart limits from subgroup ranges: X̿ ± A2·R̄ (equal subgroup sizes 2..10)."""
    sizes = {len(g) for g in subgroups}
    if len(subgroups) < 2 or len(sizes) != 1 or not (n := sizes.pop()) in A2:
        return None
    means = [statistics.fmean(g) for g in subgroups]
    center = statistics.fmean(means)
    rbar = statistics.fmean(max(g) - min(g) for g in subgroups)
    ucl, lcl = center + A2[n] * rbar, center - A2[n] * rbar
    return ControlLimits(f"xbar(n={n})", center, ucl, lcl, A2[n] * rbar / 3, _signals(means, center, ucl, lcl))


def _signals(values: list[float], center: float, ucl: float, lcl: float) -> list[int]:
    """Western Electric rule 1 (beyond 3σ) and rule 4 (8 in a row on one side of the centre)."""
    flagged = {i for i, v in enumerate(values) if v > ucl or v < lcl}
    run, side = 0, 0
    for i, v in enumerate(values):
        s = (v > center) - (v < center)
        run = run + 1 if s and s == side else (1 if s else 0)
        side = s
        if run >= 8:
            flagged.update(range(i - run + 1, i + 1))
    return sorted(flagged)
