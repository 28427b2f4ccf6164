"""A small infusion-set plant with one released lot, built through the real use cases (flush only)."""
from __future__ import annotations

import datetime as dt

from audit import Actor
from audit.policy import signer_of
from audit.signatures import apply_signature, record_digest
from engine.masterdata import boms, catalog, revisions, routings
from engine.production import lots, records
from engine.users.accounts import actor_for, create_user

SYSTEM = Actor(kind="system", id="tests", name="Test Suite")
PASSWORD = "Correct-Horse-42-battery"


def _release(session, rev):
    revisions.submit_for_review(session, SYSTEM, rev)
    return revisions.release(session, SYSTEM, rev, reason="trace test plant")


def make_plant_lot(session, *, suffix: str = "") -> dict:
    """Released lot ``IV-2611-001{suffix}`` with a supplier component, a corrected out-of-limit value, a signature."""
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    op_user = create_user(session, SYSTEM, username=f"zhang.wei{suffix}", printed_name="张伟 Zhang Wei",
                          password=PASSWORD, roles=["operator"])
    qa = create_user(session, SYSTEM, username=f"li.na{suffix}", printed_name="李娜 Li Na", password=PASSWORD,
                     roles=["qa_manager"])
    fg = catalog.create_item(session, SYSTEM, code=f"FG-IV{suffix}", name="一次性使用输液器 Infusion set",
                             item_type="finished_good", base_unit="pcs")
    spike = catalog.create_item(session, SYSTEM, code=f"CP-SPIKE{suffix}", name="瓶塞穿刺器 Spike",
                                item_type="component", base_unit="pcs", purchased=True)
    tester = catalog.create_equipment(session, SYSTEM, code=f"EQ-LEAK{suffix}", name="泄漏测试仪 Leak tester",
                                      calibration_required=True, calibration_interval_days=365,
                                      last_calibrated_on=(now - dt.timedelta(days=30)).date())
    product, prev = catalog.create_product(session, SYSTEM, code=f"P-IV{suffix}", name="输液器 Infusion set", item=fg,
                                           gtin="09506000134352", udi_di="09506000134352", device_class="II",
                                           sterile=True, shelf_life_months=36)
    _release(session, prev)
    _, brev = catalog.create_bom(session, SYSTEM, code=f"BOM-IV{suffix}", name="Infusion set BOM", item=fg)
    boms.add_line(session, SYSTEM, brev, component=spike, quantity=1, unit="pcs")
    _release(session, brev)
    _, rrev = catalog.create_routing(session, SYSTEM, code=f"RT-IV{suffix}", name="Infusion set routing", item=fg)
    op = routings.add_operation(session, SYSTEM, rrev, sequence=10, code="LEAK", name="泄漏测试 Leak test",
                                work_centre="WC-TEST", qc_point=True, equipment=[tester])
    pressure = routings.add_parameter(session, SYSTEM, op, name="Test pressure 测试压力", unit="kPa", target=50,
                                      lsl=45, usl=55, critical=True)
    visual = routings.add_inspection_item(session, SYSTEM, op, name="Visual 外观", method="visual, 20 pcs",
                                          sample_size=20, acceptance_criteria="0 defects", accept_number=0)
    _release(session, rrev)
    comp = lots.receive_supplier_lot(session, SYSTEM, item=spike, lot_number=f"SP-2610-7{suffix}",
                                     supplier="宁波注塑 Ningbo Moulding", supplier_lot_number="NM-88812",
                                     quantity=500, unit="pcs", received_on=(now - dt.timedelta(days=20)).date(),
                                     certificate_ref="CoA-88812")
    lots.change_lot_status(session, SYSTEM, comp, "released", reason="incoming inspection passed",
                           quantity_approved=500)
    lot = lots.plan_lot(session, SYSTEM, lot_number=f"IV-2611-001{suffix}", quantity=100, product=product)
    lots.start_lot(session, SYSTEM, lot, started_at=now - dt.timedelta(hours=5))
    lots.record_consumption(session, SYSTEM, lot, comp, quantity=100, unit="pcs")
    actor = actor_for(op_user)
    ex = records.start_operation(session, actor, lot, op, operator=op_user, equipment=tester,
                                 started_at=now - dt.timedelta(hours=4))
    bad = records.record_measurement(session, actor, lot, pressure, value=58, execution=ex,
                                     measured_at=now - dt.timedelta(hours=3), equipment=tester)
    good = records.correct_measurement(session, actor_for(qa), bad, value=52,
                                       reason="transcription error: gauge read 52 kPa (photo attached)")
    records.record_inspection(session, actor, lot, visual, sample_size=20, defects_found=0, inspector=op_user,
                              inspected_at=now - dt.timedelta(hours=2))
    records.finish_operation(session, actor, ex, ended_at=now - dt.timedelta(hours=1), quantity_good=98,
                             quantity_scrap=2)
    lots.complete_lot(session, SYSTEM, lot, quantity_made=98, completed_at=now - dt.timedelta(minutes=30))
    lots.change_lot_status(session, actor_for(qa), lot, "released", reason="batch record reviewed",
                           quantity_approved=95)
    signature = apply_signature(session, signer_of(qa), meaning="released", record_type="lot",
                                record_id=lot.lot_number, digest=record_digest("lot", lot.lot_number, {"status": "released"}),
                                components="password+totp", signing_session_id=None, timecode=1)
    return {"lot": lot, "component": comp, "operator": op_user, "qa": qa, "bad": bad, "good": good,
            "signature": signature, "product": product, "equipment": tester}
