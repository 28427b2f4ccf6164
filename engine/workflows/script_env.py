"""SpiffWorkflow's script environment, restricted: policy-checked source, safe builtins, budgets.

Every ``evaluate``/``execute`` re-checks the source against the script policy (cached by source
text), runs the code compiled from the rewritten tree with only whitelisted builtins and our
helpers in scope, under a step/time budget enforced by a trace function, and refuses results
larger than the data budget. ``call_service`` dispatches to the operations registry and lets the
real error through (SpiffWorkflow 3.2 masks it as ``NameError: name 'script' is not defined``).
"""
from __future__ import annotations

import builtins
import json
import os
import sys
import threading
import time
from functools import partial

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment
from SpiffWorkflow.exceptions import SpiffWorkflowException

from engine.workflows import operations, script_policy
from engine.workflows.script_policy import MAX_INT_BITS, MAX_SEQUENCE_LEN, MAX_TEXT_LEN, ScriptPolicyError

MAX_STEPS = int(os.environ.get("SEALTRAIL_SCRIPT_MAX_STEPS", "200000"))
MAX_SECONDS = float(os.environ.get("SEALTRAIL_SCRIPT_MAX_SECONDS", "2.0"))
MAX_DATA_BYTES = int(os.environ.get("SEALTRAIL_SCRIPT_MAX_DATA_BYTES", str(1024 * 1024)))
_FILENAME = "<bpmn-script>"


class ScriptLimitExceeded(ScriptPolicyError):
    """A script ran out of its step/time/allocation budget or produced too much data."""


MAX_ALLOCATED_ITEMS = 5_000_000  # items/characters a run may create through copying operations
_current = threading.local()


def _too_big(reason: str):
    raise ScriptLimitExceeded(reason)


def _charge(n: int) -> None:
    budget = getattr(_current, "budget", None)
    if budget is not None:
        budget.allocated += n
        if budget.allocated > MAX_ALLOCATED_ITEMS:
            _too_big(f"script allocated more than {MAX_ALLOCATED_ITEMS} items")


def _estimate(value, limit: int = MAX_TEXT_LEN) -> int:
    """Rough rendered size of ``value`` (strings by length, others 24), stopping past ``limit``."""
    total, stack = 0, [value]
    while stack and total <= limit:
        item = stack.pop()
        if isinstance(item, str):
            total += len(item)
        elif isinstance(item, dict):
            total += 2 * len(item)
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple, set, frozenset)):
            total += 2 * len(item)
            stack.extend(item)
        else:
            total += 24
    return total


def _rendered(value, what: str):
    if _estimate(value) > MAX_TEXT_LEN:
        _too_big(f"{what} would exceed {MAX_TEXT_LEN} characters")
    return value


def _st_pow(a, b):
    if isinstance(a, int) and isinstance(b, int) and b > 0:
        if abs(a) > 1 and max(a.bit_length(), 1) * b > MAX_INT_BITS:
            _too_big(f"{a} ** {b} exceeds the {MAX_INT_BITS}-bit integer limit")
    elif isinstance(b, (int, float)) and not isinstance(a, float) and abs(b) > 10_000:
        _too_big("exponent above 10000 is not allowed")
    return a ** b


def _st_mul(a, b):
    for seq, n in ((a, b), (b, a)):
        if isinstance(seq, (str, list, tuple)) and isinstance(n, int):
            limit = MAX_TEXT_LEN if isinstance(seq, str) else MAX_SEQUENCE_LEN
            if len(seq) * n > limit:
                _too_big(f"repetition to {len(seq) * n} items exceeds {limit}")
            _charge(len(seq) * n)
    if isinstance(a, int) and isinstance(b, int) and a.bit_length() + b.bit_length() > MAX_INT_BITS:
        _too_big(f"product exceeds the {MAX_INT_BITS}-bit integer limit")
    return a * b


def _st_add(a, b):
    if isinstance(a, (str, list, tuple)) and isinstance(b, (str, list, tuple)):
        if len(a) + len(b) > MAX_TEXT_LEN:
            _too_big(f"concatenation to {len(a) + len(b)} items exceeds {MAX_TEXT_LEN}")
        _charge(len(a) + len(b))
    return a + b


def _st_mod(a, b):
    if isinstance(a, str):
        _rendered(b, "%-formatting")
    return a % b


def _st_slice(value):
    if isinstance(value, (str, list, tuple)):
        _charge(len(value))
    return value


def _st_fmt(value):
    return _rendered(value, "formatted value")


_WIDTH_METHODS = {"ljust", "rjust", "center", "zfill"}


def _st_method(obj, name, *args, **kwargs):
    """Call ``obj.name(*args)`` after bounding the size of what growth methods would allocate."""
    if isinstance(obj, str):
        if name in _WIDTH_METHODS and args and isinstance(args[0], int) and args[0] > MAX_TEXT_LEN:
            _too_big(f"{name} width {args[0]} exceeds {MAX_TEXT_LEN}")
        elif name == "expandtabs" and len(obj) * (args[0] if args else 8) > MAX_TEXT_LEN:
            _too_big(f"expandtabs result would exceed {MAX_TEXT_LEN}")
        elif name == "replace" and len(args) >= 2 and isinstance(args[0], str) and isinstance(args[1], str):
            count = obj.count(args[0]) if args[0] else len(obj) + 1
            if len(obj) + count * (len(args[1]) - len(args[0])) > MAX_TEXT_LEN:
                _too_big(f"replace result would exceed {MAX_TEXT_LEN}")
        elif name == "join" and args:
            items = list(args[0])
            size = sum(len(x) for x in items if isinstance(x, str)) + len(obj) * len(items)
            if size > MAX_TEXT_LEN:
                _too_big(f"join result would exceed {MAX_TEXT_LEN}")
            _charge(size)
            args = (items,) + args[1:]
    elif isinstance(obj, list) and name == "extend" and args:
        items = list(args[0])
        if len(obj) + len(items) > MAX_TEXT_LEN:
            _too_big(f"extend result would exceed {MAX_TEXT_LEN}")
        _charge(len(items))
        args = (items,)
    elif name == "copy" and hasattr(obj, "__len__"):
        _charge(len(obj))
    return getattr(obj, name)(*args, **kwargs)


def _st_lshift(a, b):
    if isinstance(b, int) and b > MAX_INT_BITS:
        _too_big(f"shift by {b} exceeds the {MAX_INT_BITS}-bit integer limit")
    return a << b


def _safe_range(*args):
    r = range(*args)
    if len(r) > MAX_SEQUENCE_LEN:
        _too_big(f"range of {len(r)} items exceeds {MAX_SEQUENCE_LEN}")
    _charge(len(r))
    return r


def _charged(factory):
    def build(*args, **kwargs):
        result = factory(*args, **kwargs)
        _charge(len(result))
        return result

    build.__name__ = factory.__name__
    return build


def _safe_str(value=""):
    return str(_rendered(value, "str()"))


def _safe_builtins() -> dict:
    out = {name: getattr(builtins, name) for name in script_policy.SAFE_BUILTIN_NAMES
           if hasattr(builtins, name)}
    out["range"] = _safe_range
    out["str"] = _safe_str
    for name in ("list", "tuple", "set", "dict", "sorted"):
        out[name] = _charged(getattr(builtins, name))
    return out


SAFE_BUILTINS = _safe_builtins()
_ARITH = {"_st_pow": _st_pow, "_st_mul": _st_mul, "_st_lshift": _st_lshift, "_st_add": _st_add,
          "_st_mod": _st_mod, "_st_slice": _st_slice, "_st_fmt": _st_fmt, "_st_method": _st_method}


class _Budget:
    """Counts line events of script frames and allocations; raises when a budget runs out."""

    def __init__(self, max_steps: int, max_seconds: float):
        self.max_steps = max_steps
        self.max_seconds = max_seconds

    def __enter__(self):
        self.previous = sys.gettrace()
        self.outer = getattr(_current, "budget", None)
        self.steps = 0
        self.allocated = 0
        self.deadline = time.monotonic() + self.max_seconds
        _current.budget = self
        sys.settrace(self._global)
        return self

    def __exit__(self, *exc):
        sys.settrace(self.previous)
        _current.budget = self.outer
        return False

    def _global(self, frame, event, arg):
        return self._local if frame.f_code.co_filename == _FILENAME else None

    def _local(self, frame, event, arg):
        self.steps += 1
        if self.steps > self.max_steps:
            raise ScriptLimitExceeded(f"script exceeded its budget of {self.max_steps} steps")
        if self.steps % 512 == 0 and time.monotonic() > self.deadline:
            raise ScriptLimitExceeded(f"script exceeded its time budget of {self.max_seconds} s")
        return self._local


def _check_size(value, what: str) -> None:
    try:
        size = len(json.dumps(value, default=str))
    except (TypeError, ValueError, RecursionError):
        raise ScriptLimitExceeded(f"{what} is not plain data") from None
    if size > MAX_DATA_BYTES:
        raise ScriptLimitExceeded(f"{what} is {size} bytes, above the {MAX_DATA_BYTES}-byte budget")


class SafeEnvironment(BasePythonScriptEngineEnvironment):
    """Restricted environment; ``run_context`` is the OperationContext of the current run."""

    def __init__(self, run_context: operations.OperationContext | None = None):
        super().__init__({})
        self.run_context = run_context
        self.helpers = operations.registered_helpers()
        self.helper_names = frozenset(self.helpers)

    def _scope(self) -> dict:
        ctx = self.run_context
        scope = {name: partial(h.func, ctx) for name, h in self.helpers.items()}
        scope.update(_ARITH)
        scope["__builtins__"] = SAFE_BUILTINS
        return scope

    def evaluate(self, expression, context, external_context=None):
        checked = script_policy.check_expression(expression, self.helper_names)
        scope = {k: v for k, v in context.items() if not k.startswith("_")}
        scope.update(external_context or {})
        scope.update(self._scope())
        with _Budget(MAX_STEPS, MAX_SECONDS):
            result = eval(checked.code, scope)  # noqa: S307 - policy-checked, rewritten, restricted
        _check_size(result, "expression result")
        return result

    def execute(self, script, context, external_context=None):
        checked = script_policy.check_script(script, self.helper_names)
        external = external_context or {}
        clash = (self.helper_names | set(external)) & set(context)
        if clash:
            raise ScriptPolicyError(f"task data overwrites helper function(s) {sorted(clash)}")
        private = {k: context.pop(k) for k in [k for k in context if k.startswith("_")]}
        injected = self._scope()
        injected.update(external)
        context.update(injected)
        try:
            with _Budget(MAX_STEPS, MAX_SECONDS):
                exec(checked.code, context)  # noqa: S102 - policy-checked, rewritten, restricted
        finally:
            for key in list(context):
                if key in injected or callable(context[key]) or key.startswith("_"):
                    context.pop(key)
            context.update(private)
        _check_size(context, "task data after script")
        return True

    def call_service(self, context, operation_name=None, operation_params=None, task=None, **kwargs):
        params = {name: p["value"] for name, p in (operation_params or {}).items()}
        ctx = self.run_context or operations.OperationContext(session=None, actor=None)
        if task is not None:
            ctx = operations.OperationContext(ctx.session, ctx.actor, ctx.instance,
                                              task.task_spec.bpmn_id or task.task_spec.name, ctx.extra)
        result = operations.call(ctx, operation_name, params)
        return json.dumps(result, default=str)


class SafeScriptEngine(PythonScriptEngine):
    """PythonScriptEngine with the restricted environment and an honest service-task error path."""

    def __init__(self, run_context: operations.OperationContext | None = None):
        super().__init__(environment=SafeEnvironment(run_context))

    def validate(self, expression):
        # SpiffWorkflow's DMN engine reads a SyntaxError as "this cell needs the input on its left".
        try:
            script_policy.check_expression(expression, self.environment.helper_names)
        except script_policy.ScriptSyntaxError as exc:
            raise SyntaxError(str(exc)) from exc

    def call_service(self, task, **kwargs):
        try:
            return self.environment.call_service(task.data, task=task, **kwargs)
        except SpiffWorkflowException:
            raise
        except Exception as err:
            name = kwargs.get("operation_name")
            raise WorkflowTaskException(f"service operation {name!r} failed: {type(err).__name__}: {err}",
                                        task=task, exception=err) from err
