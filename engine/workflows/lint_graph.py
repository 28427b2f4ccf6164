"""Lint over the shape of a process and its data: what SpiffWorkflow 3.2 deploys without a word.

A disconnected task, a path that never reaches an end event, a gateway whose conditions may all
be false, a condition over a variable nothing sets: SpiffWorkflow parses all of these and the
instance fails (or waits forever) months later. Each finding names the element, its name and its
line; structural faults are errors (they block deploy), data-flow guesses are warnings (start
data and service results are only partly visible here).

Scopes: every ``bpmn:process`` and ``bpmn:subProcess`` is checked on its own; a sub-process is one
node of its parent. Roots of a scope are its start events and event sub-processes; a boundary
event is reachable when the activity it is attached to is, and that activity may leave through it.
"""
from __future__ import annotations

import ast
from collections import deque
from dataclasses import dataclass, field

from lxml import etree

from engine.workflows import script_policy
from engine.workflows.script_policy import ScriptPolicyError

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core"
NS = {"bpmn": BPMN, "spiffworkflow": SPIFF}
FLOW_NODES = frozenset({
    "startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent",
    "task", "userTask", "manualTask", "scriptTask", "serviceTask", "sendTask", "receiveTask",
    "businessRuleTask", "callActivity", "subProcess", "transaction", "exclusiveGateway",
    "inclusiveGateway", "parallelGateway", "eventBasedGateway", "complexGateway"})
SCOPES = ("process", "subProcess", "transaction")
#: A process may declare the data it is started with (``spiffworkflow:property name="startData"``
#: on its start event, comma-separated), so conditions over it are not reported.
START_DATA = "startData"


def _local(el) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


@dataclass
class Finding:
    """One graph/data finding before it becomes a Problem."""

    element: etree._Element
    reason: str
    severity: str = "error"


@dataclass
class _Scope:
    el: etree._Element
    nodes: dict[str, etree._Element] = field(default_factory=dict)
    outgoing: dict[str, list[str]] = field(default_factory=dict)
    incoming: dict[str, list[str]] = field(default_factory=dict)
    flows: dict[str, etree._Element] = field(default_factory=dict)
    boundaries: dict[str, list[str]] = field(default_factory=dict)  # activity id -> boundary ids


def _scope(el) -> _Scope:
    scope = _Scope(el)
    for child in el:
        name = _local(child)
        if name in FLOW_NODES and child.get("id"):
            scope.nodes[child.get("id")] = child
            scope.outgoing[child.get("id")] = []
            scope.incoming[child.get("id")] = []
        elif name == "sequenceFlow" and child.get("id"):
            scope.flows[child.get("id")] = child
    for flow in scope.flows.values():
        src, dst = flow.get("sourceRef"), flow.get("targetRef")
        if src in scope.nodes and dst in scope.nodes:
            scope.outgoing[src].append(dst)
            scope.incoming[dst].append(src)
    for ident, node in scope.nodes.items():
        if _local(node) == "boundaryEvent" and node.get("attachedToRef") in scope.nodes:
            scope.boundaries.setdefault(node.get("attachedToRef"), []).append(ident)
    return scope


def _event_subprocess(node) -> bool:
    return _local(node) == "subProcess" and node.get("triggeredByEvent") == "true"


def _forward(scope: _Scope) -> set[str]:
    roots = [i for i, n in scope.nodes.items() if _local(n) == "startEvent" or _event_subprocess(n)]
    seen, todo = set(roots), deque(roots)
    while todo:
        ident = todo.popleft()
        for nxt in scope.outgoing[ident] + scope.boundaries.get(ident, []):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def _backward(scope: _Scope) -> set[str]:
    """Nodes from which an end event can be reached (an event sub-process ends on its own)."""
    sinks = [i for i, n in scope.nodes.items() if _local(n) == "endEvent" or _event_subprocess(n)]
    attached_to = {b: a for a, bs in scope.boundaries.items() for b in bs}
    seen, todo = set(sinks), deque(sinks)
    while todo:
        ident = todo.popleft()
        before = list(scope.incoming[ident])
        if ident in attached_to:
            before.append(attached_to[ident])
        for prev in before:
            if prev not in seen:
                seen.add(prev)
                todo.append(prev)
    return seen


def structure(root) -> list[Finding]:
    """Nodes with no incoming/outgoing flow, unreachable nodes, dead ends, gateways without default."""
    findings: list[Finding] = []
    for scope_el in root.xpath(".//bpmn:process | .//bpmn:subProcess | .//bpmn:transaction", namespaces=NS):
        scope = _scope(scope_el)
        if not scope.nodes:
            continue
        reported: set[str] = set()
        for ident, node in scope.nodes.items():
            kind = _local(node)
            if not scope.incoming[ident] and kind not in ("startEvent", "boundaryEvent") \
                    and not _event_subprocess(node):
                findings.append(Finding(node, "has no incoming sequence flow: it can never run"))
                reported.add(ident)
            if not scope.outgoing[ident] and kind != "endEvent" and not _event_subprocess(node):
                findings.append(Finding(node, "has no outgoing sequence flow: the path stops here without "
                                              "an end event"))
                reported.add(ident)
        reachable, finishing = _forward(scope), _backward(scope)
        for ident, node in scope.nodes.items():
            if ident in reported:
                continue
            if ident not in reachable:
                findings.append(Finding(node, "is unreachable: no path from a start event leads here"))
            elif ident not in finishing:
                findings.append(Finding(node, "is a dead end: no path from here reaches an end event"))
        findings.extend(_gateways(scope))
    return findings


def _gateways(scope: _Scope) -> list[Finding]:
    out = []
    for ident, node in scope.nodes.items():
        if _local(node) not in ("exclusiveGateway", "inclusiveGateway") or node.get("default"):
            continue
        flows = [f for f in scope.flows.values() if f.get("sourceRef") == ident]
        if len(flows) > 1 and all(f.xpath("./bpmn:conditionExpression", namespaces=NS) for f in flows):
            out.append(Finding(node, "has no default flow: when every condition is false the instance "
                                     "stops with an error", "warning"))
    return out


# --- data flow -------------------------------------------------------------------------------

def _assigned(source: str) -> set[str]:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
    return names


def _props(el) -> dict[str, str]:
    return {p.get("name"): p.get("value") or "" for p in el.xpath(
        "./bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property", namespaces=NS)}


def variables_set(root, form_schemas: dict[str, dict | None]) -> set[str]:
    """Every variable something in the diagram sets: form fields (not read-only), scripts,
    service results, message variables, declared start data."""
    names: set[str] = set()
    for task in root.xpath(".//bpmn:userTask | .//bpmn:manualTask", namespaces=NS):
        schema = form_schemas.get(_props(task).get("formJsonSchemaFilename", "").removesuffix(".json"))
        for key, sub in ((schema or {}).get("properties") or {}).items():
            if not (isinstance(sub, dict) and sub.get("readOnly")):
                names.add(key)
    for script in root.xpath(".//bpmn:script | .//spiffworkflow:preScript | .//spiffworkflow:postScript",
                             namespaces=NS):
        names |= _assigned(script.text or "")
    for op in root.xpath(".//spiffworkflow:serviceTaskOperator[@resultVariable]", namespaces=NS):
        names.add(op.get("resultVariable"))
    for el in root.xpath(".//*[@spiffworkflow:messageVariable] | .//*[@messageVariable]", namespaces=NS):
        names.add(el.get(f"{{{SPIFF}}}messageVariable") or el.get("messageVariable"))
    for var in root.xpath(".//spiffworkflow:messageVariable", namespaces=NS):
        names.add((var.text or "").strip())
    for start in root.xpath(".//bpmn:startEvent", namespaces=NS):
        names.update(n.strip() for n in _props(start).get(START_DATA, "").split(",") if n.strip())
    for item in root.xpath(".//bpmn:multiInstanceLoopCharacteristics/*[@name]", namespaces=NS):
        names.add(item.get("name"))
    return names


def data_flow(root, form_schemas: dict[str, dict | None], helpers: frozenset[str],
              decision_outputs: dict[str, set[str]] | None = None) -> list[Finding]:
    """Conditions over variables nothing sets; read-only required form fields nothing fills.
    ``decision_outputs``: the variables each DMN decision sets (business-rule tasks set them)."""
    known = variables_set(root, form_schemas) | set(script_policy.SAFE_BUILTIN_NAMES) | set(helpers)
    for called in root.xpath(".//bpmn:businessRuleTask/bpmn:extensionElements/spiffworkflow:calledDecisionId",
                             namespaces=NS):
        known |= (decision_outputs or {}).get((called.text or "").strip(), set()) | {"decisions"}
    has_call = bool(root.xpath(".//bpmn:callActivity", namespaces=NS))
    findings = []
    for flow in root.xpath(".//bpmn:sequenceFlow[bpmn:conditionExpression]", namespaces=NS):
        text = flow.xpath("./bpmn:conditionExpression", namespaces=NS)[0].text or ""
        try:
            names = script_policy.check_expression(text, helpers).names
        except ScriptPolicyError:
            continue  # reported by the script checks
        for name in sorted(set(names) - known):
            findings.append(Finding(flow, f"condition reads {name!r}, which no form, script, service "
                                          f"result or declared start data ({START_DATA}) sets", "warning"))
    if has_call:
        return findings  # a called process may set anything: read-only fields cannot be judged here
    for task in root.xpath(".//bpmn:userTask | .//bpmn:manualTask", namespaces=NS):
        form = _props(task).get("formJsonSchemaFilename", "").removesuffix(".json")
        schema = form_schemas.get(form) or {}
        for name in schema.get("required") or []:
            sub = (schema.get("properties") or {}).get(name)
            if isinstance(sub, dict) and sub.get("readOnly") and name not in known:
                findings.append(Finding(task, f"form {form!r} requires the read-only field {name!r}, which no "
                                              f"task, script, service result or declared start data fills",
                                        "warning"))
    return findings
