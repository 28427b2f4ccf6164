"""The demo plant's planning parameters and order book: work-centre shifts and planned lots with
due dates and priorities (one lot is short of spikes; the finished sets need the overdue LT-01)."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from engine.demo.plant_data import DEMO_PRODUCT
from engine.masterdata.models import Product
from engine.planning import calendars, targets
from engine.planning.calendars import Shift
from engine.production import lots

PLANT_TIMEZONE = "Asia/Shanghai"


def _week(days: range, *spans: tuple[int, int, int]) -> list[Shift]:
    return [Shift(weekday=d, starts_minute=a * 60, ends_minute=b * 60, capacity=cap,
                  name=f"{a:02d}-{b:02d}") for d in days for a, b, cap in spans]


SHIFTS = {
    "Extrusion": _week(range(0, 5), (8, 16, 1), (16, 24, 1)),
    "Cleanroom A": _week(range(0, 6), (8, 16, 2), (16, 24, 2)),
    "QC lab": _week(range(0, 5), (8, 17, 1)),
    "Packaging": _week(range(0, 5), (8, 16, 1)),
    "Sterilisation": _week(range(0, 7), (0, 24, 1)),  # the EO cell and the aeration room run round the clock
}

# lot number, item (None: the product), quantity, due in days, priority
ORDERS = [
    ("DRIP-2611-01", "SUB-DRIP", 2500, 4, 1),
    ("TUBE-2611-01", "SUB-TUBE", 7000, 5, 2),
    ("IS200-2611-005", None, 500, 10, 3),
    ("DRIP-2611-02", "SUB-DRIP", 2500, 9, 4),
]


def plan_demo(plant) -> list[str]:
    """Shifts for every work centre, the planned lots, and the due date of each planned lot."""
    pm = plant.actor("liu.yang")
    for wc, shifts in SHIFTS.items():
        calendars.set_shifts(plant.s, pm, wc, shifts, timezone=PLANT_TIMEZONE, reason="shift pattern 2026")
    made = []
    for number, item, qty, due, priority in ORDERS:
        lot = lots.plan_lot(plant.s, pm, lot_number=number, quantity=qty,
                            product=None if item else _product(plant), item=plant.items[item] if item else None)
        targets.set_lot_target(plant.s, pm, lot, due_on=plant.today + timedelta(days=due), priority=priority,
                               reason="customer order book")
        made.append(number)
    existing = lots.get_lot(plant.s, "IS200-2611-004")
    targets.set_lot_target(plant.s, pm, existing, due_on=plant.today + timedelta(days=8), priority=2,
                           reason="customer order book")
    return made


def _product(plant) -> Product:
    return plant.s.scalars(select(Product).where(Product.code == DEMO_PRODUCT)).one()
