"""Per equipment and parameter: the drift of its measurements and when they will cross their limits;
and the backtest — on the recorded history, when the alarm would have come and how often it would
have come for nothing.

Measurements already record the equipment they were taken on; the current value of each (a
correction supersedes) is read in the parameter's unit. An alarm means: a significant trend whose
prediction band reaches the specification limit within ``LEAD_DAYS`` — time to maintain or
calibrate before a value goes out of specification. The trend line decides (not the edge of its
prediction band: on a short stable stretch the band is wide and would cry wolf); the band is
reported as the forecast interval.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from engine.maintenance.drift import MIN_POINTS, Drift, analyse
from engine.masterdata import units
from engine.masterdata.models import Equipment, OperationParameter
from engine.production.models import ParameterMeasurement

LEAD_DAYS = 21  # raise maintenance when the band reaches the spec limit within three weeks
QUIET_DAYS = 30  # alarms closer together than this are one episode
FOLLOW_DAYS = 60  # an alarm episode not followed by an out-of-spec value within this is false


@dataclass
class Series:
    equipment: str
    parameter: str
    unit: str
    lcl: float | None
    ucl: float | None
    lsl: float | None
    usl: float | None
    times: list[datetime] = field(default_factory=list)
    values: list[float] = field(default_factory=list)

    def days(self, origin: datetime) -> np.ndarray:
        return np.array([(t - origin).total_seconds() / 86400 for t in self.times])

    def out_of_spec(self, value: float) -> bool:
        return (self.lsl is not None and value < self.lsl) or (self.usl is not None and value > self.usl)


@dataclass
class Forecast:
    series: Series
    drift: Drift | None
    status: str  # ok, watch (control limit within the lead), alarm (spec limit within the lead), out_of_spec
    origin: datetime

    def when(self, day: float | None) -> datetime | None:
        return None if day is None else self.origin + timedelta(days=day)

    def as_dict(self) -> dict:
        d, s = self.drift, self.series
        out = {"equipment": s.equipment, "parameter": s.parameter, "unit": s.unit, "status": self.status,
               "values": len(s.values), "last_value": s.values[-1], "last_at": s.times[-1].isoformat(),
               "limits": {"lcl": s.lcl, "ucl": s.ucl, "lsl": s.lsl, "usl": s.usl}}
        if d is not None:
            out |= {"change_point_at": _iso(self.when(d.change_day)), "slope_per_day": round(d.slope_per_day, 5),
                    "trend_now": round(d.level, 4), "t_stat": round(d.t_stat, 2)}
            for name, c in (("control", d.control), ("spec", d.spec)):
                out[f"{name}_crossing"] = None if c is None else {
                    "limit": c.limit, "at": _iso(self.when(c.day)), "earliest": _iso(self.when(c.earliest)),
                    "latest": _iso(self.when(c.latest))}
        return out


def _iso(when: datetime | None) -> str | None:
    return when.isoformat() if when else None


def equipment_series(session: Session, *, until: datetime | None = None) -> list[Series]:
    """Every (equipment, parameter) series of current measurements, oldest first."""
    newer = aliased(ParameterMeasurement)
    superseded = select(newer.id).where(newer.supersedes_id == ParameterMeasurement.id).exists()
    query = (select(ParameterMeasurement, Equipment.code, OperationParameter)
             .join(Equipment, Equipment.id == ParameterMeasurement.equipment_id)
             .join(OperationParameter, OperationParameter.id == ParameterMeasurement.parameter_id)
             .where(~superseded).order_by(ParameterMeasurement.measured_at, ParameterMeasurement.id))
    if until is not None:
        query = query.where(ParameterMeasurement.measured_at <= until)
    out: dict[tuple[str, str], Series] = {}
    for m, code, p in session.execute(query):
        key = (code, p.name)
        if key not in out:
            out[key] = Series(code, p.name, p.unit, p.lcl, p.ucl, p.lsl, p.usl)
        out[key].times.append(m.measured_at)
        out[key].values.append(units.convert(m.value, m.unit, p.unit) if m.unit != p.unit else m.value)
    return list(out.values())


def judge(series: Series, upto: int | None = None, *, lead_days: float = LEAD_DAYS) -> Forecast:
    """The forecast of ``series`` on its first ``upto`` values (all by default)."""
    cut = Series(series.equipment, series.parameter, series.unit, series.lcl, series.ucl, series.lsl, series.usl,
                 series.times[:upto], series.values[:upto])
    origin = cut.times[0]
    drift = analyse(cut.days(origin), cut.values, control=(cut.lcl, cut.ucl), spec=(cut.lsl, cut.usl))
    status = "ok"
    if cut.out_of_spec(cut.values[-1]):
        status = "out_of_spec"
    elif drift is not None and drift.significant:
        if drift.spec and drift.spec.day is not None and drift.spec.day - drift.last_day <= lead_days:
            status = "alarm"
        elif drift.control and drift.control.day is not None and drift.control.day - drift.last_day <= lead_days:
            status = "watch"
    return Forecast(cut, drift, status, origin)


def forecast(session: Session, *, lead_days: float = LEAD_DAYS) -> list[Forecast]:
    """The forecast of every series with enough values, the most urgent first."""
    order = {"out_of_spec": 0, "alarm": 1, "watch": 2, "ok": 3}
    found = [judge(s, lead_days=lead_days) for s in equipment_series(session) if len(s.values) >= MIN_POINTS]
    return sorted(found, key=lambda f: (order[f.status], f.series.equipment, f.series.parameter))


@dataclass
class Backtest:
    """Replaying a series value by value: when the alarm came, and how often for nothing."""

    equipment: str
    parameter: str
    first_alarm: datetime | None
    first_out_of_spec: datetime | None
    false_alarms: int
    years: float

    @property
    def lead_days(self) -> float | None:
        """Days between the first alarm and the first out-of-spec value (None when either is missing)."""
        if self.first_alarm is None or self.first_out_of_spec is None or self.first_alarm > self.first_out_of_spec:
            return None
        return (self.first_out_of_spec - self.first_alarm).total_seconds() / 86400

    @property
    def false_alarms_per_year(self) -> float:
        return self.false_alarms / self.years if self.years > 0 else 0.0

    def as_dict(self) -> dict:
        return {"equipment": self.equipment, "parameter": self.parameter, "first_alarm": _iso(self.first_alarm),
                "first_out_of_spec": _iso(self.first_out_of_spec),
                "lead_days": None if self.lead_days is None else round(self.lead_days, 1),
                "false_alarms": self.false_alarms, "false_alarms_per_equipment_year": round(self.false_alarms_per_year, 2)}


def backtest(series: Series, *, lead_days: float = LEAD_DAYS) -> Backtest:
    """Replay ``series``: the forecast after each value, as if it were the newest."""
    oos = next((t for t, v in zip(series.times, series.values) if series.out_of_spec(v)), None)
    alarms: list[datetime] = []
    for k in range(MIN_POINTS, len(series.values) + 1):
        when = series.times[k - 1]
        if oos is not None and when >= oos:
            break
        if judge(series, k, lead_days=lead_days).status == "alarm":
            alarms.append(when)
    episodes: list[datetime] = []  # first alarm of each run of alarms (a gap over QUIET_DAYS ends a run)
    for previous, when in zip([None, *alarms], alarms):
        if previous is None or (when - previous).days > QUIET_DAYS:
            episodes.append(when)
    false = sum(1 for e in episodes if oos is None or (oos - e).days > FOLLOW_DAYS)
    span = (series.times[-1] - series.times[0]).total_seconds() / 86400 / 365.25 if series.times else 0.0
    first = next((e for e in episodes if oos is not None and (oos - e).days <= FOLLOW_DAYS), None)
    return Backtest(series.equipment, series.parameter, first, oos, false, span)


def backtests(session: Session, *, lead_days: float = LEAD_DAYS) -> list[Backtest]:
    """The backtest of every series with enough values."""
    return [backtest(s, lead_days=lead_days) for s in equipment_series(session) if len(s.values) >= MIN_POINTS]


