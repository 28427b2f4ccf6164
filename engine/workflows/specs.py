"""From BPMN and DMN bytes to SpiffWorkflow specs: safe XML, our lint pass, SpiffWorkflow's parser.

``validate(documents)`` never raises for a bad document: it returns every problem found (file,
element id, line number, reason) and, when there are none, the parsed specs of each executable
process and the verified decision tables, ready to be deployed. A DMN table is verified
(``decision_tables``) and its test sheet run before anything that uses it can be deployed.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.parser.process import VALIDATOR

from engine.workflows import decision_tables, xmlsafe
from engine.workflows.decisions import Parser, run_test_sheet, untested_rules
from engine.workflows.lint import NS, lint
from engine.workflows.operations import helper_names
from engine.workflows.xmlsafe import Problem, XmlRefused


@dataclass(frozen=True)
class Document:
    """One BPMN or DMN file to validate or deploy."""

    file_name: str
    content: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


@dataclass
class ParsedProcess:
    """An executable process parsed from a document, with the specs of what it calls."""

    process_id: str
    name: str
    document: Document
    spec: object  # BpmnProcessSpec
    subprocess_specs: dict


@dataclass
class ParsedDecision:
    """A verified decision table from a DMN document."""

    decision_id: str
    name: str
    document: Document
    table: decision_tables.Table


@dataclass
class Validation:
    """The outcome of validating documents: problems, or the parsed processes and decisions."""

    problems: list[Problem] = field(default_factory=list)
    processes: dict[str, ParsedProcess] = field(default_factory=dict)
    warnings: list[Problem] = field(default_factory=list)
    decisions: dict[str, ParsedDecision] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems


def _process_ids(root) -> list[tuple[str, str, bool]]:
    return [(p.get("id"), p.get("name") or p.get("id"), p.get("isExecutable") == "true")
            for p in root.xpath(".//bpmn:process", namespaces=NS)]


def _spiff_problem(exc: Exception, file_name: str, lines: dict[str, int]) -> Problem:
    if isinstance(exc, ValidationException):
        ident = exc.id or None
        line = exc.line_number if isinstance(exc.line_number, int) and exc.line_number else lines.get(ident or "")
        return Problem(exc.file_name or file_name, ident, line, str(exc.args[0]) if exc.args else str(exc))
    return Problem(file_name, None, None, f"{type(exc).__name__}: {exc}")


def _outputs_of(doc: Document, max_bytes: int) -> set[str]:
    """The variables a deployed decision's outputs set (read from its stored DMN)."""
    try:
        table = decision_tables.read_table(xmlsafe.parse(doc.content, doc.file_name, max_bytes=max_bytes),
                                           doc.file_name)
    except (XmlRefused, decision_tables.TableRefused):
        return set()
    return {o.name for o in table.outputs}


def _read_decisions(dmn_roots, result: Validation, helper_names) -> None:
    for doc, root in dmn_roots:
        try:
            table = decision_tables.read_table(root, doc.file_name)
        except decision_tables.TableRefused as exc:
            result.problems.append(exc.problem)
            continue
        if table.decision_id in result.decisions:
            result.problems.append(Problem(doc.file_name, table.decision_id, table.element.sourceline,
                                           f"decision {table.decision_id!r} is also defined in "
                                           f"{result.decisions[table.decision_id].document.file_name}"))
            continue
        result.problems.extend(decision_tables.verify(table, helper_names))
        result.decisions[table.decision_id] = ParsedDecision(table.decision_id, table.name, doc, table)


def validate(documents: list[Document], *, known: dict[str, Document] | None = None,
             known_decisions: dict[str, Document] | None = None,
             max_bytes: int = xmlsafe.DEFAULT_MAX_BYTES, draft_forms: dict[str, dict] | None = None) -> Validation:
    """Validate ``documents``; ``known`` maps already deployed process ids to their documents
    (used to resolve call activities into processes of other files), ``known_decisions`` deployed
    decision ids to their DMN documents (business-rule tasks may use them); ``draft_forms`` maps
    form names to stored schemas that stand in for the form files. Errors go to ``problems``,
    warnings (which do not block deploy) to ``warnings``."""
    result = Validation()
    known = dict(known or {})
    roots: list[tuple[Document, etree._Element]] = []
    dmn_roots: list[tuple[Document, etree._Element]] = []
    own_ids: set[str] = set()
    for doc in documents:
        try:
            root = xmlsafe.parse(doc.content, doc.file_name, max_bytes=max_bytes)
        except XmlRefused as exc:
            result.problems.append(exc.problem)
            continue
        if decision_tables.is_dmn(root):
            dmn_roots.append((doc, root))
            continue
        roots.append((doc, root))
        own_ids.update(pid for pid, _, _ in _process_ids(root))
    _read_decisions(dmn_roots, result, helper_names())
    other_decisions = {k: v for k, v in (known_decisions or {}).items() if k not in result.decisions}
    outputs = {did: {o.name for o in p.table.outputs} for did, p in result.decisions.items()}
    outputs.update({did: _outputs_of(doc, max_bytes) for did, doc in other_decisions.items()})
    for pid in own_ids:
        known.pop(pid, None)
    known_ids = own_ids | set(known)
    for doc, root in roots:
        for finding in lint(root, doc.file_name, known_ids, draft_forms=draft_forms, decisions=outputs):
            (result.warnings if finding.severity == "warning" else result.problems).append(finding)
    if result.problems:
        return result

    parser = Parser(validator=VALIDATOR)
    lines: dict[str, dict[str, int]] = {}
    try:
        for doc, root in dmn_roots:
            lines[doc.file_name] = xmlsafe.line_index(root)
            parser.add_dmn_xml(root, doc.file_name)
        for dep in other_decisions.values():
            parser.add_dmn_xml(xmlsafe.parse(dep.content, dep.file_name, max_bytes=max_bytes), dep.file_name)
        for doc, root in roots:
            lines[doc.file_name] = xmlsafe.line_index(root)
            parser.add_bpmn_xml(root, doc.file_name)
        for dep in {d.file_name: d for d in known.values()}.values():
            parser.add_bpmn_xml(xmlsafe.parse(dep.content, dep.file_name, max_bytes=max_bytes), dep.file_name)
        for decision_id, parsed in result.decisions.items():
            hits: set[str] = set()
            result.problems.extend(run_test_sheet(parsed.table, parser.get_engine(decision_id, None), hits))
            result.warnings.extend(untested_rules(parsed.table, hits))
    except (SpiffWorkflowException, TypeError, ValueError, KeyError, AttributeError) as exc:
        file_name = getattr(exc, "file_name", "") or (documents[0].file_name if documents else "")
        result.problems.append(_spiff_problem(exc, file_name, lines.get(file_name, {})))
        return result
    for doc, root in roots:
        for pid, name, executable in _process_ids(root):
            if not executable:
                continue
            try:
                spec = parser.get_spec(pid)
                subprocess_specs = parser.get_subprocess_specs(pid)
            except (SpiffWorkflowException, TypeError, ValueError, KeyError, AttributeError) as exc:
                result.problems.append(_spiff_problem(exc, doc.file_name, lines.get(doc.file_name, {})))
                continue
            result.processes[pid] = ParsedProcess(pid, name, doc, spec, subprocess_specs)
    if not result.problems and not result.processes and not result.decisions:
        result.problems.append(Problem(documents[0].file_name if documents else "", None, None,
                                       "no executable process (isExecutable=\"true\") found"))
    return result
