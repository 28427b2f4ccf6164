"""Running DMN decision tables: our DMN engine, the parser and serializer hooks, decision records.

SpiffWorkflow 3.2's DMN engine returns the first match under UNIQUE without checking that it is
the only one, ignores ``defaultOutputEntry``, answers ``{}`` when no rule matches (the process then
fails somewhere later), and glues ``in (…)`` cells to the input without a space. ``DecisionEngine``
evaluates every rule — the whole table as one expression under the script policy, in one
script-worker round trip (``decision_program``) —
refuses a second UNIQUE match or no match without a default, applies defaults, and records each
decision taken — inputs, matched rule ids, outputs, the pinned table version — in the instance
history and the audit trail, in the caller's transaction.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from types import SimpleNamespace

from sqlalchemy import select
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.dmn.engine.DMNEngine import DMNEngine
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.spiff.serializer.task_spec import BusinessRuleTaskConverter

from audit import chain
from engine.db import utcnow
from engine.workflows.models import DecisionVersion, InstanceEvent, ProcessDecision
from engine.workflows.decision_program import MAX_PROGRAM_CHARS, Program, ProgramError, compile_table, outputs_of
from engine.workflows.script_env import SafeScriptEngine, ScriptLimitExceeded
from engine.workflows.xmlsafe import Problem

_SCRIPT_LINE = re.compile(r" \(script line \d+\)")
RESULT_KEY = "decisions"  # task data: {decision id: what was decided}, for forms and the history


class DecisionFailed(ValueError):
    """The table gave no answer (no rule matched, no default) or two answers under UNIQUE, an
    input is missing or not of its column's ``typeRef``, or a piece of the table failed (named)."""


_TYPE_CHECKS = {
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "long": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "double": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "decimal": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
}


def _check_inputs(decision_id: str, table, inputs: dict) -> None:
    """Refuse values the verified table was not verified for (e.g. "3" where an integer belongs)."""
    for column in table.inputs:
        value = inputs[column.label or column.expression]
        check = _TYPE_CHECKS.get(column.typeRef or "")
        if check is not None and not check(value):
            raise DecisionFailed(f"decision {decision_id}: input {column.label or column.expression!r} "
                                 f"({column.expression}) is {value!r}, not of type {column.typeRef}")


@dataclass
class Outcome:
    """What one evaluation of a table found."""

    inputs: dict
    rules: list  # SpiffWorkflow Rule objects that matched, in table order
    outputs: dict
    defaulted: bool


class DecisionEngine(DMNEngine):
    """SpiffWorkflow's DMN engine, checked and recorded (see the module docstring)."""

    def __init__(self, decision_table, decision_id: str = "", defaults: dict | None = None, name: str = ""):
        super().__init__(decision_table)
        self.decision_id = decision_id
        self.defaults = dict(defaults or {})  # output id -> expression text
        self.name = name or decision_table.name or decision_id
        self._program: tuple[frozenset, Program] | None = None

    def program(self, helpers: frozenset) -> Program:
        """The table as one policy-checked expression (``decision_program``), built once."""
        if self._program is None or self._program[0] != helpers:
            self._program = (helpers, compile_table(self.decision_table, self.defaults, helpers))
        return self._program[1]

    def _failed(self, exc: Exception, where: str) -> DecisionFailed:
        reason = _SCRIPT_LINE.sub("", str(exc))  # the composed source's line: ``where`` names the piece
        return DecisionFailed(f"decision {self.decision_id}, {where}: {type(exc).__name__}: {reason}")

    def outcome(self, task) -> Outcome:
        """Evaluate every rule against ``task.data`` in one script-worker round trip; DecisionFailed
        when the table gives no answer or an input is not of its column's type."""
        table = self.decision_table
        environment = task.workflow.script_engine.environment
        try:
            program = self.program(environment.helper_names)
        except ProgramError as exc:
            raise self._failed(exc, "script policy") from exc
        try:
            values, hits, default_values = environment.evaluate(program.source, task.data,
                                                                max_chars=MAX_PROGRAM_CHARS)
        except Exception as exc:  # noqa: BLE001 - explained below, with the piece that failed
            if not isinstance(exc, ScriptLimitExceeded):
                self._check_inputs_alone(task)  # "3" where an integer belongs says so, not TypeError
            raise self._failed(exc, program.where(getattr(exc, "script_line", None))) from exc
        inputs = {(i.label or i.expression): v for i, v in zip(table.inputs, values)}
        _check_inputs(self.decision_id, table, inputs)
        matched = [(rule, hit) for rule, hit in zip(table.rules, hits) if hit is not None]
        if table.hit_policy == "COLLECT":
            outputs: dict = {}
            for rule, hit in matched:
                for key, value in outputs_of(rule, hit).items():
                    outputs.setdefault(key, []).append(value)
            return Outcome(inputs, [rule for rule, _ in matched], outputs, False)
        if table.hit_policy == "UNIQUE" and len(matched) > 1:
            raise DecisionFailed(f"decision {self.decision_id}: rules {', '.join(r.id for r, _ in matched)} all "
                                 f"match {inputs} (hit policy UNIQUE)")
        if matched:
            rule, hit = matched[0]
            return Outcome(inputs, [rule], dict(outputs_of(rule, hit)), False)
        if not self.defaults:
            raise DecisionFailed(f"decision {self.decision_id}: no rule matches {inputs} and the table has no default")
        return Outcome(inputs, [], {o.name: v for o, v in zip(table.outputs, default_values)}, True)

    def _check_inputs_alone(self, task) -> None:
        """After a failed evaluation: DecisionFailed when an input is missing or of another type."""
        table = self.decision_table
        environment = task.workflow.script_engine.environment
        try:
            values = environment.evaluate(f"[{', '.join(f'({i.expression})' for i in table.inputs)}]", task.data)
        except Exception:  # noqa: BLE001 - the input itself fails: the caller reports where
            return
        _check_inputs(self.decision_id, table, {(i.label or i.expression): v for i, v in zip(table.inputs, values)})

    def result(self, task):
        """What SpiffWorkflow merges into the task data (the outputs, and our record of them)."""
        try:
            found = self.outcome(task)
        except DecisionFailed as exc:
            raise WorkflowTaskException(str(exc), task=task, exception=exc) from exc
        summary = record(task, self, found)
        # Set here, not returned: SpiffWorkflow deep-merges the result, which would mix this
        # decision's rule list with an earlier one's. A new dict: task data is shallow-copied.
        task.data[RESULT_KEY] = {**task.data.get(RESULT_KEY, {}), self.decision_id: summary}
        return found.outputs


def _defaults(dmn_node, nsmap) -> dict:
    out = {}
    for output in dmn_node.xpath(".//dmn:decisionTable/dmn:output", namespaces=nsmap):
        text = output.xpath("./dmn:defaultOutputEntry/dmn:text", namespaces=nsmap)
        if text and (text[0].text or "").strip():
            out[output.get("id")] = text[0].text.strip()
    return out


class Parser(SpiffBpmnParser):
    """SpiffBpmnParser whose business-rule tasks run our DecisionEngine."""

    def get_engine(self, decision_ref, node):
        base = super().get_engine(decision_ref, node)
        dmn = self.dmn_parsers[decision_ref]
        return DecisionEngine(base.decision_table, decision_ref, _defaults(dmn.node, dmn.nsmap), dmn.decision.name)


class DecisionTaskConverter(BusinessRuleTaskConverter):
    """Stores the decision id and default outputs with the table, and restores our engine."""

    def to_dict(self, spec):
        dct = super().to_dict(spec)
        engine = spec.dmnEngine
        dct["decision_id"] = getattr(engine, "decision_id", "")
        dct["decision_defaults"] = getattr(engine, "defaults", {})
        dct["decision_name"] = getattr(engine, "name", "")
        return dct

    def from_dict(self, dct):
        decision_id = dct.pop("decision_id", "")
        defaults = dct.pop("decision_defaults", {})
        name = dct.pop("decision_name", "")
        spec = super().from_dict(dct)
        spec.dmnEngine = DecisionEngine(spec.dmnEngine.decision_table, decision_id, defaults, name)
        return spec


def decisions_used(spec, subprocess_specs: dict) -> set[str]:
    """Ids of the decisions a process (and every process it calls) runs."""
    found = set()
    for process in [spec, *subprocess_specs.values()]:
        for task_spec in process.task_specs.values():
            engine = getattr(task_spec, "dmnEngine", None)
            if engine is not None:
                found.add(getattr(engine, "decision_id", "") or engine.decision_table.id)
    return found


def pinned_version(session, process_version_id: int, decision_id: str) -> DecisionVersion | None:
    """The decision version a process version pinned (None before pins existed)."""
    return session.scalar(select(DecisionVersion).join(
        ProcessDecision, ProcessDecision.decision_version_id == DecisionVersion.id).where(
        ProcessDecision.process_version_id == process_version_id, ProcessDecision.decision_id == decision_id))


def evidence(decision: dict) -> dict:
    """What a record of the business data keeps of a decision taken (table version, rule, inputs)."""
    return {k: decision.get(k) for k in ("decision", "version", "rules", "rule_descriptions", "inputs", "outputs")}


def last_decision_taken(session, instance_id: int, decision_id: str) -> dict | None:
    """The summary of the latest ``decision_id`` decision an instance took (its history), or None."""
    rows = session.scalars(select(InstanceEvent).where(InstanceEvent.instance_id == instance_id,
                                                       InstanceEvent.kind == "decision")
                           .order_by(InstanceEvent.id.desc()))
    for row in rows:
        summary = json.loads(row.detail_json)
        if summary.get("decision") == decision_id:
            return summary
    return None


def _plain(value):
    return value if isinstance(value, (str, int, float, bool, type(None))) else repr(value)


def record(task, engine: DecisionEngine, found: Outcome) -> dict:
    """Write the decision to the instance history and the audit trail; return its summary."""
    summary = {"decision": engine.decision_id, "table": engine.name,
               "rules": [r.id for r in found.rules],
               "rule_descriptions": [r.description or "" for r in found.rules],
               "inputs": {k: _plain(v) for k, v in found.inputs.items()},
               "outputs": {k: _plain(v) if not isinstance(v, list) else [_plain(x) for x in v]
                           for k, v in found.outputs.items()},
               "output_labels": {o.name: o.label or o.name for o in engine.decision_table.outputs},
               "default": found.defaulted, "task": task.task_spec.bpmn_id or task.task_spec.name}
    ctx = getattr(getattr(task.workflow.script_engine, "environment", None), "run_context", None)
    if ctx is None or ctx.session is None or ctx.instance is None:
        return summary
    version = pinned_version(ctx.session, ctx.instance.process_version_id, engine.decision_id)
    if version is not None:
        summary.update(version=version.version, content_sha256=version.content_sha256)
    ctx.session.add(InstanceEvent(instance_id=ctx.instance.id, at=utcnow(), kind="decision", actor_id=ctx.actor.id,
                                  actor_name=ctx.actor.name, task_id=str(task.id),
                                  detail_json=json.dumps(summary, default=str, sort_keys=True)))
    chain.append(ctx.session, ctx.actor, "workflow.decision_taken", "process_instance", ctx.instance.id,
                 after={"process_id": ctx.instance.process_id, "business_key": ctx.instance.business_key,
                        **summary})
    return summary


class _SheetEngine(SafeScriptEngine):
    """Evaluates test-sheet cases without a workflow around them."""

    def evaluate(self, task, expression, external_context=None):
        return self.environment.evaluate(expression, task.data, external_context)


def evaluate_alone(engine: DecisionEngine, given: dict) -> Outcome:
    """The table's answer for ``given`` outside any workflow (test sheets, the editor's trial runs):
    the same engine, script policy and limits; nothing is recorded."""
    task = SimpleNamespace(data=dict(given), workflow=SimpleNamespace(script_engine=_SheetEngine()))
    return engine.outcome(task)


def run_test_sheet(table, engine: DecisionEngine, hits: set | None = None) -> list[Problem]:
    """Run the table's test cases (``decision_tables.TestCase``) through ``engine``; one problem
    per failing case (a failing example blocks the deployment). ``hits`` collects the ids of the
    rules the examples matched (for ``untested_rules``)."""
    problems = []
    for case in table.tests:
        where = (table.file, case.id, case.element.sourceline)
        try:
            found = evaluate_alone(engine, case.given)
        except Exception as exc:  # noqa: BLE001 - any failure of the example is the finding
            problems.append(Problem(*where, f"test {case.id} fails: {type(exc).__name__}: {exc}"))
            continue
        if hits is not None:
            hits.update(r.id for r in found.rules)
        wrong = {k: (v, found.outputs.get(k)) for k, v in case.expect.items() if found.outputs.get(k) != v}
        for key, (expected, got) in wrong.items():
            problems.append(Problem(*where, f"test {case.id}: expected {key} = {expected!r}, the table gives "
                                            f"{got!r} (rule {', '.join(r.id for r in found.rules) or 'default'})"))
        got_rule = found.rules[0].id if found.rules else None
        if case.rule and case.rule != got_rule:
            problems.append(Problem(*where, f"test {case.id}: expected rule {case.rule}, "
                                            f"matched {got_rule or 'no rule (default)'}"))
    return problems


def untested_rules(table, hits: set) -> list[Problem]:
    """Warnings (deploy goes ahead): rules no example of the test sheet exercises."""
    return [Problem(table.file, row.id, row.element.sourceline,
                    f"rule {row.id} is not exercised by any example of the test sheet", severity="warning")
            for row in table.rows if row.id not in hits]
