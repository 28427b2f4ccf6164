"""A station that drifts: the die of extruder EXT-01 wears. The outer diameter of the tubing, measured
at the start of every day while tubing lots run, holds 4.10 mm for two months, then grows about
0.0022 mm a day, crosses the upper control limit (4.15) and, about ten days before the plant's
today, the upper specification limit (4.20). ``sealtrail maintenance forecast`` replays it."""
from __future__ import annotations

import random

from engine.production import lots, records

DAYS = 120
DRIFT_STARTS = 55  # days before today
DRIFT_PER_DAY = 0.0022
NOISE = 0.008
LOT_DAYS = 15


def run_drift_history(plant) -> list[str]:
    """Tubing lots over the last ``DAYS`` days, each with a daily outer-diameter reading on EXT-01."""
    pm, op = plant.actor("liu.yang"), plant.actor("zhang.wei")
    extruder = plant.eq["EXT-01"]
    rng = random.Random(17)
    made = []
    for n, first in enumerate(range(DAYS, 0, -LOT_DAYS), start=1):
        number = f"TUBE-ODH-{n:02d}"
        lot = lots.plan_lot(plant.s, pm, lot_number=number, quantity=1000, item=plant.items["SUB-TUBE"])
        lots.start_lot(plant.s, pm, lot, started_at=plant.at(first, 7))
        param = next(p for o in lot.routing_revision.operations for p in o.parameters
                     if o.code == "EXTR" and p.name == "Outer diameter")
        last = max(first - LOT_DAYS + 1, 1)
        for days_ago in range(first, last - 1, -1):
            value = 4.10 + DRIFT_PER_DAY * max(0, DRIFT_STARTS - days_ago) + rng.gauss(0, NOISE)
            records.record_measurement(plant.s, op, lot, param, value=round(value, 4), unit=param.unit,
                                       measured_at=plant.at(days_ago, 8, 5), equipment=extruder)
        lots.complete_lot(plant.s, pm, lot, quantity_made=1000, completed_at=plant.at(last, 17))
        made.append(number)
    return made
