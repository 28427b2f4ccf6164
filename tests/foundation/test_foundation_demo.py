"""The demo plant loads completely, once, and holds the stories other areas rely on."""
from datetime import datetime, timezone

from sqlalchemy import func, select

from audit.models import AuditEntry
from engine.demo import load_demo
from engine.masterdata import revisions
from engine.masterdata.models import BomLine, Equipment, Item, Product, RoutingOperation
from engine.production import lots as lot_uc
from engine.production.models import Lot, ParameterMeasurement, SupplierLot
from engine.users import ROLES, User, accounts
from engine.users.models import TrainingRecord
from audit.passwords import verify_password


def test_demo_plant_contents(demo_db):
    with demo_db.sessions() as s:
        users = s.scalars(select(User)).all()
        assert {r for u in users for r in u.roles} == set(ROLES)
        creds = demo_db.demo.credentials()
        zhao = accounts.get_user_by_name(s, "zhao.min")
        assert zhao.printed_name == "赵敏 / Zhao Min" and verify_password(zhao.password_hash, creds["zhao.min"].password)
        assert all(u.totp_secret for u in demo_db.demo.users)
        product = s.scalars(select(Product)).one()
        rev = revisions.get_effective_revision(s, product)
        assert rev.gtin == "06901234567892" and rev.sterile
        components = {ln.component.code for ln in s.scalars(select(BomLine))}
        assert len(components) >= 8
        fg_ops = s.scalars(select(RoutingOperation)).all()
        assert len([op for op in fg_ops if op.revision.master.code == "RT-IS200"]) >= 6
        today = datetime.now(timezone.utc).date()
        assert [e.code for e in s.scalars(select(Equipment)) if e.calibration_overdue(today)] == ["LT-01"]
        assert s.scalar(select(func.count()).select_from(SupplierLot)) == 11
        purchased = s.scalars(select(Item).where(Item.purchased.is_(True))).all()
        lot_items = {lot.item_id for lot in s.scalars(select(Lot))}
        assert all(i.id in lot_items for i in purchased)


def test_demo_lots_measurements_and_exceptions(demo_db):
    with demo_db.sessions() as s:
        lot2 = lot_uc.get_lot(s, "IS200-2610-002")
        assert lot2.status == "completed"
        oos = s.scalars(select(ParameterMeasurement).where(ParameterMeasurement.lot_id == lot2.id,
                                                           ParameterMeasurement.in_spec.is_(False))).all()
        assert [(m.parameter.name, m.value) for m in oos] == [("Pressure decay", 0.62)]
        lot1 = lot_uc.get_lot(s, "IS200-2609-001")
        assert lot1.status == "released" and 0 < lot1.quantity_approved < lot1.quantity_made
        assert lot1.manifest_sha256 == lot2.manifest_sha256 and len(lot1.manifest_sha256) == 64
        assert lot1.manifest["product"]["gtin"] == "06901234567892"
        corrected = s.scalars(select(ParameterMeasurement).where(ParameterMeasurement.supersedes_id.is_not(None))).one()
        assert corrected.supersedes.value == 6.1 and corrected.value == 61.0 and corrected.correction_reason
        # genealogy: the finished lot consumed subassembly lots that consumed supplier lots
        tube = next(c.component_lot for c in lot1.consumptions if c.component_lot.item.code == "SUB-TUBE")
        assert tube.consumptions[0].component_lot.supplier_lot is not None
        # Li Na ran lot 003 but is not trained on the effective SOP-001 revision
        li = accounts.get_user_by_name(s, "li.na")
        trained = {(t.document_revision.master.code, t.document_revision.label) for t in
                   s.scalars(select(TrainingRecord).where(TrainingRecord.user_id == li.id))}
        assert ("SOP-001", "A") in trained and ("SOP-001", "B") not in trained
        assert any(ex.operator_id == li.id for ex in lot_uc.get_lot(s, "IS200-2610-003").executions)


def test_demo_loads_once(demo_db):
    with demo_db.sessions.begin() as s:
        before = s.scalar(select(func.count()).select_from(AuditEntry))
        assert load_demo(s, demo_db.settings()) is None
    with demo_db.sessions() as s:
        assert s.scalar(select(func.count()).select_from(AuditEntry)) == before
        assert s.scalar(select(func.count()).select_from(Product)) == 1
