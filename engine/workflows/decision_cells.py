"""Reading decision-table cells (SpiffWorkflow's Python cell dialect) as sets of input values.

SpiffWorkflow evaluates an input entry ``text`` against the input expression ``x`` as
``(x) == (text)`` when ``text`` is an expression on its own (``5``, ``"minor"``, ``True``),
as ``x text`` when it is not (``< 5``, ``in ("a", "b")``), and with ``?`` standing for the input
when it contains one (``3 <= ? < 7``, ``? < 2 or ? > 8``). This module reads the same three
forms into a NumberSet/ValueSet so that the verifier and the runtime agree on what a cell means;
anything else is refused as "not analysable" (a table we cannot verify is not deployed).
"""
from __future__ import annotations

import ast
import re

from engine.workflows.decision_sets import NumberSet, ValueSet

VAR = "dmninputexpr"
_QMARK = re.compile(r"(\?)(?=(?:[^'\"]|['\"][^'\"]*['\"])*$)")  # the runtime's own substitution
_OPS = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!="}
_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}

NUMERIC_TYPES = {"integer": True, "long": True, "int": True, "number": False, "double": False,
                 "decimal": False, "float": False}
TYPE_REFS = tuple(NUMERIC_TYPES) + ("string", "boolean")


class CellError(ValueError):
    """The cell cannot be read as a set of values of its input's type."""


class Domain:
    """The values of one input: its ``typeRef`` and, when declared, its allowed values."""

    def __init__(self, type_ref: str, allowed=None):
        if type_ref not in TYPE_REFS:
            raise CellError(f"typeRef {type_ref!r} is not one of {', '.join(TYPE_REFS)}")
        self.type_ref = type_ref
        self.numeric = type_ref in NUMERIC_TYPES
        self.integer = NUMERIC_TYPES.get(type_ref, False)
        universe = frozenset({True, False}) if type_ref == "boolean" else None
        self.universe = universe
        self.full = NumberSet.everything(self.integer) if self.numeric else ValueSet.everything(universe)
        if allowed is not None:
            self.full = allowed
            if not self.numeric and not allowed.negated:
                self.universe = allowed.values
                self.full = ValueSet.everything(self.universe)

    def accepts_constant(self, value) -> bool:
        if self.type_ref == "boolean":
            return isinstance(value, bool)
        if self.type_ref == "string":
            return isinstance(value, str)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        return not self.integer or float(value).is_integer()

    def constant_set(self, op: str, value):
        bound = self.numeric and op in ("<", "<=", ">", ">=") and isinstance(value, (int, float)) \
            and not isinstance(value, bool)
        if not bound and not self.accepts_constant(value):
            raise CellError(f"{value!r} is not of type {self.type_ref} (the input's typeRef)")
        if self.numeric:
            return NumberSet.compare(op, value, self.integer)
        if op not in ("==", "!="):
            raise CellError(f"{op} does not apply to {self.type_ref} values")
        return ValueSet({value}, negated=(op == "!="), universe=self.universe)

    def members(self, values, negated: bool):
        out = None
        for v in values:
            one = self.constant_set("==", v)
            out = one if out is None else out.union(one)
        if out is None:
            out = NumberSet([], self.integer) if self.numeric else ValueSet((), universe=self.universe)
        return out.complement() if negated else out

    def describe(self, value) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        return repr(value) if isinstance(value, str) else str(value)


def literal(node: ast.AST):
    """The Python value of a literal node (numbers, strings, booleans, negative numbers)."""
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError):
        raise CellError(f"{_show(node)!r} is not a literal value") from None


def _show(node: ast.AST) -> str:
    return ast.unparse(node).replace(VAR, "?")


def _members(node: ast.AST) -> list:
    if not isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        raise CellError(f"'in' needs a list of values, got {_show(node)!r}")
    return [literal(e) for e in node.elts]


def _compare(node: ast.Compare, domain: Domain):
    result = None
    left = node.left
    for op, right in zip(node.ops, node.comparators):
        if isinstance(op, (ast.In, ast.NotIn)):
            if not (isinstance(left, ast.Name) and left.id == VAR):
                raise CellError("'in' must test the input (? in (...))")
            part = domain.members(_members(right), isinstance(op, ast.NotIn))
        elif type(op) in _OPS:
            sym = _OPS[type(op)]
            if isinstance(left, ast.Name) and left.id == VAR:
                part = domain.constant_set(sym, literal(right))
            elif isinstance(right, ast.Name) and right.id == VAR:
                part = domain.constant_set(_FLIP[sym], literal(left))
            else:
                raise CellError(f"comparison {_show(node)!r} does not test the input")
        else:
            raise CellError(f"operator {type(op).__name__} is not analysable")
        result = part if result is None else result.intersect(part)
        left = right
    return result


def _tree(node: ast.AST, domain: Domain):
    if isinstance(node, ast.BoolOp):
        sets = [_tree(v, domain) for v in node.values]
        out = sets[0]
        for s in sets[1:]:
            out = out.intersect(s) if isinstance(node.op, ast.And) else out.union(s)
        return out
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return _tree(node.operand, domain).complement()
    if isinstance(node, ast.Compare):
        return _compare(node, domain)
    if isinstance(node, ast.Name) and node.id == VAR and domain.type_ref == "boolean":
        return domain.constant_set("==", True)
    raise CellError(f"{_show(node)!r} is not analysable (use comparisons of ? with literals)")


def _parse(text: str) -> ast.AST | None:
    try:
        return ast.parse(text, mode="eval").body
    except SyntaxError:
        return None


def read_cell(text: str | None, domain: Domain):
    """The set of input values the input entry ``text`` accepts; CellError when not analysable."""
    if text is None or not text.strip() or text.strip() == "-":
        return domain.full
    text = text.strip()
    substituted = _QMARK.sub(VAR, text)
    if VAR in substituted:
        node = _parse(substituted)
        if node is None:
            raise CellError("does not parse as an expression")
        return _tree(node, domain).intersect(domain.full)
    node = _parse(text)
    if node is not None:
        if isinstance(node, ast.Tuple):
            raise CellError("a list of values needs 'in (…)' (the runtime compares with == otherwise)")
        return domain.constant_set("==", literal(node)).intersect(domain.full)
    node = _parse(f"{VAR} {text}")
    if node is None:
        raise CellError("does not parse (write e.g. 5, \"minor\", < 5, in (1, 2), 3 <= ? < 7)")
    return _tree(node, domain).intersect(domain.full)


def read_allowed(text: str | None, domain_type: str):
    """The allowed values (``inputValues``/``outputValues``): a list of literals or a cell."""
    if text is None or not text.strip():
        return None
    node = _parse(text.strip())
    if node is not None and (isinstance(node, ast.Tuple) or isinstance(node, ast.Constant)
                             or isinstance(node, ast.UnaryOp)):
        values = [literal(e) for e in node.elts] if isinstance(node, ast.Tuple) else [literal(node)]
        return Domain(domain_type).members(values, negated=False)
    return read_cell(text, Domain(domain_type))
