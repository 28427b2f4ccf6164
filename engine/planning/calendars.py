"""Work-centre calendars: the shifts a work centre is open, and its open windows over a horizon."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from audit import Actor, chain
from engine.errors import ValidationFailed
from engine.planning.models import WorkCentreShift

MAX_SHIFTS = 7 * 6  # six shifts a day is already unusual; more is a typing error
MAX_CAPACITY = 100


@dataclass(frozen=True)
class Shift:
    """One shift as given by a person: weekday 0 (Monday)..6, minutes after midnight, parallel stations."""

    weekday: int
    starts_minute: int
    ends_minute: int
    capacity: int = 1
    name: str = ""


def zone(name: str, field: str = "timezone") -> ZoneInfo:
    """The IANA time zone ``name``, or ValidationFailed naming ``field``."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationFailed(f"{field}: {name!r} is not an IANA time zone (e.g. Asia/Shanghai)",
                               field=field) from None


def _check(work_centre: str, shifts: list[Shift]) -> None:
    if not (work_centre or "").strip() or len(work_centre) > 64:
        raise ValidationFailed("work_centre is required (at most 64 characters)", field="work_centre")
    if len(shifts) > MAX_SHIFTS:
        raise ValidationFailed(f"at most {MAX_SHIFTS} shifts per work centre", field="shifts")
    for s in shifts:
        where = f"{work_centre} shift {s.name or s.weekday}"
        if not 0 <= s.weekday <= 6:
            raise ValidationFailed(f"{where}: weekday is 0 (Monday) to 6 (Sunday)", field="weekday")
        if not 0 <= s.starts_minute < s.ends_minute <= 1440:
            raise ValidationFailed(f"{where}: a shift starts and ends within one day (minutes 0..1440)",
                                   field="starts_minute")
        if not 1 <= s.capacity <= MAX_CAPACITY:
            raise ValidationFailed(f"{where}: capacity is 1..{MAX_CAPACITY}", field="capacity")
    by_day = sorted(shifts, key=lambda s: (s.weekday, s.starts_minute))
    for a, b in zip(by_day, by_day[1:]):
        if a.weekday == b.weekday and b.starts_minute < a.ends_minute:
            raise ValidationFailed(f"{work_centre}: shifts overlap on weekday {a.weekday}", field="shifts")


def set_shifts(session: Session, actor: Actor, work_centre: str, shifts: list[Shift], *, timezone: str,
               reason: str) -> list[WorkCentreShift]:
    """Replace the shifts of ``work_centre`` (audited with before and after)."""
    _check(work_centre, shifts)
    zone(timezone)
    old = list(session.scalars(select(WorkCentreShift).where(WorkCentreShift.work_centre == work_centre)))
    before = [_row(s) for s in old]
    for row in old:
        session.delete(row)
    session.flush()
    rows = [WorkCentreShift(work_centre=work_centre, weekday=s.weekday, starts_minute=s.starts_minute,
                            ends_minute=s.ends_minute, capacity=s.capacity, timezone=timezone, name=s.name)
            for s in shifts]
    session.add_all(rows)
    session.flush()
    chain.append(session, actor, "work_centre.set_shifts", "work_centre", work_centre, reason=reason,
                 before={"shifts": before}, after={"shifts": [_row(s) for s in rows]})
    return rows


def _row(s: WorkCentreShift) -> dict:
    return {"weekday": s.weekday, "starts_minute": s.starts_minute, "ends_minute": s.ends_minute,
            "capacity": s.capacity, "timezone": s.timezone, "name": s.name}


def shifts_of(session: Session) -> dict[str, list[WorkCentreShift]]:
    """Work centre → its shifts."""
    out: dict[str, list[WorkCentreShift]] = {}
    for row in session.scalars(select(WorkCentreShift).order_by(WorkCentreShift.weekday,
                                                               WorkCentreShift.starts_minute)):
        out.setdefault(row.work_centre, []).append(row)
    return out


def open_windows(shifts: list[WorkCentreShift], start: datetime, end: datetime) -> list[tuple[datetime, datetime, int]]:
    """The windows (UTC start, UTC end, capacity) the shifts open between ``start`` and ``end``;
    back-to-back shifts of equal capacity merge into one window (night shift into morning)."""
    out: list[tuple[datetime, datetime, int]] = []
    for s in shifts:
        tz = zone(s.timezone)
        day = start.astimezone(tz).date() - timedelta(days=1)
        last = end.astimezone(tz).date()
        while day <= last:
            if day.weekday() == s.weekday:
                midnight = datetime.combine(day, time(0), tzinfo=tz)
                a = (midnight + timedelta(minutes=s.starts_minute)).astimezone(start.tzinfo)
                b = (midnight + timedelta(minutes=s.ends_minute)).astimezone(start.tzinfo)
                a, b = max(a, start), min(b, end)
                if a < b:
                    out.append((a, b, s.capacity))
            day += timedelta(days=1)
    out.sort()
    merged: list[tuple[datetime, datetime, int]] = []
    for a, b, cap in out:
        if merged and merged[-1][1] >= a and merged[-1][2] == cap:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b), cap)
        else:
            merged.append((a, b, cap))
    return merged
