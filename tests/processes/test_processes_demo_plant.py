"""The processes on the demo plant: what `sealtrail demo` leaves waiting, and the branches that matter."""
from __future__ import annotations

import datetime as dt

import pyotp
import pytest
from sqlalchemy import select

from audit.policy import SigningPolicy
from engine.errors import Forbidden, RuleViolation
from engine.masterdata.models import Equipment
from engine.demo.quality_instances import start_demo_processes
from engine.processes.deviations import open_deviation
from engine.processes.release import request_release
from engine.processes.release_checks import exceptions_for
from engine.production import lots as lot_uc
from engine.production import inspection_plans, records
from engine.users import accounts
from engine.workflows import actor_of, complete_task, deploy_all_shipped, get_instance, visible_tasks, open_tasks, workflow_data

UTC = dt.timezone.utc


class DemoSigner:
    """Signs as the demo's people with the passwords and authenticators the demo created."""

    def __init__(self, demo_db, session):
        self.s = session
        self.creds = demo_db.demo.credentials()
        self.now = dt.datetime.now(UTC).replace(microsecond=0)
        self.policy = SigningPolicy.from_settings(demo_db.settings(), clock=lambda: self.now)

    def user(self, name):
        return accounts.get_user_by_name(self.s, name)

    def complete(self, iid, task, who, data):
        row = next((t for t in open_tasks(self.s, iid) if t.spec_name == task), None)
        assert row is not None, f"{task} not ready: {[t.spec_name for t in open_tasks(self.s, iid)]}"
        self.now += dt.timedelta(seconds=30)
        c = self.creds[who]
        return complete_task(self.s, user=self.user(who), task_id=row.id, data=data, password=c.password,
                             totp_code=pyotp.TOTP(c.totp_secret).at(self.now), policy=self.policy)


def _value(lsl, target, usl):
    if target is not None:
        return target
    if lsl is not None and usl is not None:
        return (lsl + usl) / 2
    return lsl * 1.5 if lsl is not None else usl / 2


def _run_live_lot(s, *, oos: str | None = None, leak_tester_recalibrated: bool = True):
    """Make planned lot IS200-2611-004 now, contemporaneously, by the book (one value off when ``oos``)."""
    pm, qa = actor_of(accounts.get_user_by_name(s, "liu.yang")), actor_of(accounts.get_user_by_name(s, "chen.jing"))
    operator = accounts.get_user_by_name(s, "zhang.wei")
    inspector = accounts.get_user_by_name(s, "chen.jing")
    now = dt.datetime.now(UTC)
    lt01 = s.scalar(select(Equipment).where(Equipment.code == "LT-01"))
    if leak_tester_recalibrated:
        records.log_equipment_event(s, qa, lt01, kind="calibration", result="pass", performed_at=now - dt.timedelta(hours=3),
                                    performed_by="Shanghai Institute of Measurement", certificate_ref="CAL-LT-01-NEW")
    lot = lot_uc.get_lot(s, "IS200-2611-004")
    lot_uc.start_lot(s, pm, lot, started_at=now - dt.timedelta(hours=2))
    at = now - dt.timedelta(hours=2)
    for op in lot.routing_revision.operations:
        at += dt.timedelta(minutes=5)
        equipment = op.equipment[0] if op.equipment else None
        tooling = op.tooling[0] if op.tooling else None
        # An operation on overdue equipment cannot be started; a record transcribed from paper can exist.
        paper = "paper record" if equipment is not None and not equipment.usable_on(at.date()) else None
        ex = records.start_operation(s, pm, lot, op, operator=operator, equipment=equipment, tooling=tooling,
                                     started_at=at, transcribed_from=paper)
        for p in op.parameters:
            value = p.usl + 0.2 if p.name == oos else _value(p.lsl, p.target, p.usl)
            records.record_measurement(s, pm, lot, p, value=value, measured_at=at + dt.timedelta(minutes=1),
                                       execution=ex, equipment=equipment)
        for item in op.inspection_items:
            measured = _value(item.lsl, None, item.usl) if item.kind == "variable" else None
            plan = inspection_plans.plan_for(s, item, lot)  # an AQL item: the plan's sample
            records.record_inspection(s, qa, lot, item, sample_size=plan.sample_size if plan else item.sample_size,
                                      measured_value=measured, unit=item.unit,
                                      inspected_at=at + dt.timedelta(minutes=2), inspector=inspector)
        if ex.ended_at is None:
            records.finish_operation(s, pm, ex, ended_at=at + dt.timedelta(minutes=4), quantity_good=500)
    lot_uc.complete_lot(s, pm, lot, quantity_made=500, completed_at=now - dt.timedelta(minutes=1))
    return lot


def test_demo_leaves_one_instance_of_each_process_in_an_inbox(demo_db):
    with demo_db.sessions.begin() as s:
        started = start_demo_processes(s, demo_db.settings(), demo_db.demo)
        [assess] = open_tasks(s, started["change_control"])
        author = accounts.get_user_by_name(s, "wang.fang")  # submitted the demo change request
        creds = demo_db.demo.credentials()["wang.fang"]
        with pytest.raises(Forbidden, match="segregation of duties"):  # issue #20, item 11
            complete_task(s, user=author, task_id=assess.id, data={}, password=creds.password,
                          totp_code=pyotp.TOTP(creds.totp_secret).now(),
                          policy=SigningPolicy.from_settings(demo_db.settings()))
        assert "process_engineer" in accounts.get_user_by_name(s, "xu.ming").roles  # who may assess it
        expected = {"batch_release": ("review_release_exceptions", "qa_engineer"),
                    "deviation": ("triage_deviation", "qa_engineer"),
                    "capa": ("describe_capa", "qa_engineer"),
                    "audit_review": ("review_audit_trail", "qa_engineer"),
                    "change_control": ("assess_change", "process_engineer")}
        assert set(started) == set(expected)
        for process, (task, lane) in expected.items():
            assert [(t.spec_name, t.lane) for t in open_tasks(s, started[process])] == [(task, lane)], process
        assert {t.process_id for t in visible_tasks(s, accounts.get_user_by_name(s, "chen.jing"))} >= {
            "batch_release", "deviation", "capa", "audit_review"}
        change = workflow_data(s, get_instance(s, started["change_control"]))["change"]
        assert change["impact"]["products"][0]["code"] == "IS-200"
        assert change["flags"]["validation_required"]


def test_live_lot_with_one_out_of_limit_value_shows_exactly_that_exception(demo_db):
    with demo_db.sessions.begin() as s:
        lot = _run_live_lot(s, oos="Pressure decay")
        assert [e["key"].rsplit(":", 1)[0] for e in exceptions_for(s, lot)["exceptions"]] == [
            "parameter_limits:LEAK/Pressure decay"]


def test_live_lot_on_the_overdue_leak_tester_shows_exactly_that_exception(demo_db):
    with demo_db.sessions.begin() as s:
        lot = _run_live_lot(s, leak_tester_recalibrated=False)
        assert [e["key"] for e in exceptions_for(s, lot)["exceptions"]] == ["equipment:calibration:LT-01"]


def test_demo_lot_on_hold_cannot_be_released_until_its_disposition(demo_db):
    with demo_db.sessions.begin() as s:
        sign = DemoSigner(demo_db, s)
        assert not deploy_all_shipped(s, actor_of(sign.user("zhao.min"))).problems
        lot = _run_live_lot(s)
        assert exceptions_for(s, lot)["exceptions"] == []
        release = request_release(s, actor_of(sign.user("chen.jing")), lot).id
        assert workflow_data(s, get_instance(s, release))["release_review"]["no_exceptions"]
        sign.complete(release, "review_release_exceptions", "chen.jing",
                      {"exception_dispositions": [], "review_comment": "no exceptions"})
        dev = open_deviation(s, actor_of(sign.user("zhang.wei")), lot=lot, source="user",
                             description="pouch seal wrinkles seen at packing")
        sign.complete(dev.process_instance_id, "triage_deviation", "chen.jing", {
            "severity": 1, "patient_safety_impact": False, "triage_rationale": "cosmetic",
            "affected_lots": [lot.lot_number]})
        with pytest.raises(RuleViolation, match="on hold"):
            with s.begin_nested():
                sign.complete(release, "decide_lot_release", "zhao.min",
                              {"release_decision": "release", "release_comment": ""})
        sign.complete(dev.process_instance_id, "investigate_deviation", "wang.fang", {
            "investigation_summary": "sealer band worn", "root_cause": "band wear", "root_cause_category": "machine"})
        sign.complete(dev.process_instance_id, "disposition_lots", "chen.jing", {
            "dispositions": [{"lot_number": lot.lot_number, "disposition": "use_as_is",
                              "justification": "seal strength in spec", "rework_instructions": ""}],
            "capa_required": False})
        sign.complete(dev.process_instance_id, "approve_deviation", "zhao.min",
                      {"deviation_decision": "approve", "deviation_comment": ""})
        done = sign.complete(release, "decide_lot_release", "zhao.min",
                             {"release_decision": "release", "release_comment": ""})
        assert done.task.meaning == "released" and lot.status == "released"
