"""Verifying DMN decision tables at validate time: overlaps, gaps, unreachable rules, types.

For the hit policies SpiffWorkflow runs (UNIQUE, FIRST, COLLECT) a table is refused when
- UNIQUE: two rules match one input (both rule ids and that input are named);
- UNIQUE/FIRST: some input matches no rule and the table declares no default output;
- FIRST: a rule can never be reached because earlier rules take all its inputs;
- a cell compares its input with a value of another type than the input's ``typeRef``, an output
  entry is not a value of its output's ``typeRef``, or lies outside the declared allowed values.
Cells must be in the analysable dialect of ``decision_cells``; the test sheet (``sealtrail:test``
cases in the decision's extension elements) is read here and run by ``engine.workflows.decisions``.
"""
from __future__ import annotations

import ast
import json
from dataclasses import dataclass, field

from lxml import etree

from engine.workflows import decision_sets as sets
from engine.workflows import script_policy
from engine.workflows.decision_cells import CellError, Domain, literal, read_allowed, read_cell
from engine.workflows.script_policy import ScriptPolicyError
from engine.workflows.xmlsafe import Problem

DMN_NAMESPACES = ("https://www.omg.org/spec/DMN/20191111/MODEL/", "http://www.omg.org/spec/DMN/20180521/MODEL/",
                  "http://www.omg.org/spec/DMN/20151101/dmn.xsd")
SEALTRAIL = "https://sealtrail.org/dmn"
HIT_POLICIES = ("UNIQUE", "FIRST", "COLLECT")


@dataclass
class Column:
    id: str
    label: str
    name: str  # outputs: the task-data variable; inputs: the expression text
    type_ref: str
    element: etree._Element
    allowed_text: str | None = None
    default_text: str | None = None


@dataclass
class Row:
    id: str
    number: int
    description: str
    inputs: list[str | None]
    outputs: list[str | None]
    element: etree._Element


@dataclass
class TestCase:
    id: str
    given: dict
    expect: dict
    rule: str | None
    element: etree._Element


@dataclass
class Table:
    """One decision (its single decision table) read from a DMN document."""

    file: str
    decision_id: str
    name: str
    hit_policy: str
    inputs: list[Column] = field(default_factory=list)
    outputs: list[Column] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)
    tests: list[TestCase] = field(default_factory=list)
    element: etree._Element | None = None

    @property
    def has_default(self) -> bool:
        return bool(self.outputs) and all(o.default_text is not None for o in self.outputs)


def is_dmn(root: etree._Element) -> bool:
    return etree.QName(root).namespace in DMN_NAMESPACES and etree.QName(root).localname == "definitions"


def _children(el, name: str) -> list:
    return [c for c in el if isinstance(c.tag, str) and etree.QName(c).localname == name]


def _text(el, name: str) -> str | None:
    found = _children(el, name)
    return found[0].text if found else None


def _nested_text(el, outer: str) -> str | None:
    found = _children(el, outer)
    return _text(found[0], "text") if found else None


class TableRefused(Exception):
    def __init__(self, problem: Problem):
        super().__init__(str(problem))
        self.problem = problem


def read_table(root: etree._Element, file_name: str) -> Table:
    """Our model of the one decision table in a DMN document; TableRefused when there is none."""
    decisions = _children(root, "decision")
    if len(decisions) != 1:
        raise TableRefused(Problem(file_name, None, root.sourceline,
                                   f"a DMN file holds exactly one decision (found {len(decisions)})"))
    decision = decisions[0]
    tables = _children(decision, "decisionTable")
    if len(tables) != 1:
        raise TableRefused(Problem(file_name, decision.get("id"), decision.sourceline,
                                   "the decision must be one decision table"))
    dt = tables[0]
    table = Table(file_name, decision.get("id") or "", decision.get("name") or decision.get("id") or "",
                  (dt.get("hitPolicy") or "UNIQUE").upper(), element=decision)
    for el in _children(dt, "input"):
        expr = _children(el, "inputExpression")
        table.inputs.append(Column(el.get("id") or "", el.get("label") or "",
                                   (_text(expr[0], "text") or "").strip() if expr else "",
                                   expr[0].get("typeRef", "") if expr else "", el,
                                   allowed_text=_nested_text(el, "inputValues")))
    for el in _children(dt, "output"):
        table.outputs.append(Column(el.get("id") or "", el.get("label") or "", el.get("name") or "",
                                    el.get("typeRef", ""), el, allowed_text=_nested_text(el, "outputValues"),
                                    default_text=_nested_text(el, "defaultOutputEntry")))
    for number, el in enumerate(_children(dt, "rule"), start=1):
        table.rows.append(Row(el.get("id") or "", number, (_text(el, "description") or "").strip(),
                              [_text(c, "text") for c in _children(el, "inputEntry")],
                              [_text(c, "text") for c in _children(el, "outputEntry")], el))
    table.tests = _read_tests(decision, file_name)
    return table


def _read_tests(decision, file_name: str) -> list[TestCase]:
    out = []
    for ext in _children(decision, "extensionElements"):
        for case in ext.iterfind(f"{{{SEALTRAIL}}}test"):
            given, expect = case.find(f"{{{SEALTRAIL}}}given"), case.find(f"{{{SEALTRAIL}}}expect")
            try:
                out.append(TestCase(case.get("id") or f"test {len(out) + 1}",
                                    json.loads(given.text if given is not None else "{}"),
                                    json.loads(expect.text if expect is not None else "{}"), case.get("rule"), case))
            except json.JSONDecodeError as exc:
                raise TableRefused(Problem(file_name, case.get("id"), case.sourceline,
                                           f"test case is not JSON: {exc}")) from None
    return out


class _Check:
    def __init__(self, table: Table):
        self.t = table
        self.problems: list[Problem] = []

    def add(self, el, ident: str | None, reason: str) -> None:
        self.problems.append(Problem(self.t.file, ident, el.sourceline if el is not None else None, reason))

    def run(self) -> list[Problem]:
        t = self.t
        if t.hit_policy not in HIT_POLICIES:
            self.add(t.element, t.decision_id, f"hit policy {t.hit_policy} is not supported "
                                               f"(SpiffWorkflow runs {', '.join(HIT_POLICIES)})")
            return self.problems
        if not t.outputs or not t.rows:
            self.add(t.element, t.decision_id, "the table needs at least one output and one rule")
            return self.problems
        domains = self._domains()
        out_checks = self._output_domains()
        boxes = self._boxes(domains)
        self._outputs(out_checks)
        if self.problems or domains is None:
            return self.problems
        self._coverage(domains, boxes)
        return self.problems

    def _domains(self) -> list[Domain] | None:
        domains = []
        for col in self.t.inputs:
            if not col.name:
                self.add(col.element, col.id, "input has no input expression")
            try:
                allowed = read_allowed(col.allowed_text, col.type_ref) if col.type_ref else None
                domains.append(Domain(col.type_ref, allowed))
            except CellError as exc:
                self.add(col.element, col.id, f"input {col.label or col.name!r}: {exc}")
        return domains if len(domains) == len(self.t.inputs) else None

    def _output_domains(self) -> list:
        out = []
        for col in self.t.outputs:
            if not col.name:
                self.add(col.element, col.id, "output has no name (the task-data variable it sets)")
            try:
                allowed = read_allowed(col.allowed_text, col.type_ref)
                out.append((Domain(col.type_ref), allowed))
            except CellError as exc:
                self.add(col.element, col.id, f"output {col.name or col.label!r}: {exc}")
                out.append(None)
        return out

    def _boxes(self, domains) -> list[tuple]:
        boxes = []
        for row in self.t.rows:
            if len(row.inputs) != len(self.t.inputs) or len(row.outputs) != len(self.t.outputs):
                self.add(row.element, row.id, "rule has not one entry per input and output")
                continue
            if domains is None:
                continue
            box = []
            for col, dom, text in zip(self.t.inputs, domains, row.inputs):
                try:
                    box.append(read_cell(text, dom))
                except CellError as exc:
                    self.add(row.element, row.id, f"rule {row.id}, input {col.label or col.name!r} "
                                                  f"cell {(text or '').strip()!r}: {exc}")
            if len(box) == len(domains):
                boxes.append(tuple(box))
        return boxes

    def _value_problem(self, col: Column, check, text: str | None, what: str) -> str | None:
        if check is None:
            return None
        domain, allowed = check
        if text is None or not text.strip():
            return f"{what} is empty"
        try:
            value = literal(ast.parse(text.strip(), mode="eval").body)
        except (CellError, SyntaxError):
            if allowed is not None:
                return f"{what} {text.strip()!r} is an expression; outputs with allowed values must be literals"
            return None
        if not domain.accepts_constant(value):
            return f"{what} {value!r} is not of type {col.type_ref} (the output's typeRef)"
        if allowed is not None and allowed.intersect(domain.constant_set("==", value)).is_empty():
            return f"{what} {value!r} is not one of the allowed values {col.allowed_text.strip()}"
        return None

    def _outputs(self, checks) -> None:
        defaults = [c.default_text is not None for c in self.t.outputs]
        if any(defaults) and not all(defaults):
            self.add(self.t.element, self.t.decision_id, "give every output a default or none")
        for col, check in zip(self.t.outputs, checks):
            if col.default_text is not None:
                reason = self._value_problem(col, check, col.default_text, f"default of {col.name!r}")
                if reason:
                    self.add(col.element, col.id, reason)
        for row in self.t.rows:
            for col, check, text in zip(self.t.outputs, checks, row.outputs):
                reason = self._value_problem(col, check, text, f"rule {row.id}, output {col.name!r}")
                if reason:
                    self.add(row.element, row.id, reason)

    def describe(self, domains, witness) -> str:
        return ", ".join(f"{col.name} = {dom.describe(v)}" for col, dom, v in zip(self.t.inputs, domains, witness))

    def _coverage(self, domains, boxes) -> None:
        t = self.t
        rows = [r for r in t.rows]
        if t.hit_policy == "UNIQUE":
            for i in range(len(boxes)):
                for j in range(i + 1, len(boxes)):
                    both = sets.box_overlap(boxes[i], boxes[j])
                    if both is not None:
                        self.add(rows[j].element, rows[j].id,
                                 f"rules {rows[i].id} and {rows[j].id} overlap: both match "
                                 f"{self.describe(domains, sets.box_witness(both))} (hit policy UNIQUE)")
        if t.hit_policy == "FIRST":
            for k in range(1, len(boxes)):
                try:
                    left = sets.subtract_all([boxes[k]], boxes[:k])
                except sets.TooManyPieces as exc:
                    self.add(rows[k].element, rows[k].id, f"cannot verify reachability: {exc}")
                    continue
                if not left:
                    self.add(rows[k].element, rows[k].id,
                             f"rule {rows[k].id} is unreachable: earlier rules match every input it matches "
                             f"(hit policy FIRST)")
        if t.hit_policy in ("UNIQUE", "FIRST") and not t.has_default:
            space = [tuple(d.full for d in domains)]
            try:
                left = sets.subtract_all(space, boxes)
            except sets.TooManyPieces as exc:
                self.add(t.element, t.decision_id, f"cannot verify coverage: {exc}")
                return
            if left:
                self.add(t.element, t.decision_id,
                         f"no rule matches {self.describe(domains, sets.box_witness(left[0]))} "
                         f"(add a rule or a default output)")


def _policy(table: Table, helper_names: frozenset[str]) -> list[Problem]:
    """Input expressions, output entries and defaults pass the script policy (cells are literals
    and comparisons by construction; they are checked again before every evaluation)."""
    found = []
    sources = [(c.element, c.id, c.name, "input expression") for c in table.inputs if c.name]
    sources += [(c.element, c.id, c.default_text, "default output") for c in table.outputs if c.default_text]
    sources += [(r.element, r.id, text, f"output of rule {r.id}") for r in table.rows for text in r.outputs
                if text and text.strip()]
    for el, ident, source, what in sources:
        try:
            script_policy.check_expression(source, helper_names)
        except ScriptPolicyError as exc:
            found.append(Problem(table.file, ident, el.sourceline, f"{what} refused by the script policy: {exc}"))
    return found


def verify(table: Table, helper_names: frozenset[str] = frozenset()) -> list[Problem]:
    """Every finding about ``table`` (empty when it is sound)."""
    return _policy(table, helper_names) or _Check(table).run()
