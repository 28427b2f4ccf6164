"""Alarm rules read as a FIRST decision table: the table decides as ``rules.match`` does, and the
verifier names a rule that earlier rules shadow."""
from __future__ import annotations

import itertools

from engine.ingest.models import AlarmRule
from engine.ingest.rule_table import decision_table, findings
from engine.ingest.rules import DEFAULT_ACTION, match
from engine.schema import load_models
from engine.workflows.decision_authoring import try_table

MAX = 1 << 20
load_models()  # AlarmRule rows are built in memory: every mapper must be configured


def _rule(rid, name, action, priority=100, **kw):
    return AlarmRule(id=rid, name=name, action=action, priority=priority, code=kw.get("code"), line=kw.get("line"),
                     equipment=kw.get("equipment"), min_severity=kw.get("min_severity", 1),
                     max_severity=kw.get("max_severity", 1000), attach_window_minutes=kw.get("window", 480),
                     active=kw.get("active", True), version=1)


RULES = [
    _rule(1, "vacuum loss holds", "hold", 10, code="VAC_LOSS", min_severity=500),
    _rule(2, "vacuum loss minor", "deviation", 20, code="VAC_LOSS", window=60),
    _rule(3, "line 2 sealer noise", "ignore", 30, line="L2", equipment="SEAL-2", max_severity=99),
    _rule(4, "anything severe", "deviation", 40, min_severity=900),
    _rule(5, "switched off", "hold", 1, active=False),
]


def test_the_table_decides_as_the_rules_match():
    xml = decision_table(RULES)
    for code, line, equipment, severity in itertools.product(("VAC_LOSS", "TEMP"), ("L1", "L2"),
                                                             ("SEAL-2", "PUMP-1"), (1, 99, 100, 500, 950)):
        rule = match(RULES, code=code, line=line, equipment=equipment, severity=severity)
        tried = try_table(xml, "alarm_rule_actions.dmn",
                          {"code": code, "line": line, "equipment": equipment, "severity": severity}, max_bytes=MAX)
        assert tried["ok"], tried
        expected = (rule.action, rule.attach_window_minutes) if rule else (DEFAULT_ACTION, 0)
        assert (tried["outputs"]["action"], tried["outputs"]["attach_window_minutes"]) == expected
        assert tried["rules"] == ([f"alarm_rule_{rule.id}"] if rule else [])
    assert findings(RULES) == []


def test_a_shadowed_rule_is_named():
    shadowed = [*RULES, _rule(6, "sealer on line 2", "deviation", 50, line="L2", equipment="SEAL-2",
                              min_severity=950)]
    assert findings(shadowed) == ["rule 'sealer on line 2' (id 6) is unreachable: earlier rules match every "
                                  "input it matches (hit policy FIRST)"]
    assert findings([_rule(7, "off", "hold", active=False)]) == []
