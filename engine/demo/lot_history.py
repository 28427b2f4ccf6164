"""Demo production history: supplier lots, subassembly lots and finished infusion-set lots."""
from __future__ import annotations

import random
import zlib
from datetime import timedelta

from sqlalchemy import select

from engine.demo.plant_data import CODE_START, ITEMS, LUER_GTIN
from engine.masterdata.models import Product
from engine.production import inspection_plans, lots, records
from engine.trace import component_serials, serials

AQL_LOT = "IS200-2611-006"

# day offset from lot start for each operation sequence (EO and aeration run days later)
_DAY_OF_OP = {10: 0, 20: 0, 30: 1, 40: 1, 50: 2, 60: 3, 70: 4}


def run_production(plant) -> list[str]:
    """Make the demo's lots through the engine's use cases; returns the lot numbers."""
    made = []
    qa, pm, qam = plant.actor("chen.jing"), plant.actor("liu.yang"), plant.actor("zhao.min")
    # purchased material: received, inspected, released
    received = {}
    for n, (code, _name, _kind, _unit, supplier, qty, qty_unit) in enumerate(ITEMS, start=1):
        number = f"RCV-{CODE_START}-{n:03d}"
        lot = lots.receive_supplier_lot(
            plant.s, pm, item=plant.items[code], lot_number=number, supplier=supplier,
            supplier_lot_number=f"{code[-4:]}{2600 + n * 7}", quantity=qty, unit=qty_unit,
            received_on=plant.today - timedelta(days=95), certificate_ref=f"CoA-{code}-{2600 + n * 7}",
            expires_on=plant.today + timedelta(days=700))
        if plant.items[code].serialised:  # the connectors' serials come with the lot (a few shown)
            component_serials.receive_component_serials(plant.s, pm, lot, serials.expand_range("HLC2600001", 8))
        lots.change_lot_status(plant.s, qa, lot, "released", reason="incoming inspection passed; CoA reviewed")
        received[code] = lot
        made.append(number)
    runner = _LotRunner(plant)
    tube1 = runner.run("TUBE-2609-01", "SUB-TUBE", 7000, 80, [(received["RM-PVC"], 53.9, "kg")])
    drip1 = runner.run("DRIP-2609-01", "SUB-DRIP", 4100, 78,
                       [(received["CMP-SPIKE"], 4100, "pcs"), (received["CMP-DRIP"], 4100, "pcs"),
                        (received["CMP-FILTER"], 4100, "pcs"), (received["RM-UVADH"], 205, "g")])
    tube2 = runner.run("TUBE-2610-01", "SUB-TUBE", 7000, 50, [(received["RM-PVC"], 53.9, "kg")])
    drip2 = runner.run("DRIP-2610-01", "SUB-DRIP", 2500, 48,
                       [(received["CMP-SPIKE"], 2500, "pcs"), (received["CMP-DRIP"], 2500, "pcs"),
                        (received["CMP-FILTER"], 2500, "pcs"), (received["RM-UVADH"], 125, "g")])
    for sub in (tube1, drip1, tube2, drip2):
        lots.change_lot_status(plant.s, qam, sub, "released", reason="subassembly batch record reviewed")
        made.append(sub.lot_number)

    def parts(tube, drip):
        return [(drip, 2000, "pcs"), (tube, 3000, "m")] + [
            (received[c], 2000, "pcs") for c in ("CMP-CLAMP", "CMP-LUER", "CMP-CAP", "CMP-NEEDLE", "PKG-POUCH",
                                                 "PKG-LABEL")] + [(received["RM-UVADH"], 160, "g")]

    fg1 = runner.run("IS200-2609-001", "FG-IS200", 2000, 60, parts(tube1, drip1), made_qty=1985,
                     correction=("UV intensity", 6.1, 61.0,
                                 "decimal point missed when typing; value from the radiometer printout"))
    # Every unit of lot 001 carries a serial number (GS1 AI 21) on its UDI label.
    serials.assign_serials(plant.s, pm, fg1, serials.expand_range("IS2609000001", 1985))
    # The first units' luer-lock connectors were scanned into them at assembly (serialised component).
    for n in range(1, 6):
        component_serials.fit_components(plant.s, plant.actor("zhang.wei"), f"(01){fg1.product_revision.gtin}"
                                         f"(21)IS260900000{n}", [f"(01){LUER_GTIN}(21)HLC260000{n}"])
    lots.change_lot_status(plant.s, qam, fg1, "released", quantity_approved=1964,
                           reason="DHR reviewed; 21 sets consumed by destructive testing")
    fg2 = runner.run("IS200-2610-002", "FG-IS200", 2000, 45, parts(tube1, drip1), made_qty=1990,
                     override={"Pressure decay": 0.62})
    # Lot 003 was run by Li Na on a night shift while the terminals were down and transcribed from
    # its paper batch record the next morning: no interlock stopped her, the release review finds it.
    fg3 = runner.run("IS200-2610-003", "FG-IS200", 2000, 25, parts(tube2, drip2), made_qty=1992,
                     operator="li.na", transcribed_from="paper batch record BR-IS200-2610-003")
    planned = lots.plan_lot(plant.s, pm, lot_number="IS200-2611-004", quantity=2000,
                            product=_product(plant))
    made += [fg1.lot_number, fg2.lot_number, fg3.lot_number, planned.lot_number, _aql_lot(plant).lot_number]
    return made


def _aql_lot(plant):
    """Lot 006: 3,200 sets released to the floor yesterday, no operation run yet. Its visual inspection
    at PULL (ISO 2859-1, level II, AQL 1.0) asks for code letter K on normal inspection: 125 sets,
    Ac 3, Re 4. Being in process it is not in the planner's order book."""
    pm = plant.actor("liu.yang")
    lot = lots.plan_lot(plant.s, pm, lot_number=AQL_LOT, quantity=3200, product=_product(plant))
    return lots.start_lot(plant.s, pm, lot, started_at=plant.at(1, 14))


def _product(plant):

    return plant.s.scalars(select(Product).where(Product.code == "IS-200")).one()


class _LotRunner:
    def __init__(self, plant):
        self.p = plant

    def run(self, number, item_code, qty, days_ago, consumption, *, made_qty=None, operator="zhang.wei",
            override=None, correction=None, transcribed_from=None):
        p = self.p
        pm, qa = p.actor("liu.yang"), p.actor("chen.jing")
        item = p.items[item_code]
        product = _product(p) if item.item_type == "finished_good" else None
        lot = lots.plan_lot(p.s, pm, lot_number=number, quantity=qty, product=product,
                            item=None if product else item)
        start = p.at(days_ago, 8)
        lots.start_lot(p.s, pm, lot, started_at=start)
        for comp_lot, amount, unit in consumption:
            lots.record_consumption(p.s, p.actor(operator), lot, comp_lot, quantity=amount, unit=unit,
                                    consumed_at=start + timedelta(minutes=20))
        rng = random.Random(zlib.crc32(number.encode()))
        end = start
        for op in lot.routing_revision.operations:
            begin = start + timedelta(days=_DAY_OF_OP.get(op.sequence, 0), hours=1 + op.sequence / 10)
            eq = op.equipment[0] if op.equipment else None
            tool = op.tooling[0] if op.tooling else None
            ex = records.start_operation(p.s, p.actor(operator), lot, op, operator=p.u[operator], equipment=eq,
                                         tooling=tool, started_at=begin, transcribed_from=transcribed_from)
            for param in op.parameters:
                for k in range(3 if param.critical else 1):
                    value = _value(rng, param)
                    if override and param.name in override and k == 1:
                        value = override[param.name]
                    if correction and param.name == correction[0] and k == 0:
                        wrong = records.record_measurement(
                            p.s, p.actor(operator), lot, param, value=correction[1], unit=param.unit,
                            measured_at=begin + timedelta(minutes=10), equipment=eq, execution=ex)
                        records.correct_measurement(p.s, p.actor(operator), wrong, value=correction[2],
                                                    reason=correction[3])
                        continue
                    records.record_measurement(p.s, p.actor(operator), lot, param, value=value, unit=param.unit,
                                               measured_at=begin + timedelta(minutes=10 + 15 * k), equipment=eq,
                                               execution=ex)
            for insp in op.inspection_items:
                measured = _inspection_value(rng, insp) if insp.kind == "variable" else None
                plan = inspection_plans.plan_for(p.s, insp, lot)  # an AQL item draws its plan's sample
                sample = plan.sample_size if plan else insp.sample_size
                records.record_inspection(p.s, qa, lot, insp, sample_size=sample, defects_found=0,
                                          measured_value=measured, unit=insp.unit, inspector=p.u["chen.jing"],
                                          inspected_at=begin + timedelta(minutes=40))
            hours = 4 if op.code == "EO" else 1
            end = begin + timedelta(hours=hours)
            records.finish_operation(p.s, p.actor(operator), ex, ended_at=end, quantity_good=made_qty or qty,
                                     quantity_scrap=0)
        lots.complete_lot(p.s, pm, lot, quantity_made=made_qty or qty, completed_at=end + timedelta(hours=1))
        return lot


def _value(rng: random.Random, param) -> float:
    lo = param.lcl if param.lcl is not None else param.lsl
    hi = param.ucl if param.ucl is not None else param.usl
    target = param.target if param.target is not None else (lo + hi) / 2
    spread = ((hi - lo) / 8) if lo is not None and hi is not None else abs(target) * 0.02 or 0.01
    value = rng.gauss(target, spread)
    if lo is not None:
        value = max(value, lo)
    if hi is not None:
        value = min(value, hi)
    return round(value, 3)


def _inspection_value(rng: random.Random, insp) -> float:
    if insp.lsl is not None and insp.usl is not None:
        return round(rng.uniform(insp.lsl + (insp.usl - insp.lsl) * 0.3, insp.usl - (insp.usl - insp.lsl) * 0.3), 3)
    if insp.lsl is not None:
        return round(insp.lsl * rng.uniform(1.4, 2.2), 2)
    return round(insp.usl * rng.uniform(0.1, 0.4), 2)
