"""Audit-trail review end to end: timer start, risky events, review, approval, deviations, next period."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from audit import Actor, chain
from engine.processes import audit_reviews
from engine.processes.models import AuditReview, Deviation
from engine.workflows import fire_timers, get_instance, workflow_data

import pytest


WORKER = Actor(kind="system", id="worker", name="Sealtrail timer worker")


def _risky_entries(quality):
    s = quality.session
    admin = Actor(kind="user", id="999", name="Ada Admin")
    chain.append(s, admin, "user.role_granted", "user", "op_li", after={"role": "qa_manager"})
    chain.append(s, quality.actor("op_li"), "measurement.correct", "parameter_measurement", "7",
                 reason="typo", before={"value": 1.0}, after={"value": 10.0})
    chain.append(s, Actor(kind="user", id="0", name="unknown"), "auth.login_failed", "user", "ghost")
    chain.append(s, quality.actor("qm_chen"), "workflow.deployed", "process_version", "3",
                 after={"process_id": "capa"})
    chain.append(s, quality.actor("pe_wang"), "lot.plan", "lot", "P-099", after={"quantity": 1})  # routine


def _due_review(quality):
    s = quality.session
    start = datetime.now(timezone.utc) - timedelta(days=1)
    end = datetime.now(timezone.utc) + timedelta(minutes=5)
    review = audit_reviews.schedule(s, quality.actor("qm_chen"), period_start=start, period_end=end)
    iid = review.process_instance_id
    assert quality.tasks(iid) == {}  # waits for the end of the period
    _risky_entries(quality)
    assert fire_timers(s, WORKER, get_instance(s, iid), end + timedelta(seconds=1)) == ["audit_review_due"]
    return review, iid


@pytest.mark.requirement("Annex11-9")
def test_review_assembles_risky_events_and_pins_the_chain_head(quality):
    review, iid = _due_review(quality)
    data = workflow_data(quality.session, get_instance(quality.session, iid))["audit_review"]
    categories = {e["action"]: e["category"] for e in data["events"]}
    assert categories == {"user.role_granted": "administration", "measurement.correct": "correction",
                          "auth.login_failed": "lockout_or_failed_login",
                          "workflow.deployed": "deployment_or_rule_change",
                          "workflow.process_deployed": "deployment_or_rule_change",  # the fixture's deployment
                          "workflow.decision_deployed": "deployment_or_rule_change"}  # of diagrams and tables
    assert "lot.plan" not in categories
    quality.session.refresh(review)
    covered = quality.session.scalar(select(chain.AuditEntry.hash).where(chain.AuditEntry.seq == review.head_seq))
    assert covered == review.head_hash == data["head_hash"]
    assert set(quality.tasks(iid)) == {"review_audit_trail"}


@pytest.mark.requirement("Annex11-9")
def test_rejected_review_returns_and_unexplained_events_raise_a_deviation(quality):
    s = quality.session
    review, iid = _due_review(quality)
    events = workflow_data(s, get_instance(s, iid))["audit_review"]["events"]
    findings = [{"seq": e["seq"], "explained": e["action"] != "auth.login_failed",
                 "explanation": "expected" if e["action"] != "auth.login_failed" else "unknown account"}
                for e in events]
    quality.complete(iid, "review_audit_trail", "qa_zhao", {"event_findings": findings[:-1],
                                                             "review_summary": "first pass"})
    quality.complete(iid, "approve_audit_review", "qm_chen", {"audit_review_decision": "reject",
                                                              "audit_review_comment": "one entry has no finding"})
    assert set(quality.tasks(iid)) == {"review_audit_trail"}
    quality.complete(iid, "review_audit_trail", "qa_zhao", {"event_findings": findings,
                                                             "review_summary": "one unexplained failed login"})
    quality.complete(iid, "approve_audit_review", "qm_chen", {"audit_review_decision": "approve",
                                                              "audit_review_comment": ""})
    s.refresh(review)
    assert review.status == "recorded" and len(review.deviation_ids) == 1
    dev = s.get(Deviation, review.deviation_ids[0])
    assert dev.source == "audit_review" and "unexplained" in dev.description
    nxt = s.scalars(select(AuditReview).where(AuditReview.id != review.id)).one()
    assert nxt.period_start == review.period_end and nxt.status == "scheduled"
    assert get_instance(s, iid).status == "completed"
