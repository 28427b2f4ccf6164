"""The demo plant: a sterile single-use infusion set (IS-200) made in a small cleanroom plant.

``load_demo(session, settings)`` loads it once (it returns None when the plant is already
there): users for every role with generated passwords and enrolled authenticators, items with
supplier lots, a two-level BOM, three routings with parameters and limits, equipment (the leak
tester is overdue for calibration), SOPs with revisions, training records, and lots with
measurements — lot IS200-2610-002 has a pressure-decay value above its USL; Li Na is not
trained on SOP-001 rev B (cleanroom gowning, which the Cleanroom A operations follow), the
effective revision, yet ran lot IS200-2610-003 (transcribed from its paper batch record): on the
live floor the interlocks refuse her, and the overdue leak tester LT-01, today. Lot IS200-2611-006
(3,200 sets, in process) shows the ISO 2859-1 plan of the visual inspection at PULL (level II,
AQL 1.0: code letter K, 125 sets, Ac 3, Re 4).

Every write goes through the engine's use cases, so the demo's audit trail is a real one.
Dates are relative to the day of loading.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from audit import SYSTEM
from audit.enrollment import begin_enrollment, confirm_enrollment
from audit.policy import SigningPolicy
from audit.totp import totp
from engine.demo.drift_history import run_drift_history
from engine.demo.lot_history import run_production
from engine.demo.planning_demo import plan_demo
from engine.demo.plant_data import LUER_GTIN, DEMO_PRODUCT, ITEMS, USERS
from engine.demo.routing_data import ROUTINGS
from engine.governance.profile_revisions import install_shipped
from engine.masterdata import boms, catalog, revisions, routings
from engine.masterdata.models import Item, Product
from engine.production import lots, records
from engine.users import accounts, training



@dataclass
class DemoUser:
    username: str
    printed_name: str
    roles: list[str]
    password: str
    totp_secret: str | None = None


@dataclass
class DemoResult:
    users: list[DemoUser] = field(default_factory=list)
    lots: list[str] = field(default_factory=list)

    def credentials(self) -> dict[str, DemoUser]:
        return {u.username: u for u in self.users}


def is_loaded(session: Session) -> bool:
    """True when the demo plant is in this database."""
    return session.scalars(select(Product.id).where(Product.code == DEMO_PRODUCT)).first() is not None


def load_demo(session: Session, settings, *, today: date | None = None, enroll_totp: bool = True) -> DemoResult | None:
    """Load the demo plant in the caller's transaction; None when it is already loaded."""
    if is_loaded(session):
        return None
    plant = _Plant(session, today or datetime.now(timezone.utc).date())
    result = DemoResult()
    result.users = plant.users(settings if enroll_totp else None)
    plant.documents()
    plant.equipment()
    plant.master_data()
    result.lots = plant.production()
    result.lots += run_drift_history(plant)
    result.lots += plan_demo(plant)
    install_shipped(session, SYSTEM)  # as `sealtrail init` does; a no-op when they are installed
    return result


class _Plant:
    def __init__(self, session: Session, today: date):
        self.s = session
        self.today = today
        self.u: dict = {}
        self.items: dict[str, Item] = {}
        self.docs: dict = {}
        self.eq: dict = {}
        self.tools: dict = {}
        self.supplier_lots: dict[str, object] = {}

    def at(self, days_ago: int, hour: int = 9, minute: int = 0) -> datetime:
        """Shanghai working hours ``days_ago`` days before today, as UTC."""
        local = datetime.combine(self.today - timedelta(days=days_ago), time(hour, minute))
        return (local - timedelta(hours=8)).replace(tzinfo=timezone.utc)

    def actor(self, username: str):
        return accounts.actor_for(self.u[username])

    # ---------------------------------------------------------------- users
    def users(self, settings) -> list[DemoUser]:
        out = []
        for username, printed, roles, locale in USERS:
            password = f"{username.split('.')[0].capitalize()}-{secrets.token_hex(4)}"
            user = accounts.create_user(self.s, SYSTEM, username=username, printed_name=printed, password=password,
                                        roles=roles, locale=locale, email=f"{username}@demo.sealtrail.invalid",
                                        timezone="Europe/Berlin" if locale == "en" else "Asia/Shanghai",
                                        must_change_password=False)
            self.u[username] = user
            out.append(DemoUser(username, printed, roles, password,
                                _enroll(self.s, user, password, settings) if settings is not None else None))
        return out

    # ------------------------------------------------------------ documents
    def documents(self) -> None:
        pe, qa = self.actor("wang.fang"), self.actor("zhao.min")
        specs = [
            ("SOP-001", "Cleanroom gowning and line clearance", "sop", 400,
             "1. Gown per ISO 14644 class 7 rules. 2. Remove all material of the previous lot. "
             "3. Wipe work surfaces with 70 % IPA. 4. Second person verifies the clearance."),
            ("SOP-002", "UV bonding of tubing joints", "sop", 300,
             "1. Check the UV intensity with the radiometer at shift start (50-70 mW/cm²). 2. Dispense adhesive. "
             "3. Insert the tubing 6.0 ± 0.5 mm. 4. Cure 8 s."),
            ("SOP-003", "Leak testing of infusion sets", "sop", 300,
             "1. Connect the set to the leak tester. 2. Pressurise to 50 kPa. 3. Hold 10 s; reject when the "
             "decay exceeds 0.5 kPa."),
            ("PC-IS200", "Process card IS-200 final assembly", "process_card", 300,
             "Operation sequence 10-70 for the IS-200 infusion set; parameters per routing RT-IS200."),
        ]
        for code, title, kind, days, body in specs:
            doc, rev = catalog.create_document(self.s, pe, code=code, title=title, doc_type=kind, body=body)
            revisions.submit_for_review(self.s, pe, rev)
            revisions.release(self.s, qa, rev, effective_from=self.at(days), reason="initial issue approved")
            self.docs[code] = doc
        # SOP-001 rev B: a second-person verification of the clearance became mandatory
        rev_b = revisions.new_draft(self.s, pe, self.docs["SOP-001"], change_summary="second-person verification",
                                    change_ref="ECO-2026-014")
        revisions.edit_draft(self.s, pe, rev_b, body=rev_b.body + " 5. Record the clearance on form F-001-2.")
        revisions.submit_for_review(self.s, pe, rev_b)
        revisions.release(self.s, qa, rev_b, effective_from=self.at(100), reason="ECO-2026-014 approved")
        # SOP-003 rev B in review: tighter decay limit proposed
        rev = revisions.new_draft(self.s, pe, self.docs["SOP-003"], change_summary="decay limit 0.4 kPa",
                                  change_ref="ECO-2026-031")
        revisions.edit_draft(self.s, pe, rev, body=rev.body.replace("0.5 kPa", "0.4 kPa"))
        revisions.submit_for_review(self.s, pe, rev)
        # training: everyone trained on the effective SOPs except Li Na on SOP-001 rev B
        admin = self.actor("admin")
        for code, doc in self.docs.items():
            for rev in doc.revisions:
                if rev.state == "in_review":
                    continue
                for name in ("zhang.wei", "li.na", "wang.fang", "chen.jing"):
                    if name == "li.na" and code == "SOP-001" and rev.label == "B":
                        continue
                    day = (rev.effective_from - timedelta(days=3)).date()
                    training.record_training(self.s, admin, self.u[name], rev, trained_on=day, trainer="王芳 / Wang Fang")

    # ------------------------------------------------------------ equipment
    def equipment(self) -> None:
        pe, qa = self.actor("wang.fang"), self.actor("chen.jing")
        t = self.today
        specs = [  # code, name, type, work centre, calibration interval, last calibrated, maintenance interval
            ("EXT-01", "Tubing extruder Ø45 mm, 3 barrel zones", "extruder", "Extrusion", 365, t - timedelta(200), 90),
            ("UV-01", "UV curing station (365 nm) — subassembly", "uv_curing", "Cleanroom A", 180, t - timedelta(60), 30),
            ("UV-02", "UV curing station (365 nm) — final assembly", "uv_curing", "Cleanroom A", 180, t - timedelta(45), 30),
            ("LT-01", "Pressure-decay leak tester", "leak_tester", "Cleanroom A", 180, t - timedelta(190), 90),
            ("TT-01", "Tensile tester 500 N", "tensile_tester", "QC lab", 365, t - timedelta(120), 180),
            ("SEAL-01", "Pouch sealer, band type", "sealer", "Packaging", 180, t - timedelta(30), 30),
            ("EO-01", "EO sterilizer 10 m³", "eo_sterilizer", "Sterilisation", 365, t - timedelta(150), 90),
        ]
        for code, name, kind, wc, cal_days, last_cal, maint_days in specs:
            eq = catalog.create_equipment(self.s, pe, code=code, name=name, equipment_type=kind, work_centre=wc,
                                          calibration_required=True, calibration_interval_days=cal_days,
                                          last_calibrated_on=last_cal, maintenance_interval_days=maint_days,
                                          last_maintained_on=t - timedelta(days=min(20, maint_days - 5)))
            self.eq[code] = eq
            self._history(eq, qa, last_cal - timedelta(days=cal_days), maint_days)
            records.log_equipment_event(self.s, qa, eq, kind="calibration", result="pass",
                                        performed_at=datetime.combine(last_cal, time(2), tzinfo=timezone.utc),
                                        performed_by="Shanghai Institute of Measurement and Testing Technology",
                                        certificate_ref=f"CAL-{code}-{last_cal:%Y%m%d}",
                                        description="annual calibration" if cal_days == 365 else "calibration")
        records.log_equipment_event(self.s, qa, self.eq["SEAL-01"], kind="breakdown", performed_at=self.at(75, 14),
                                    performed_by="刘洋 / Liu Yang", description="heater band failed")
        records.log_equipment_event(self.s, qa, self.eq["SEAL-01"], kind="repair", result="pass",
                                    performed_at=self.at(74, 10), performed_by="Maintenance",
                                    description="heater band replaced; seal strength re-verified")
        old = catalog.create_equipment(self.s, pe, code="UV-00", name="UV lamp station (retired)",
                                       equipment_type="uv_curing", work_centre="Cleanroom A")
        catalog.set_equipment_status(self.s, pe, old, "obsolete", reason="replaced by UV-01/UV-02")
        for code, name in (("FIX-ASM-01", "Assembly fixture IS-200"), ("DIE-T30", "Extrusion die Ø3.0/4.1 mm")):
            self.tools[code] = catalog.create_tooling(self.s, pe, code=code, name=name, life_cycles=500000)

    # ---------------------------------------------------------- master data
    def _history(self, eq, qa, previous_cal: date, maint_days: int) -> None:
        """The calibration before the last one and the maintenance done on schedule (release reviews
        check the equipment was within calibration and maintenance on each date of use)."""
        records.log_equipment_event(self.s, qa, eq, kind="calibration", result="pass",
                                    performed_at=datetime.combine(previous_cal, time(2), tzinfo=timezone.utc),
                                    performed_by="Shanghai Institute of Measurement and Testing Technology",
                                    certificate_ref=f"CAL-{eq.code}-{previous_cal:%Y%m%d}", description="calibration")
        last = eq.last_maintained_on
        for n in range(150 // maint_days + 1, -1, -1):  # oldest first; the last one is the plan's date
            day = last - timedelta(days=n * maint_days)
            records.log_equipment_event(self.s, qa, eq, kind="maintenance", result="pass",
                                        performed_at=datetime.combine(day, time(1), tzinfo=timezone.utc),
                                        performed_by="Maintenance", description="preventive maintenance")

    def master_data(self) -> None:
        pe, qa = self.actor("wang.fang"), self.actor("zhao.min")
        for code, name, kind, unit, *_ in ITEMS:
            self.items[code] = catalog.create_item(self.s, pe, code=code, name=name, item_type=kind, base_unit=unit,
                                                   purchased=True)
        for code, name, kind, unit in (("SUB-TUBE", "Extruded PVC tubing Ø3.0 × 4.1 mm", "subassembly", "m"),
                                       ("SUB-DRIP", "Spike / drip chamber assembly", "subassembly", "pcs"),
                                       ("FG-IS200", "Infusion set IS-200, sterile, single use", "finished_good", "pcs")):
            self.items[code] = catalog.create_item(self.s, pe, code=code, name=name, item_type=kind, base_unit=unit)
        # The luer-lock connector's maker marks each unit with its GTIN and a serial (AI 21): it is
        # traced per infusion set (engine.trace.component_serials).
        catalog.update_item(self.s, pe, self.items["CMP-LUER"], gtin=LUER_GTIN, serialised=True,
                            reason="supplier marks each connector with a GS1 serial; traced per set (#18)")
        effective = self.at(200)
        i = self.items

        def bom(item, lines):
            _, rev = catalog.create_bom(self.s, pe, code=f"BOM-{item.split('-', 1)[1]}", name=i[item].name, item=i[item])
            for comp, qty, unit in lines:
                boms.add_line(self.s, pe, rev, component=i[comp], quantity=qty, unit=unit)
            self._release(rev, qa, effective)

        bom("SUB-TUBE", [("RM-PVC", 7.7, "g")])  # per metre: 6.13 mm² × 1.25 g/cm³
        bom("SUB-DRIP", [("CMP-SPIKE", 1, "pcs"), ("CMP-DRIP", 1, "pcs"), ("CMP-FILTER", 1, "pcs"),
                         ("RM-UVADH", 50, "mg")])
        bom("FG-IS200", [("SUB-DRIP", 1, "pcs"), ("SUB-TUBE", 1500, "mm"), ("CMP-CLAMP", 1, "pcs"),
                         ("CMP-LUER", 1, "pcs"), ("CMP-CAP", 1, "pcs"), ("CMP-NEEDLE", 1, "pcs"),
                         ("RM-UVADH", 80, "mg"), ("PKG-POUCH", 1, "pcs"), ("PKG-LABEL", 1, "pcs")])
        for item_code, ops in ROUTINGS.items():
            _, rev = catalog.create_routing(self.s, pe, code=f"RT-{item_code.split('-', 1)[1]}", name=i[item_code].name,
                                            item=i[item_code])
            for op in ops:
                created = routings.add_operation(
                    self.s, pe, rev, sequence=op["seq"], code=op["code"], name=op["name"], work_centre=op["wc"],
                    qc_point=op.get("qc", False), equipment=[self.eq[c] for c in op.get("equipment", ())],
                    tooling=[self.tools[c] for c in op.get("tooling", ())],
                    documents=[(self.docs[c], p) for c, p in op.get("docs", ())],
                    setup_minutes=op.get("setup", 0), run_minutes_per_unit=op.get("per_unit", 0))
                for p in op.get("params", ()):
                    routings.add_parameter(self.s, pe, created, **p)
                for insp in op.get("inspections", ()):
                    routings.add_inspection_item(self.s, pe, created, **insp)
            self._release(rev, qa, effective)
        product, rev = catalog.create_product(
            self.s, pe, code=DEMO_PRODUCT, name="Infusion set IS-200 (gravity, 20 drops/mL)", item=i["FG-IS200"],
            description="Sterile single-use gravity infusion set with 21G needle, EO sterilised",
            gtin="06901234567892", device_class="II", sterile=True, sterilisation_method="EO",
            shelf_life_months=36, registration_number="国械注准20263140001")
        self._release(rev, qa, effective)

    def _release(self, rev, qa, effective) -> None:
        revisions.submit_for_review(self.s, self.actor("wang.fang"), rev)
        revisions.release(self.s, qa, rev, effective_from=effective, reason="initial release")

    # ----------------------------------------------------------- production
    def production(self) -> list[str]:
        return run_production(self)


def _enroll(session: Session, user, password: str, settings) -> str:
    """Enroll a TOTP authenticator for a demo user and confirm it; returns the secret (shown once)."""
    policy = SigningPolicy.from_settings(settings)
    enrollment = begin_enrollment(session, user, policy=policy)
    # confirm with the previous time-step's code so the current one stays usable for a first signing
    code = totp(enrollment.secret).at(datetime.now(timezone.utc) - timedelta(seconds=30))
    confirm_enrollment(session, user, enrollment.credential_id, password=password, code=code, policy=policy)
    return enrollment.secret
