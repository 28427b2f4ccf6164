"""The registry of named, typed operations that BPMN service tasks call, and of read-only helpers
scripts may call (the built-in ones are in ``builtin_operations``, the domain's in their areas).

A service task names an operation (``spiffworkflow:serviceTaskOperator id="hold_lot"``) and
passes parameters (each a Python expression over task data, checked by the script policy).
Operations are plain functions registered with ``@operation("name")``; they receive an
:class:`OperationContext` (session, actor, instance) and keyword parameters checked against
their annotations, and return JSON-able data stored in the task's result variable. They write
through the engine, in the caller's transaction, and record what they did with ``ctx.audit``.

Helpers (``@helper("lot_status")``) are read-only functions scripts and conditions may call;
they receive the same context first.
"""
from __future__ import annotations

import importlib
import inspect
import types
import typing
from dataclasses import dataclass, field
from typing import Any, Callable

from audit import chain
from engine.errors import ValidationFailed


class OperationError(ValidationFailed):
    """A service task named an unknown operation or passed wrong parameters."""


@dataclass
class OperationContext:
    """What an operation or helper may use: the transaction, who acts, and the instance."""

    session: Any
    actor: Any
    instance: Any = None  # engine.workflows.models.ProcessInstance (None at validation time)
    task_name: str | None = None
    extra: dict = field(default_factory=dict)

    def audit(self, action: str, object_type: str, object_id, *, reason=None, before=None,
              after=None, payload=None):
        """Append an audit entry for a change this operation made (same transaction)."""
        return chain.append(self.session, self.actor, action, object_type, str(object_id),
                            reason=reason, before=before, after=after, payload=payload)


@dataclass(frozen=True)
class Registered:
    name: str
    func: Callable
    params: dict[str, inspect.Parameter]
    hints: dict[str, Any]
    description: str

    def required(self) -> set[str]:
        return {n for n, p in self.params.items() if p.default is inspect.Parameter.empty}


_OPERATIONS: dict[str, Registered] = {}
_HELPERS: dict[str, Registered] = {}


def _register(table: dict, name: str, func: Callable, kind: str) -> Callable:
    if name in table and table[name].func is not func:
        raise ValueError(f"{kind} {name!r} is already registered by {table[name].func.__module__}")
    sig = inspect.signature(func)
    params = list(sig.parameters.values())
    if not params:
        raise TypeError(f"{kind} {name!r} must take the OperationContext as first parameter")
    rest = {p.name: p for p in params[1:]}
    hints = typing.get_type_hints(func)
    table[name] = Registered(name, func, rest, hints, (inspect.getdoc(func) or "").split("\n")[0])
    return func


def operation(name: str) -> Callable[[Callable], Callable]:
    """Register ``func(ctx, **params) -> JSON-able`` as the service operation ``name``."""
    return lambda func: _register(_OPERATIONS, name, func, "operation")


def helper(name: str) -> Callable[[Callable], Callable]:
    """Register ``func(ctx, *args)`` as a read-only helper callable from scripts as ``name``."""
    return lambda func: _register(_HELPERS, name, func, "helper")


# The modules that register operations and helpers. They stand above this registry (they use
# the engine's use cases, which run workflows through it), so the registry names them and
# imports them by name on first use instead of importing them: a static import would point up
# a floor and close a loop. A new area that adds operations adds its module here.
OPERATION_MODULES = ("engine.workflows.builtin_operations", "engine.processes.operations")
_LOADED = False


def _load_domain_modules() -> None:
    """Import the modules of :data:`OPERATION_MODULES` once (each registers its operations)."""
    global _LOADED
    if _LOADED:
        return
    _LOADED = True
    for name in OPERATION_MODULES:
        importlib.import_module(name)


def registered_operations() -> dict[str, Registered]:
    """Every registered operation by name."""
    _load_domain_modules()
    return dict(_OPERATIONS)


def registered_helpers() -> dict[str, Registered]:
    """Every registered helper by name."""
    _load_domain_modules()
    return dict(_HELPERS)


def helper_names() -> frozenset[str]:
    return frozenset(registered_helpers())


def get_operation(name: str) -> Registered:
    """The operation ``name``; OperationError naming it when unknown."""
    ops = registered_operations()
    if name not in ops:
        raise OperationError(f"unknown service operation {name!r} (registered: {', '.join(sorted(ops)) or 'none'})")
    return ops[name]


def _type_name(hint) -> str:
    if hint is inspect.Parameter.empty or hint is Any:
        return "any"
    return getattr(hint, "__name__", None) or str(hint).replace("typing.", "")


def catalogue() -> list[dict]:
    """Every registered operation with its typed parameters (for the editor's service-task picker)."""
    out = []
    for name, op in sorted(registered_operations().items()):
        params = [{"name": n, "type": _type_name(op.hints.get(n, p.annotation)),
                   "required": p.default is inspect.Parameter.empty} for n, p in op.params.items()]
        out.append({"name": name, "description": op.description, "params": params})
    return out


def _type_ok(value, hint) -> bool:
    if hint is Any or hint is inspect.Parameter.empty:
        return True
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_type_ok(value, h) for h in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if origin is not None:
        hint = origin
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, hint)


def check_params(op: Registered, names: set[str]) -> list[str]:
    """Problems with the parameter *names* a service task passes (used at deploy time)."""
    problems = []
    accepts_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in op.params.values())
    for missing in sorted(op.required() - names):
        problems.append(f"operation {op.name!r} needs parameter {missing!r}")
    if not accepts_any:
        for unknown in sorted(names - set(op.params)):
            problems.append(f"operation {op.name!r} has no parameter {unknown!r}")
    return problems


def call(ctx: OperationContext, name: str, params: dict) -> Any:
    """Call operation ``name`` with ``params`` after checking names and types against its signature."""
    op = get_operation(name)
    problems = check_params(op, set(params))
    details = [{"field": name, "message": p} for p in problems]
    for pname, value in params.items():
        hint = op.hints.get(pname, inspect.Parameter.empty)
        if pname in op.params and not _type_ok(value, hint):
            details.append({"field": f"{name}.{pname}",
                            "message": f"expected {getattr(hint, '__name__', hint)}, got {type(value).__name__}"})
    if details:
        raise OperationError(f"bad parameters for operation {name!r}: "
                             + "; ".join(d["message"] for d in details), details=details)
    return op.func(ctx, **params)
