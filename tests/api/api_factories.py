"""Master data and a started lot for the measurement tests (plain functions that flush)."""
from __future__ import annotations

import uuid

from audit import Actor
from engine.masterdata import boms, catalog, revisions, routings
from engine.production import lots

ENGINEER = Actor(kind="system", id="tests", name="Test Suite")


def _release(session, rev):
    revisions.submit_for_review(session, ENGINEER, rev)
    return revisions.release(session, ENGINEER, rev, reason="validated for production")


def make_sealing_line(session) -> dict:
    """An item made by one sealing operation with a temperature parameter, and a started lot."""
    tag = uuid.uuid4().hex[:6].upper()
    pouch = catalog.create_item(session, ENGINEER, code=f"POUCH-{tag}", name="Pouch", item_type="finished_good",
                                base_unit="pcs", purchased=False)
    film = catalog.create_item(session, ENGINEER, code=f"FILM-{tag}", name="Film", item_type="raw_material",
                               base_unit="m", purchased=True)
    _, bom = catalog.create_bom(session, ENGINEER, code=f"BOM-{tag}", name="Pouch BOM", item=pouch)
    boms.add_line(session, ENGINEER, bom, component=film, quantity=0.3, unit="m")
    _release(session, bom)
    sealer = catalog.create_equipment(session, ENGINEER, code=f"SEALER-{tag}", name="Sealer")
    _, routing = catalog.create_routing(session, ENGINEER, code=f"RT-{tag}", name="Pouch routing", item=pouch)
    op = routings.add_operation(session, ENGINEER, routing, sequence=10, code="SEAL", name="Sealing",
                                work_centre="WC1", equipment=[sealer])
    routings.add_parameter(session, ENGINEER, op, name="Seal temperature", unit="degC", target=180,
                           lsl=170, usl=190, lcl=175, ucl=185)
    _release(session, routing)
    lot = lots.plan_lot(session, ENGINEER, lot_number=f"LOT-{tag}", quantity=100, item=pouch)
    lots.start_lot(session, ENGINEER, lot)
    return {"tag": tag, "lot": lot.lot_number, "routing": routing.master.code, "equipment": sealer.code,
            "operation": "SEAL", "parameter": "Seal temperature"}
