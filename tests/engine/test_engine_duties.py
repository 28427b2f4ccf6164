"""Segregation of duties on review and approval tasks (issue #20, item 11): declared in the
diagram, enforced by complete_task (tests/processes), warned about by the linter when missing."""
from __future__ import annotations

import re

from lxml import etree

from engine.workflows.deploy import shipped_bpmn_dir
from engine.workflows.duties import declares_separation, is_review_task, separation_rules
from engine.workflows.specs import Document, validate
from tests.engine.conftest import BPMN_DIR

NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
      "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core"}
APPROVAL = (BPMN_DIR / "approval.bpmn").read_text()
# The reviewers and approvers that no segregation rule binds, each with the reason.
UNBOUND = {
    ("audit_review", "review_audit_trail"): "the reviewed trail has no author task in the process",
    ("batch_release", "review_release_exceptions"): "the lot's records are authored outside the process",
}


def _user_tasks(path):
    tree = etree.parse(str(path))
    for process in tree.iterfind(".//bpmn:process", NS):
        for task in process.iterfind(".//bpmn:userTask", NS):
            props = {p.get("name"): p.get("value") for p in task.iterfind(".//spiffworkflow:property", NS)}
            yield process.get("id"), task.get("id"), props


def test_every_review_task_of_the_shipped_processes_declares_its_rule():
    reviews = 0
    for path in sorted(shipped_bpmn_dir().glob("*.bpmn")):
        for process, task, props in _user_tasks(path):
            if not is_review_task(props):
                continue
            reviews += 1
            assert declares_separation(props), (process, task)
            assert bool(separation_rules(props)) != ((process, task) in UNBOUND), (process, task)
    assert reviews >= 15


def test_the_change_requests_author_may_not_assess_or_approve_it():
    [(_, _, assess)] = [t for t in _user_tasks(shipped_bpmn_dir() / "change_control.bpmn") if t[1] == "assess_change"]
    assert set(separation_rules(assess)) == {"initiator", "submit_change"}
    for _, task, props in _user_tasks(shipped_bpmn_dir() / "change_control.bpmn"):
        if task.startswith("approve_change_"):
            assert {"initiator", "submit_change", "assess_change"} <= set(separation_rules(props)), task


def _without_rule(text: str) -> str:
    return re.sub(r'\s*<spiffworkflow:property name="separationOfDuties" value="[^"]*" />', "", text)


def test_a_review_task_without_a_rule_gets_a_lint_warning():
    result = validate([Document("approval.bpmn", _without_rule(APPROVAL).encode())])
    assert result.ok  # a warning: the deployment goes ahead, the editor shows it
    warned = [w for w in result.warnings if "separationOfDuties" in w.reason]
    assert {w.element_id for w in warned} >= {"ut_ack"} and all(w.severity == "warning" for w in warned)
    clean = validate([Document("approval.bpmn", APPROVAL.encode())])
    assert not [w for w in clean.warnings if "separationOfDuties" in w.reason]


def test_none_declares_that_no_segregation_applies():
    assert separation_rules({"separationOfDuties": "none"}) == []
    assert declares_separation({"separationOfDuties": "none"})
    assert separation_rules({"separationOfDuties": " initiator , submit_change "}) == ["initiator", "submit_change"]
    assert is_review_task({"signatureMeaning": "approved"}) and is_review_task({"signatureMeaningExpression": "x"})
    assert not is_review_task({"signatureMeaning": "authored"})
