"""A small, fully consistent plant for the quality-process tests.

A pump (registered class III, sterile) made from a tube (made in-house from resin) and a bought
housing. Routing RT-PUMP: 10 ASSY on the press (SOP-ASSY, press_force 90–110 N, critical),
20 TEST on the leak tester (leak_rate ≤ 0.5, visual inspection). Lot P-001 is completed with a
clean record: every operation done, values in limits, inspections passed, equipment calibrated,
operator trained, components released. P-002 is in process and P-003 planned on the same
revisions.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone

from audit import Actor
from audit.passwords import hash_password
from engine.masterdata.models import (
    Bom, BomLine, BomRevision, Document, DocumentRevision, Equipment, InspectionItem, Item, OperationDocument,
    OperationEquipment, OperationParameter, Product, ProductRevision, Routing, RoutingOperation, RoutingRevision,
)
from engine.production.models import (
    InspectionResult, Lot, MaterialConsumption, OperationExecution, ParameterMeasurement,
)
from engine.users.models import TrainingRecord, User, UserRole

PASSWORD = "Correct-Horse-42"
_HASH = None


def password_hash() -> str:
    global _HASH
    if _HASH is None:
        _HASH = hash_password(PASSWORD)
    return _HASH


def make_user(session, username: str, *roles: str) -> User:
    user = User(username=username, printed_name=username.replace("_", " ").title(), password_hash=password_hash(),
                must_change_password=False, locale="en", timezone="UTC")
    user.role_rows = [UserRole(role=r) for r in roles]
    session.add(user)
    session.flush()
    return user


def actor_of(user: User) -> Actor:
    return Actor(kind="user", id=str(user.id), name=user.printed_name)


def release(session, rev, *, effective_from: datetime) -> None:
    """draft → in_review → released, flushing between (the flush guard checks each step)."""
    session.add(rev)
    session.flush()
    rev.state = "in_review"
    session.flush()
    rev.state, rev.effective_from, rev.released_at = "released", effective_from, effective_from
    session.flush()


@dataclass
class Plant:
    users: dict[str, User] = field(default_factory=dict)
    items: dict[str, Item] = field(default_factory=dict)
    equipment: dict[str, Equipment] = field(default_factory=dict)
    lots: dict[str, Lot] = field(default_factory=dict)
    ops: dict[str, RoutingOperation] = field(default_factory=dict)
    params: dict[str, OperationParameter] = field(default_factory=dict)
    product: Product | None = None
    product_rev: ProductRevision | None = None
    bom_pump: Bom | None = None
    bom_tube: Bom | None = None
    routing: Routing | None = None
    routing_rev: RoutingRevision | None = None
    sop: Document | None = None
    sop_rev: DocumentRevision | None = None
    work_day: date | None = None

    def actor(self, name: str) -> Actor:
        return actor_of(self.users[name])


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=timezone.utc)


def build_plant(session) -> Plant:
    p = Plant()
    today = datetime.now(timezone.utc).date()
    p.work_day = today - timedelta(days=3)
    since = at(today - timedelta(days=200), 0)
    for name, roles in (("op_li", ("operator",)), ("pe_wang", ("process_engineer",)), ("pe_xu", ("process_engineer",)),
                        ("qa_zhao", ("qa_engineer",)), ("qm_chen", ("qa_manager",)),
                        ("pm_liu", ("production_manager",)), ("ra_sun", ("regulatory",))):
        p.users[name] = make_user(session, name, *roles)
    for code, kind, purchased, unit in (("PUMP-100", "finished_good", False, "pcs"),
                                        ("TUBE-01", "subassembly", False, "pcs"),
                                        ("HSG-01", "component", True, "pcs"),
                                        ("RESIN-01", "raw_material", True, "kg")):
        p.items[code] = Item(code=code, name=code.title(), item_type=kind, base_unit=unit, purchased=purchased)
        session.add(p.items[code])
    for code, name in (("EQ-PRESS", "Assembly press"), ("EQ-LEAK", "Leak tester"), ("EQ-EXTR", "Extruder")):
        p.equipment[code] = Equipment(code=code, name=name, calibration_required=True, calibration_interval_days=365,
                                      last_calibrated_on=today - timedelta(days=30),
                                      calibration_due_on=today + timedelta(days=335))
        session.add(p.equipment[code])
    session.flush()

    p.product = Product(code="PUMP", name="Infusion pump set", item_id=p.items["PUMP-100"].id)
    session.add(p.product)
    session.flush()
    p.product_rev = ProductRevision(product_id=p.product.id, label="A", gtin="06901234567892", device_class="III",
                                    sterile=True, sterilisation_method="EO",
                                    registration_number="国械注准20263140001")
    release(session, p.product_rev, effective_from=since)

    p.bom_tube = Bom(code="BOM-TUBE", name="Tube", item_id=p.items["TUBE-01"].id)
    p.bom_pump = Bom(code="BOM-PUMP", name="Pump", item_id=p.items["PUMP-100"].id)
    session.add_all([p.bom_tube, p.bom_pump])
    session.flush()
    tube_a = BomRevision(bom_id=p.bom_tube.id, label="A")
    tube_a.lines = [BomLine(position=10, component_id=p.items["RESIN-01"].id, quantity=0.05, unit="kg")]
    release(session, tube_a, effective_from=since)
    pump_a = BomRevision(bom_id=p.bom_pump.id, label="A")
    pump_a.lines = [BomLine(position=10, component_id=p.items["TUBE-01"].id, quantity=2, unit="pcs"),
                    BomLine(position=20, component_id=p.items["HSG-01"].id, quantity=1, unit="pcs")]
    release(session, pump_a, effective_from=since)

    p.sop = Document(code="SOP-ASSY", title="Pump assembly", doc_type="sop")
    session.add(p.sop)
    session.flush()
    p.sop_rev = DocumentRevision(document_id=p.sop.id, label="A", title="Pump assembly", body="Assemble.")
    release(session, p.sop_rev, effective_from=since)
    session.add(TrainingRecord(user_id=p.users["op_li"].id, document_revision_id=p.sop_rev.id,
                               trained_on=since.date() + timedelta(days=1), trainer="QA"))

    p.routing = Routing(code="RT-PUMP", name="Pump routing", item_id=p.items["PUMP-100"].id)
    session.add(p.routing)
    session.flush()
    p.routing_rev = RoutingRevision(routing_id=p.routing.id, label="A")
    assy = RoutingOperation(sequence=10, code="ASSY", name="Assemble", work_centre="WC1")
    assy.equipment_links = [OperationEquipment(equipment_id=p.equipment["EQ-PRESS"].id)]
    assy.document_links = [OperationDocument(document_id=p.sop.id, purpose="sop")]
    assy.parameters = [OperationParameter(name="press_force", unit="N", target=100, lsl=90, usl=110, critical=True)]
    test = RoutingOperation(sequence=20, code="TEST", name="Leak test", work_centre="WC2", qc_point=True)
    test.equipment_links = [OperationEquipment(equipment_id=p.equipment["EQ-LEAK"].id)]
    test.parameters = [OperationParameter(name="leak_rate", unit="mL/min", usl=0.5)]
    test.inspection_items = [InspectionItem(name="visual", kind="attribute", method="Visual check",
                                            sample_size=5, acceptance_criteria="no defects", accept_number=0)]
    p.routing_rev.operations = [assy, test]
    release(session, p.routing_rev, effective_from=since)
    p.ops = {"ASSY": assy, "TEST": test}
    p.params = {"press_force": assy.parameters[0], "leak_rate": test.parameters[0]}

    _lots(session, p, pump_a)
    session.flush()
    return p


def _lots(session, p: Plant, pump_bom_rev: BomRevision) -> None:
    day = p.work_day
    p.lots["T-001"] = Lot(lot_number="T-001", item_id=p.items["TUBE-01"].id, status="released", unit="pcs",
                          quantity_made=100, quantity_approved=100)
    p.lots["H-001"] = Lot(lot_number="H-001", item_id=p.items["HSG-01"].id, source="purchased", status="released",
                          unit="pcs", quantity_made=50, quantity_approved=50)
    for number, status in (("P-001", "completed"), ("P-002", "in_process"), ("P-003", "planned")):
        p.lots[number] = Lot(lot_number=number, item_id=p.items["PUMP-100"].id, product_id=p.product.id,
                             product_revision_id=p.product_rev.id, bom_revision_id=pump_bom_rev.id,
                             routing_revision_id=p.routing_rev.id, status=status, unit="pcs", quantity_planned=10,
                             quantity_made=10 if status == "completed" else 0)
    session.add_all(p.lots.values())
    session.flush()
    lot = p.lots["P-001"]
    session.add_all([
        MaterialConsumption(parent_lot_id=lot.id, component_lot_id=p.lots["T-001"].id, quantity=20, unit="pcs"),
        MaterialConsumption(parent_lot_id=lot.id, component_lot_id=p.lots["H-001"].id, quantity=10, unit="pcs"),
    ])
    op = p.users["op_li"]
    for code, eq, hour in (("ASSY", "EQ-PRESS", 8), ("TEST", "EQ-LEAK", 10)):
        ex = OperationExecution(lot_id=lot.id, routing_operation_id=p.ops[code].id, operator_id=op.id,
                                equipment_id=p.equipment[eq].id, started_at=at(day, hour),
                                ended_at=at(day, hour + 1), quantity_good=10, quantity_scrap=0)
        session.add(ex)
        session.flush()
        if code == "ASSY":
            add_measurement(session, p, "press_force", 101.5, at(day, hour, 30), execution=ex)
        else:
            add_measurement(session, p, "leak_rate", 0.2, at(day, hour, 30), execution=ex)
            session.add(InspectionResult(lot_id=lot.id, inspection_item_id=p.ops["TEST"].inspection_items[0].id,
                                         sample_size=5, defects_found=0, result="pass", inspected_at=at(day, hour, 40),
                                         inspector_id=p.users["qa_zhao"].id, recorded_at=at(day, hour, 45)))


def add_measurement(session, p: Plant, param: str, value: float, when: datetime, *, lot: str = "P-001",
                    execution=None, recorded_at: datetime | None = None, supersedes=None,
                    reason: str | None = None) -> ParameterMeasurement:
    prm = p.params[param]
    m = ParameterMeasurement(lot_id=p.lots[lot].id, parameter_id=prm.id, execution_id=execution.id if execution else None,
                             value=value, unit=prm.unit, in_spec=prm.in_spec(value), measured_at=when,
                             recorded_at=recorded_at or when + timedelta(minutes=2),
                             recorded_by_id=p.users["op_li"].id, supersedes_id=supersedes.id if supersedes else None,
                             correction_reason=reason)
    session.add(m)
    session.flush()
    return m
