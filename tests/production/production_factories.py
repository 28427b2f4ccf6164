"""A tiny plant for production tests: one finished item, one component, a released BOM and routing."""
from datetime import datetime, timedelta, timezone

from audit import SYSTEM
from engine.db import utcnow
from engine.masterdata import boms, catalog, revisions, routings
from engine.production import lots
from engine.users import accounts, training


def utc_today():
    """Today in UTC, as the engine dates records (never the machine's local date)."""
    return datetime.now(timezone.utc).date()


def _release(session, rev):
    revisions.submit_for_review(session, SYSTEM, rev)
    revisions.release(session, SYSTEM, rev, reason="test")


MOTOR_GTIN = "04012345000016"


def make_plant(session, *, calibrated_days_ago=10, serialised_part=False):
    """``serialised_part``: the BOM also takes one MOTOR per set, a serialised purchased component."""
    op_user = accounts.create_user(session, SYSTEM, username="op1", printed_name="张伟 / Zhang Wei",
                                   password="Operator-pass-1", roles=["operator"])
    comp = catalog.create_item(session, SYSTEM, code="TUBE", name="Tubing", item_type="component", base_unit="m",
                               purchased=True)
    fg = catalog.create_item(session, SYSTEM, code="SET", name="Set", item_type="finished_good", base_unit="pcs")
    eq = catalog.create_equipment(session, SYSTEM, code="LT-01", name="Leak tester", calibration_required=True,
                                  calibration_interval_days=30,
                                  last_calibrated_on=utc_today() - timedelta(days=calibrated_days_ago))
    doc, doc_rev = catalog.create_document(session, SYSTEM, code="SOP-1", title="Leak test", doc_type="sop", body="…")
    _release(session, doc_rev)
    training.record_training(session, SYSTEM, op_user, doc_rev, trained_on=utc_today(), trainer="QA")
    _, bom_rev = catalog.create_bom(session, SYSTEM, code="BOM-SET", name="Set", item=fg)
    boms.add_line(session, SYSTEM, bom_rev, component=comp, quantity=1500, unit="mm")
    motor = None
    if serialised_part:
        motor = catalog.create_item(session, SYSTEM, code="MOTOR", name="Pump motor", item_type="component",
                                    base_unit="pcs", purchased=True, gtin=MOTOR_GTIN, serialised=True)
        boms.add_line(session, SYSTEM, bom_rev, component=motor, quantity=1, unit="pcs")
    _release(session, bom_rev)
    _, rt = catalog.create_routing(session, SYSTEM, code="RT-SET", name="Set", item=fg)
    op = routings.add_operation(session, SYSTEM, rt, sequence=10, code="LEAK", name="Leak test", equipment=[eq],
                                documents=[(doc, "sop")], qc_point=True)
    routings.add_parameter(session, SYSTEM, op, name="Pressure decay", unit="kPa", target=0.1, lsl=0, usl=0.5)
    routings.add_inspection_item(session, SYSTEM, op, name="Leaks", method="pressure decay", sample_size=10,
                                 acceptance_criteria="no leak", accept_number=0)
    _release(session, rt)
    product, prod_rev = catalog.create_product(session, SYSTEM, code="P-SET", name="Set", item=fg,
                                               gtin="06901234567892")
    _release(session, prod_rev)
    supplier_lot = lots.receive_supplier_lot(session, SYSTEM, item=comp, lot_number="R-1", supplier="ACME",
                                             supplier_lot_number="A-77", quantity=100, unit="m",
                                             received_on=utc_today())
    return dict(user=op_user, comp=comp, fg=fg, eq=eq, doc=doc, product=product, op=op, routing=rt,
                supplier_lot=supplier_lot, motor=motor, now=utcnow())
