"""Our own lint pass over BPMN, for what SpiffWorkflow 3.2 accepts silently or reports badly.

Link and compensation events are parsed as none-events; a missing ``messageRef`` surfaces as a
``TypeError``; a bad timer duration fails only at run time; a dangling ``targetRef`` gives a
misleading message. We check those here, plus our own rules: user tasks sit in a lane named
after one of our roles and name a form that exists; service tasks name a registered operation
with the right parameters; every script, condition and expression passes the script policy.
"""
from __future__ import annotations

import re

from lxml import etree
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

import forms
from audit.policy import MEANINGS
from engine.users.models import ROLES
from engine.workflows import lint_graph, operations, script_policy
from engine.workflows.duties import declares_separation, is_review_task, separation_rules
from engine.workflows.script_env import SafeEnvironment
from engine.workflows.script_policy import ScriptPolicyError
from engine.workflows.xmlsafe import Problem

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core"
NS = {"bpmn": BPMN, "spiffworkflow": SPIFF}
_ISO_LIKE = re.compile(r"^R?\d*/?P[0-9YMWDTHS.]+$")


def roles() -> tuple[str, ...]:
    """The role ids a lane may be named after."""
    return tuple(ROLES)


class _Lint:
    def __init__(self, root: etree._Element, file_name: str, known_process_ids: set[str],
                 draft_forms: dict[str, dict] | None = None, decisions: dict[str, set[str]] | None = None):
        self.root = root
        self.decisions = decisions or {}  # decision id -> the variables its outputs set
        self.file = file_name
        self.known = known_process_ids
        self.drafts = {k.removesuffix(".json"): v for k, v in (draft_forms or {}).items()}
        self.problems: list[Problem] = []
        self.helpers = operations.helper_names()
        self.schemas: dict[str, dict | None] = {}

    def add(self, el: etree._Element | None, reason: str, element_id: str | None = None,
            severity: str = "error") -> None:
        ident = element_id or (el.get("id") if el is not None else None)
        line = el.sourceline if el is not None else None
        name = (el.get("name") or None) if el is not None else None
        self.problems.append(Problem(self.file, ident, line, reason, name, severity))

    def form_schema(self, name: str) -> dict:
        """The schema of form ``name``: a stored form version when given, else the form file."""
        key = name.removesuffix(".json")
        if key in self.drafts:
            self.schemas[key] = self.drafts[key]
            return self.drafts[key]
        try:
            forms.check(name)
            self.schemas[key] = forms.load(name)
        except forms.FormError:
            self.schemas[key] = None
            raise
        return self.schemas[key]

    @staticmethod
    def owner(node):
        """The nearest enclosing flow element (with an id; event definitions are skipped)."""
        el = node.getparent()
        while el is not None and (not el.get("id") or etree.QName(el).localname.endswith("EventDefinition")):
            el = el.getparent()
        return el

    def xp(self, el, path: str) -> list:
        return el.xpath(path, namespaces=NS)

    # --- entry point ---------------------------------------------------------------------
    def run(self) -> list[Problem]:
        if etree.QName(self.root).namespace != BPMN or etree.QName(self.root).localname != "definitions":
            self.add(self.root, "the root element is not bpmn:definitions")
            return self.problems
        self.ids = {el.get("id") for el in self.root.iter() if isinstance(el.tag, str) and el.get("id")}
        self.lanes = self._lane_of_nodes()
        self.check_unsupported_events()
        self.check_unsupported_tasks()
        self.check_messages()
        before = len(self.problems)
        self.check_flows()
        flows_ok = len(self.problems) == before
        self.check_timers()
        self.check_user_tasks()
        self.check_service_tasks()
        self.check_scripts()
        self.check_call_activities()
        # A dangling flow would be reported again as an unreachable target: name the cause only.
        findings = lint_graph.structure(self.root) if flows_ok else []
        for finding in findings + lint_graph.data_flow(self.root, self.schemas, self.helpers, self.decisions):
            self.add(finding.element, finding.reason, severity=finding.severity)
        return self.problems

    def _lane_of_nodes(self) -> dict[str, str]:
        out = {}
        for ref in self.xp(self.root, ".//bpmn:lane/bpmn:flowNodeRef"):
            if ref.text:
                out[ref.text.strip()] = ref.getparent().get("name") or ""
        return out

    # --- events --------------------------------------------------------------------------
    def check_unsupported_events(self) -> None:
        for kind, label in (("linkEventDefinition", "link"), ("compensateEventDefinition", "compensation")):
            for definition in self.xp(self.root, f".//bpmn:{kind}"):
                event = self.owner(definition)
                self.add(event, f"{label} events are not supported (SpiffWorkflow 3.2 would silently run "
                                "them as none-events)")

    def check_unsupported_tasks(self) -> None:
        for task in self.xp(self.root, ".//bpmn:businessRuleTask"):
            called = self.xp(task, "./bpmn:extensionElements/spiffworkflow:calledDecisionId")
            ref = (called[0].text or "").strip() if called else ""
            if not ref:
                self.add(task, "business rule (DMN) task names no decision (spiffworkflow:calledDecisionId)")
            elif ref not in self.decisions:
                self.add(task, f"decision {ref!r} is neither in the files given nor deployed")
        for task in self.xp(self.root, ".//bpmn:complexGateway"):
            self.add(task, "complex gateways are not supported by SpiffWorkflow 3.2: use exclusive/inclusive gateways")

    def check_messages(self) -> None:
        message_ids = {m.get("id") for m in self.xp(self.root, ".//bpmn:message")}
        for definition in self.xp(self.root, ".//bpmn:messageEventDefinition"):
            event = self.owner(definition)
            ref = definition.get("messageRef")
            if not ref:
                self.add(event, "message event has no messageRef (which message does it wait for/send?)")
            elif ref not in message_ids:
                self.add(event, f"messageRef {ref!r} names no bpmn:message in this file")
        for task in self.xp(self.root, ".//bpmn:receiveTask | .//bpmn:sendTask"):
            ref = task.get("messageRef")
            if not ref:
                self.add(task, "send/receive task has no messageRef")
            elif ref not in message_ids:
                self.add(task, f"messageRef {ref!r} names no bpmn:message in this file")
        for cpre in self.xp(self.root, ".//bpmn:correlationPropertyRetrievalExpression"):
            if not cpre.get("messageRef"):
                self.add(cpre.getparent(), "correlation property retrieval expression has no messageRef")

    def check_flows(self) -> None:
        for flow in self.xp(self.root, ".//bpmn:sequenceFlow"):
            for attr in ("sourceRef", "targetRef"):
                ref = flow.get(attr)
                if not ref:
                    self.add(flow, f"sequence flow has no {attr}")
                elif ref not in self.ids:
                    self.add(flow, f"sequence flow {attr} {ref!r} names no element")

    # --- timers --------------------------------------------------------------------------
    def check_timers(self) -> None:
        for definition in self.xp(self.root, ".//bpmn:timerEventDefinition"):
            event = self.owner(definition)
            exprs = [c for c in definition if isinstance(c.tag, str)
                     and etree.QName(c).localname in ("timeDuration", "timeDate", "timeCycle")]
            if not exprs:
                self.add(event, "timer has no timeDuration, timeDate or timeCycle")
                continue
            for expr in exprs:
                self._check_timer(event, etree.QName(expr).localname, (expr.text or "").strip())

    def _check_timer(self, event, kind: str, text: str) -> None:
        if not text:
            self.add(event, f"timer {kind} is empty")
            return
        try:
            checked = script_policy.check_expression(text, self.helpers)
        except ScriptPolicyError as exc:
            self.add(event, f"timer {kind} expression refused: {exc}")
            return
        free = checked.names - set(script_policy.SAFE_BUILTIN_NAMES) - self.helpers
        if len(free) == 1 and _ISO_LIKE.match(text):
            self.add(event, f"timer {kind} {text} must be a quoted string expression (\"{text}\")")
            return
        if free:
            return  # depends on task data: checked again when it is evaluated

        try:
            value = SafeEnvironment().evaluate(text, {})
        except Exception as exc:  # noqa: BLE001 - reported as a problem
            self.add(event, f"timer {kind} expression fails: {exc}")
            return
        if not isinstance(value, str):
            self.add(event, f"timer {kind} must evaluate to an ISO 8601 string (quote it: \"PT1H\"), "
                            f"got {type(value).__name__}")
            return
        try:
            if kind == "timeDuration":
                parsed = TimerEventDefinition.parse_iso_duration(value)
                if not any(parsed.values()):
                    raise ValueError("zero duration")
            elif kind == "timeDate":
                TimerEventDefinition.get_datetime(value)
            else:
                TimerEventDefinition.parse_iso_recurring_interval(value)
        except Exception as exc:  # noqa: BLE001 - SpiffWorkflow raises a bare Exception
            self.add(event, f"timer {kind} {value!r} is not a valid ISO 8601 value ({exc})")

    # --- tasks ---------------------------------------------------------------------------
    def _properties(self, el) -> dict[str, str]:
        props = {}
        for prop in self.xp(el, "./bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property"):
            props[prop.get("name")] = prop.get("value")
        return props

    def check_user_tasks(self) -> None:
        valid_roles = roles()
        for task in self.xp(self.root, ".//bpmn:userTask | .//bpmn:manualTask"):
            ident = task.get("id")
            lane = self.lanes.get(ident)
            if lane is None:
                self.add(task, "user task is in no lane (the lane names the role that may complete it)")
            elif lane not in valid_roles:
                self.add(task, f"lane {lane!r} is not a role ({', '.join(valid_roles)})")
            props = self._properties(task)
            self._check_task_properties(task, props)
            form = props.get("formJsonSchemaFilename")
            if not form:
                self.add(task, "user task names no form (spiffworkflow:property formJsonSchemaFilename)")
                continue
            try:
                self.form_schema(form)
            except forms.FormError as exc:
                self.add(task, str(exc))

    def _check_task_properties(self, task, props: dict) -> None:
        meaning = props.get("signatureMeaning")
        if meaning and meaning not in MEANINGS:
            self.add(task, f"signatureMeaning {meaning!r} is not one of {', '.join(MEANINGS)}")
        if props.get("signatureMeaningExpression"):
            self._expression(task, props["signatureMeaningExpression"], "signatureMeaningExpression")
        user_tasks = {t.get("id") for t in self.xp(self.root, ".//bpmn:userTask | .//bpmn:manualTask")}
        rules = separation_rules(props)
        for rule in rules:
            if rule != "initiator" and rule not in user_tasks:
                self.add(task, f"separationOfDuties names {rule!r}, which is neither 'initiator' nor a user task")
        if not declares_separation(props) and is_review_task(props):
            self.add(task, "review/approval task without a separationOfDuties rule: name the initiator and the "
                           "tasks whose completer may not sign this one (author ≠ reviewer ≠ approver), or 'none'",
                     severity="warning")
        if props.get("dueIn"):
            try:
                TimerEventDefinition.parse_iso_duration(props["dueIn"])
            except Exception:  # noqa: BLE001 - SpiffWorkflow raises a bare Exception
                self.add(task, f"dueIn {props['dueIn']!r} is not an ISO 8601 duration")

    def check_service_tasks(self) -> None:
        ops = operations.registered_operations()
        for task in self.xp(self.root, ".//bpmn:serviceTask"):
            operator = self.xp(task, "./bpmn:extensionElements/spiffworkflow:serviceTaskOperator")
            if not operator:
                self.add(task, "service task names no operation (spiffworkflow:serviceTaskOperator)")
                continue
            name = operator[0].get("id")
            if name not in ops:
                self.add(task, f"unknown service operation {name!r} (registered: {', '.join(sorted(ops))})")
                continue
            params = self.xp(operator[0], "./spiffworkflow:parameters/spiffworkflow:parameter")
            for reason in operations.check_params(ops[name], {p.get("id") for p in params}):
                self.add(task, reason)
            for param in params:
                self._expression(task, param.get("value") or "", f"parameter {param.get('id')!r}")

    def check_call_activities(self) -> None:
        local = {p.get("id") for p in self.xp(self.root, ".//bpmn:process")}
        for call in self.xp(self.root, ".//bpmn:callActivity"):
            called = call.get("calledElement")
            if not called:
                self.add(call, "call activity names no calledElement")
            elif called not in local and called not in self.known:
                self.add(call, f"called process {called!r} is neither in this file nor deployed")

    # --- scripts -------------------------------------------------------------------------
    def _expression(self, el, source: str, what: str) -> None:
        if not source.strip():
            self.add(el, f"{what} is empty")
            return
        try:
            script_policy.check_expression(source, self.helpers)
        except ScriptPolicyError as exc:
            self.add(el, f"{what} refused by the script policy: {exc}")

    def _script(self, el, source: str, what: str) -> None:
        try:
            script_policy.check_script(source, self.helpers)
        except ScriptPolicyError as exc:
            self.add(el, f"{what} refused by the script policy: {exc}")

    def check_scripts(self) -> None:
        for task in self.xp(self.root, ".//bpmn:scriptTask"):
            script = self.xp(task, "./bpmn:script")
            if not script or not (script[0].text or "").strip():
                self.add(task, "script task has no script")
            else:
                self._script(task, script[0].text, "script")
        for kind in ("preScript", "postScript"):
            for node in self.xp(self.root, f".//spiffworkflow:{kind}"):
                if (node.text or "").strip():
                    self._script(self.owner(node), node.text, kind)
        for flow in self.xp(self.root, ".//bpmn:sequenceFlow[bpmn:conditionExpression]"):
            cond = self.xp(flow, "./bpmn:conditionExpression")[0]
            self._expression(flow, cond.text or "", "condition")
        for kind in ("loopCardinality", "completionCondition"):
            for node in self.xp(self.root, f".//bpmn:{kind}"):
                self._expression(self.owner(node), node.text or "", kind)
        for kind in ("messagePayload", "payloadExpression"):
            for node in self.xp(self.root, f".//spiffworkflow:{kind}"):
                self._expression(self.owner(node), node.text or "", kind)
        for node in self.xp(self.root, ".//bpmn:correlationPropertyRetrievalExpression/*"):
            self._expression(self.owner(node), node.text or "", "correlation expression")


def lint(root: etree._Element, file_name: str, known_process_ids: set[str] | None = None, *,
         draft_forms: dict[str, dict] | None = None, decisions: dict[str, set[str]] | None = None) -> list[Problem]:
    """Errors and warnings our rules find in one parsed BPMN document (empty list = clean).

    ``draft_forms`` maps form names to schemas that stand in for the form files (stored form
    versions the diagram will pin); ``decisions`` maps the DMN decisions business-rule tasks may
    call to the variables their outputs set."""
    return _Lint(root, file_name, known_process_ids or set(), draft_forms, decisions).run()
