"""The script policy: which Python a BPMN diagram may contain, checked on the AST.

BPMN script tasks, pre/post scripts, gateway conditions, timer expressions and service-task
parameters are Python. SpiffWorkflow hands them to ``eval``/``exec``; restricted builtins alone are
escaped through ``().__class__.__base__.__subclasses__()``. So every piece of source is parsed and
checked against a whitelist of AST nodes, names and attributes — at deploy time and again before
every evaluation — and then compiled from a *rewritten* tree in which ``**``, ``*`` and ``<<`` go
through size-checked helpers (``9**9**9`` would otherwise hang the process inside one C call).
"""
from __future__ import annotations

import ast
import builtins
import datetime as _dt
import decimal
import re
from dataclasses import dataclass
from functools import lru_cache

from engine.sandbox.guards import (FILENAME, MAX_INT_BITS, MAX_SEQUENCE_LEN,  # noqa: F401 - re-exported
                                   MAX_TEXT_LEN, SAFE_BUILTIN_NAMES)

MAX_SOURCE_CHARS = 20_000


class ScriptPolicyError(ValueError):
    """Source refused by the policy; ``line`` is the 1-based line of the offending node."""

    def __init__(self, reason: str, line: int | None = None):
        super().__init__(f"line {line}: {reason}" if line else reason)
        self.reason = reason
        self.line = line


class ScriptSyntaxError(ScriptPolicyError):
    """The source does not parse (SpiffWorkflow's DMN engine tells cells like ``< 5`` apart by it)."""


_ALLOWED_NODES: tuple[type, ...] = (
    # structure
    ast.Module, ast.Expression, ast.Expr, ast.Pass, ast.Break, ast.Continue,
    ast.Assign, ast.AugAssign, ast.If, ast.For, ast.While, ast.Delete, ast.Assert,
    # expressions
    ast.BoolOp, ast.BinOp, ast.UnaryOp, ast.Compare, ast.IfExp, ast.Call, ast.keyword,
    ast.Constant, ast.Name, ast.Attribute, ast.Subscript, ast.Slice,
    ast.List, ast.Tuple, ast.Dict, ast.Set, ast.NamedExpr, ast.Lambda, ast.arguments, ast.arg,
    ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp, ast.comprehension,
    ast.JoinedStr, ast.FormattedValue,
    # contexts and operators
    ast.Load, ast.Store, ast.Del,
    ast.And, ast.Or, ast.Not, ast.Invert, ast.UAdd, ast.USub,
    ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow, ast.LShift, ast.RShift,
    ast.BitAnd, ast.BitOr, ast.BitXor,
    ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.In, ast.NotIn, ast.Is, ast.IsNot,
)

_REFUSED_NODE_REASONS = {
    ast.Import: "import is not allowed",
    ast.ImportFrom: "import is not allowed",
    ast.FunctionDef: "defining functions is not allowed",
    ast.AsyncFunctionDef: "defining functions is not allowed",
    ast.ClassDef: "defining classes is not allowed",
    ast.Global: "global is not allowed",
    ast.Nonlocal: "nonlocal is not allowed",
    ast.Try: "try/except is not allowed",
    ast.Raise: "raise is not allowed",
    ast.With: "with is not allowed",
    ast.Yield: "yield is not allowed",
    ast.YieldFrom: "yield is not allowed",
    ast.Await: "await is not allowed",
    ast.Starred: "* unpacking is not allowed",
}


def _sequence_methods() -> set[str]:
    names: set[str] = set()
    for typ in (str, dict, list, tuple, set, frozenset, int, float, bool,
                _dt.date, _dt.datetime, _dt.timedelta, _dt.time, decimal.Decimal):
        names.update(n for n in dir(typ) if not n.startswith("_"))
    # str.format / format_map read attributes by name inside the format string ("{0.__class__}").
    return names - {"format", "format_map", "mro"}


#: Attribute names a script may use: the public methods/fields of plain data types.
ALLOWED_ATTRIBUTES: frozenset[str] = frozenset(_sequence_methods())

#: Every real builtin that is not whitelisted is refused by name at deploy time.
REFUSED_NAMES: frozenset[str] = frozenset(n for n in dir(builtins) if n not in SAFE_BUILTIN_NAMES)


@dataclass(frozen=True)
class CheckedSource:
    """Source that passed the policy, with its code object compiled from the rewritten tree."""

    source: str
    mode: str
    code: object
    names: frozenset[str]  # free names it reads (for "does this expression depend on data?")


def _line(node: ast.AST) -> int | None:
    return getattr(node, "lineno", None)


class _Checker(ast.NodeVisitor):
    def __init__(self, helper_names: frozenset[str]):
        self.helper_names = helper_names
        self.names: set[str] = set()

    def generic_visit(self, node: ast.AST) -> None:
        if type(node) in _REFUSED_NODE_REASONS:
            raise ScriptPolicyError(_REFUSED_NODE_REASONS[type(node)], _line(node))
        if not isinstance(node, _ALLOWED_NODES):
            raise ScriptPolicyError(f"{type(node).__name__} is not allowed", _line(node))
        super().generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        name = node.id
        if name.startswith("_"):
            raise ScriptPolicyError(f"name {name!r} is not allowed (names starting with '_')", _line(node))
        if name in REFUSED_NAMES and name not in self.helper_names:
            raise ScriptPolicyError(f"{name!r} is not allowed in scripts", _line(node))
        if isinstance(node.ctx, ast.Load):
            self.names.add(name)
        elif name in self.helper_names:
            raise ScriptPolicyError(f"assigning to helper function {name!r} is not allowed", _line(node))

    def visit_Attribute(self, node: ast.Attribute) -> None:
        attr = node.attr
        if attr.startswith("_"):
            raise ScriptPolicyError(f"attribute {attr!r} is not allowed (names starting with '_')", _line(node))
        if attr not in ALLOWED_ATTRIBUTES:
            raise ScriptPolicyError(f"attribute {attr!r} is not allowed", _line(node))
        if not isinstance(node.ctx, ast.Load):
            raise ScriptPolicyError(f"assigning to attribute {attr!r} is not allowed", _line(node))
        self.visit(node.value)

    def visit_Constant(self, node: ast.Constant) -> None:
        if isinstance(node.value, bytes):
            raise ScriptPolicyError("bytes literals are not allowed", _line(node))

    def visit_FormattedValue(self, node: ast.FormattedValue) -> None:
        self.visit(node.value)
        if node.format_spec is None:
            return
        spec = node.format_spec
        parts = spec.values if isinstance(spec, ast.JoinedStr) else [spec]
        if not all(isinstance(p, ast.Constant) and isinstance(p.value, str) for p in parts):
            raise ScriptPolicyError("only constant format specifications are allowed", _line(node))
        text = "".join(p.value for p in parts)
        if any(int(n) > 100 for n in re.findall(r"\d+", text)):
            raise ScriptPolicyError("format width or precision above 100 is not allowed", _line(node))


class _Rewriter(ast.NodeTransformer):
    """``a ** b`` → ``_st_pow(a, b)`` (and ``*``, ``<<``), so the size check runs before the C call."""

    _FUNCS = {ast.Pow: "_st_pow", ast.Mult: "_st_mul", ast.LShift: "_st_lshift", ast.Add: "_st_add",
              ast.Mod: "_st_mod"}

    def visit_Subscript(self, node: ast.Subscript) -> ast.AST:
        # x[a:b] copies: charged against the allocation budget.
        self.generic_visit(node)
        if not isinstance(node.slice, ast.Slice) or not isinstance(node.ctx, ast.Load):
            return node
        call = ast.Call(func=ast.Name(id="_st_slice", ctx=ast.Load()), args=[node], keywords=[])
        return ast.copy_location(call, node)

    def visit_FormattedValue(self, node: ast.FormattedValue) -> ast.AST:
        # f"{big_list}" renders the whole container: its size is estimated first.
        self.generic_visit(node)
        node.value = ast.copy_location(
            ast.Call(func=ast.Name(id="_st_fmt", ctx=ast.Load()), args=[node.value], keywords=[]), node.value)
        return node

    def visit_Call(self, node: ast.Call) -> ast.AST:
        # obj.method(args) -> _st_method(obj, "method", args): growth methods (join, replace,
        # ljust, extend…) are size-checked before they allocate. The name was whitelisted above.
        self.generic_visit(node)
        if not isinstance(node.func, ast.Attribute):
            return node
        args = [node.func.value, ast.Constant(node.func.attr), *node.args]
        call = ast.Call(func=ast.Name(id="_st_method", ctx=ast.Load()), args=args, keywords=node.keywords)
        return ast.copy_location(call, node)

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        self.generic_visit(node)
        func = self._FUNCS.get(type(node.op))
        if func is None:
            return node
        call = ast.Call(func=ast.Name(id=func, ctx=ast.Load()), args=[node.left, node.right], keywords=[])
        return ast.copy_location(call, node)

    def visit_AugAssign(self, node: ast.AugAssign) -> ast.AST:
        self.generic_visit(node)
        func = self._FUNCS.get(type(node.op))
        if func is None:
            return node
        target_load = _as_load(node.target)
        call = ast.Call(func=ast.Name(id=func, ctx=ast.Load()), args=[target_load, node.value], keywords=[])
        return ast.copy_location(ast.Assign(targets=[node.target], value=call), node)


def _as_load(target: ast.AST) -> ast.AST:
    clone = ast.parse(ast.unparse(target), mode="eval").body
    return ast.copy_location(clone, target)


@lru_cache(maxsize=4096)
def check(source: str, mode: str = "exec", helper_names: frozenset[str] = frozenset(),
          max_chars: int = MAX_SOURCE_CHARS) -> CheckedSource:
    """Check ``source`` (``mode`` "exec" for scripts, "eval" for expressions); raise ScriptPolicyError.

    ``max_chars`` is raised only for sources composed of pieces each checked under the usual cap
    (a decision table evaluated as one expression, ``decision_program``)."""
    if not isinstance(source, str):
        raise ScriptPolicyError("script is not text")
    if len(source) > max_chars:
        raise ScriptPolicyError(f"script longer than {max_chars} characters")
    try:
        tree = ast.parse(source, mode=mode)
    except SyntaxError as exc:
        raise ScriptSyntaxError(f"syntax error: {exc.msg}", exc.lineno) from None
    checker = _Checker(helper_names)
    checker.visit(tree)
    rewritten = ast.fix_missing_locations(_Rewriter().visit(tree))
    code = compile(rewritten, FILENAME, mode)
    return CheckedSource(source, mode, code, frozenset(checker.names))


def check_expression(source: str, helper_names: frozenset[str] = frozenset(),
                     max_chars: int = MAX_SOURCE_CHARS) -> CheckedSource:
    """Check a condition/expression (``eval`` mode)."""
    return check(source.strip(), "eval", helper_names, max_chars)


def check_script(source: str, helper_names: frozenset[str] = frozenset()) -> CheckedSource:
    """Check a script (``exec`` mode)."""
    return check(source, "exec", helper_names)
