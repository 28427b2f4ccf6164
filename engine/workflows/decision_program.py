"""A decision table as one expression, so that evaluating it costs one script-worker round trip.

Evaluated cell by cell, a table of R rules over I inputs costs up to I + R·I + outputs round trips
to the script worker (each a pipe conversation, ~0.1–0.3 ms). ``compile_table`` writes the whole
table as a single expression with the meaning SpiffWorkflow gives each piece — the inputs
evaluated once, in column order; each rule's cells ``(input) == (cell)``, ``(input) cell`` or the
cell with ``?`` standing for the input, joined with ``and`` (so a rule stops at its first false
cell, as the cell-by-cell engine did); a rule's outputs only when it matched; the default outputs
only when no rule matched. Every piece is first checked against the script policy on its own,
exactly as it would be evaluated alone; the composed expression is checked again as a whole and
runs in a worker under the same OS limits and budgets. One rule per source line, so the line a
failure reports names the input, the rule or the default it came from.
"""
from __future__ import annotations

import ast
import re
from collections import OrderedDict
from dataclasses import dataclass

from SpiffWorkflow.util.deep_merge import DeepMerge

from engine.workflows import script_policy

_QMARK = re.compile(r"(\?)(?=(?:[^'\"]|['\"][^'\"]*['\"])*$)")  # SpiffWorkflow's own substitution
_PLACEHOLDER = "dmninputexpr"
#: Room for a few hundred rules; every cell in it was checked under the usual per-piece cap.
MAX_PROGRAM_CHARS = 50 * script_policy.MAX_SOURCE_CHARS


class ProgramError(ValueError):
    """A cell, input or output of the table is refused by the script policy (names the element)."""


@dataclass(frozen=True)
class Program:
    """The table's composed source and which line holds which input, rule and default."""

    source: str
    lines: dict  # source line -> ("input", label) | ("rule", rule id) | ("default", "")

    def where(self, line: int | None) -> str:
        kind, name = self.lines.get(line or 0, ("", ""))
        if kind == "input":
            return f"input {name!r}"
        if kind == "rule":
            return f"rule {name}"
        return "default output" if kind == "default" else "table"


def _piece(text: str, helpers: frozenset, what: str) -> str:
    """``text`` checked alone as an expression, rendered on one line (no comments, no newlines)."""
    try:
        script_policy.check_expression(text, helpers)
    except script_policy.ScriptPolicyError as exc:
        raise ProgramError(f"{what}: {exc}") from None
    return ast.unparse(ast.parse(text.strip(), mode="eval"))


def _cell(text: str, input_expr: str, ref: str, helpers: frozenset, what: str) -> str:
    """One input entry as SpiffWorkflow (and ``DecisionEngine.evaluate``) reads it, on ``ref``."""
    substituted = _QMARK.sub(_PLACEHOLDER, text)
    if _PLACEHOLDER in substituted:
        rendered = _piece(substituted, helpers | {_PLACEHOLDER}, what)
        return ast.unparse(_Replace(_PLACEHOLDER, ref).visit(ast.parse(rendered, mode="eval")))
    try:
        script_policy.check_expression(text, helpers)
        glued = f"({input_expr}) == ({text})"
    except script_policy.ScriptSyntaxError:
        glued = f"({input_expr}) {text}"
    except script_policy.ScriptPolicyError as exc:
        raise ProgramError(f"{what}: {exc}") from None
    rendered = _piece(glued, helpers, what)
    tree = ast.parse(rendered, mode="eval")
    tree.body.left = ast.parse(ref, mode="eval").body  # the input, evaluated once, not the expression
    return ast.unparse(tree)


class _Replace(ast.NodeTransformer):
    def __init__(self, name: str, ref: str):
        self.name, self.ref = name, ref

    def visit_Name(self, node):
        return ast.parse(self.ref, mode="eval").body if node.id == self.name else node


def _free_name(base: str, taken: set) -> str:
    name, n = base, 1
    while name in taken:
        name, n = f"{base}{n}", n + 1
    return name


_CACHE: dict[tuple, Program] = {}
_CACHE_SIZE = 256


def _key(table, defaults: dict, helpers: frozenset) -> tuple:
    """Everything the composed source depends on (a deserialized spec brings new table objects)."""
    return (tuple((i.label, i.expression) for i in table.inputs),
            tuple((o.id, o.name, o.label) for o in table.outputs),
            tuple((r.id, tuple((table.inputs.index(e.input), tuple(e.lhs)) for e in r.inputEntries),
                   tuple(getattr(e, "text", None) for e in r.outputEntries)) for r in table.rules),
            tuple(sorted(defaults.items())), helpers)


def compile_table(table, defaults: dict, helpers: frozenset) -> Program:
    """The table (SpiffWorkflow ``DecisionTable``) and its default outputs (output id -> text) as
    one policy-checked expression, built once per table content; ProgramError names the piece the
    policy refuses."""
    key = _key(table, defaults, helpers)
    program = _CACHE.get(key)
    if program is None:
        program = _compile(table, defaults, helpers)
        if len(_CACHE) >= _CACHE_SIZE:
            _CACHE.clear()
        _CACHE[key] = program
    return program


def _compile(table, defaults: dict, helpers: frozenset) -> Program:
    texts = [i.expression for i in table.inputs]
    texts += [lhs for r in table.rules for e in r.inputEntries for lhs in e.lhs if lhs]
    texts += [e.text for r in table.rules for e in r.outputEntries if getattr(e, "text", None)]
    texts += list(defaults.values())
    taken = set().union(*(set(re.findall(r"[A-Za-z_]\w*", t)) for t in texts)) | set(helpers)
    values, hits, hit = (_free_name(n, taken) for n in ("dmnin", "dmnhits", "dmnhit"))
    lines: dict = {}
    out = [f"(lambda {values}: (lambda {hits}: ({values}, {hits},"]
    if defaults:
        parts = [_piece(defaults[o.id], helpers, f"default output {o.name or o.label!r}") for o in table.outputs]
        out.append(f"None if any({hit} is not None for {hit} in {hits}) else [{', '.join(parts)}]")
        lines[len(out)] = ("default", "")
    else:
        out.append("None")
    out.append("))([")
    for rule in table.rules:
        cells = []
        for entry in rule.inputEntries:
            column = table.inputs.index(entry.input)
            for lhs in entry.lhs:
                if lhs is not None:
                    cells.append(_cell(lhs, entry.input.expression, f"{values}[{column}]", helpers,
                                       f"rule {rule.id}, input {entry.input.label or entry.input.expression!r}"))
        results = [_piece(e.text, helpers, f"rule {rule.id}, output {e.output.name!r}")
                   if getattr(e, "text", None) else "''" for e in rule.outputEntries]
        test = " and ".join(f"({c})" for c in cells) or "True"
        out.append(f"[{', '.join(results)}] if {test} else None,")
        lines[len(out)] = ("rule", rule.id)
    out.append("]))([")
    for column in table.inputs:
        out.append(f"({_piece(column.expression, helpers, f'input {column.label or column.expression!r}')}),")
        lines[len(out)] = ("input", column.label or column.expression)
    out.append("])")
    source = "\n".join(out)
    try:
        script_policy.check_expression(source, helpers, max_chars=MAX_PROGRAM_CHARS)
    except script_policy.ScriptPolicyError as exc:
        raise ProgramError(f"table {table.id}: {exc}") from None
    return Program(source, lines)


def outputs_of(rule, values: list) -> OrderedDict:
    """A matched rule's outputs keyed as SpiffWorkflow's ``Rule.output_as_dict`` keys them."""
    out = OrderedDict()
    for entry, value in zip(rule.outputEntries, values):
        key = entry.output.name or entry.output.label
        if "." not in key:
            out[key] = value
            continue
        parts = list(reversed(key.split(".")))
        for sub in parts[:-1]:
            value = {sub: value}
        out[parts[-1]] = DeepMerge.merge(out.get(parts[-1], {}), value)
    return out
