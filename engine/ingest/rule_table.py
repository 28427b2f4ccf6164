"""The alarm rules read as what they are: a decision table with hit policy FIRST.

``rules.match`` tries the active rules in priority order and takes the first that matches; no
match means the default action. That is a FIRST table over (code, line, equipment, severity) →
(action, attach window) with a default output, so ``decision_table`` writes it as DMN 1.3 (rule id
``alarm_rule_<id>``, its name as the description) and ``findings`` runs the decision-table verifier
on it: a rule that earlier rules shadow for every alarm it would match never acts — QA wrote it
for a reason, so the change that made it so should say. The table is a view of the rules: they
are still edited as rows (``rules.py``) and matched by ``rules.match``.
"""
from __future__ import annotations

import json

from lxml import etree

from engine.ingest.models import RULE_ACTIONS, AlarmRule
from engine.ingest.rules import DEFAULT_ACTION
from engine.workflows.decision_tables import read_table, verify

DMN = "https://www.omg.org/spec/DMN/20191111/MODEL/"
DECISION_ID = "alarm_rule_actions"
SEVERITIES = (1, 1000)
_INPUTS = (("code", "Alarm code / 报警代码", "string"), ("line", "Line / 产线", "string"),
           ("equipment", "Equipment / 设备", "string"), ("severity", "Severity / 严重度", "integer"))


def _el(parent, tag: str, text: str | None = None, **attrs):
    el = etree.SubElement(parent, f"{{{DMN}}}{tag}", {k: str(v) for k, v in attrs.items()})
    if text is not None:
        etree.SubElement(el, f"{{{DMN}}}text").text = text
    return el


def _cells(rule: AlarmRule) -> list[str]:
    text = [json.dumps(v, ensure_ascii=False) if v is not None else "-" for v in (rule.code, rule.line, rule.equipment)]
    lo, hi = rule.min_severity, rule.max_severity
    severity = "-" if (lo, hi) == SEVERITIES else (str(lo) if lo == hi else f"{lo} <= ? <= {hi}")
    return [*text, severity]


def decision_table(rules: list[AlarmRule], default_window_minutes: int = 0) -> bytes:
    """The active ``rules`` (in evaluation order) as a DMN FIRST table with the default action."""
    root = etree.Element(f"{{{DMN}}}definitions", nsmap={None: DMN}, id=f"Definitions_{DECISION_ID}",
                         name="Alarm rule actions / 报警规则动作", namespace="https://sealtrail.org/dmn")
    decision = _el(root, "decision", id=DECISION_ID, name="Alarm rule actions / 报警规则动作")
    table = _el(decision, "decisionTable", id=f"{DECISION_ID}_table", hitPolicy="FIRST")
    for name, label, type_ref in _INPUTS:
        column = _el(table, "input", id=f"input_{name}", label=label)
        _el(column, "inputExpression", name, id=f"input_{name}_expression", typeRef=type_ref)
        if name == "severity":
            _el(column, "inputValues", f"{SEVERITIES[0]} <= ? <= {SEVERITIES[1]}", id="input_severity_values")
    action = _el(table, "output", id="output_action", label="Action / 动作", name="action", typeRef="string")
    _el(action, "outputValues", ",".join(json.dumps(a) for a in RULE_ACTIONS), id="output_action_values")
    _el(action, "defaultOutputEntry", json.dumps(DEFAULT_ACTION), id="output_action_default")
    window = _el(table, "output", id="output_window", label="Attach window (min) / 归并时间窗（分钟）",
                 name="attach_window_minutes", typeRef="integer")
    _el(window, "defaultOutputEntry", str(default_window_minutes), id="output_window_default")
    for rule in rules:
        if not rule.active:
            continue
        rid = f"alarm_rule_{rule.id}"
        row = _el(table, "rule", id=rid)
        etree.SubElement(row, f"{{{DMN}}}description").text = f"{rule.name} (priority {rule.priority})"
        for (name, _, _), cell in zip(_INPUTS, _cells(rule)):
            _el(row, "inputEntry", cell, id=f"{rid}_{name}")
        _el(row, "outputEntry", json.dumps(rule.action), id=f"{rid}_action")
        _el(row, "outputEntry", str(rule.attach_window_minutes), id=f"{rid}_window")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def findings(rules: list[AlarmRule]) -> list[str]:
    """What the decision-table verifier says about the rules (e.g. a rule shadowed by earlier ones)."""
    if not any(r.active for r in rules):
        return []
    table = read_table(etree.fromstring(decision_table(rules)), f"{DECISION_ID}.dmn")
    names = {f"alarm_rule_{r.id}": f"{r.name!r} (id {r.id})" for r in rules}
    out = []
    for problem in verify(table):
        reason = problem.reason
        for rid, name in names.items():
            reason = reason.replace(f"rule {rid} ", f"rule {name} ")
        out.append(reason)
    return out
