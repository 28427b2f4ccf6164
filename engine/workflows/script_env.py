"""SpiffWorkflow's script environment, restricted: policy-checked source run in a worker process.

Every ``evaluate``/``execute`` re-checks the source against the script policy (cached by source
text) and compiles it from the rewritten tree, here in the app; the code then runs in a script
worker (``engine.sandbox``) with only whitelisted builtins and our helpers in scope, under the
in-interpreter step/size budgets and the worker's OS limits (address space, CPU time) and a
wall-clock kill, so one long C call cannot block or bloat the app. Helpers the script calls run
here, in the caller's transaction. Results larger than the data budget are refused.
``call_service`` dispatches to the operations registry and lets the real error through
(SpiffWorkflow 3.2 masks it as ``NameError: name 'script' is not defined``).

``evaluate_expression`` and ``execute_script`` are the engine API for anything else that
evaluates user-written Python (timers at validation, DMN, the editor's lint).
"""
from __future__ import annotations

import builtins
import json
from functools import partial

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment
from SpiffWorkflow.exceptions import SpiffWorkflowException

from engine.sandbox import codec, guards, pool
from engine.workflows import operations, script_policy
from engine.workflows.script_policy import ScriptPolicyError

MAX_STEPS = guards.MAX_STEPS
MAX_SECONDS = guards.MAX_SECONDS
MAX_DATA_BYTES = guards.MAX_DATA_BYTES


class ScriptLimitExceeded(ScriptPolicyError):
    """A script exceeded its limits: steps, time, CPU, memory, allocations or data size."""


# Exceptions a script may raise, rebuilt by type in the app (anything else: RuntimeError).
_REBUILT = {name: getattr(builtins, name) for name in (
    "ArithmeticError", "AssertionError", "AttributeError", "IndexError", "KeyError", "LookupError",
    "NameError", "OverflowError", "RecursionError", "TypeError", "UnboundLocalError", "ValueError",
    "ZeroDivisionError")}


class ScriptError(RuntimeError):
    """A script failed with an error other than the common builtin ones (type name kept)."""


def _rebuild(failed: pool.ScriptFailed) -> Exception:
    line = f" (script line {failed.line})" if failed.line else ""
    cls = _REBUILT.get(failed.type_name)
    if cls is None:
        exc = ScriptError(f"{failed.type_name}: {failed}{line}")
    elif cls is KeyError:
        exc = KeyError(f"{failed}{line}")
    else:
        exc = cls(f"{failed}{line}")
    exc.script_line = failed.line
    return exc


def _check_size(value, what: str) -> None:
    try:
        size = len(json.dumps(value, default=str))
    except (TypeError, ValueError, RecursionError):
        raise ScriptLimitExceeded(f"script exceeded its limits: {what} is not plain data") from None
    if size > MAX_DATA_BYTES:
        raise ScriptLimitExceeded(f"script exceeded its limits: {what} is {size} bytes, "
                                  f"above the {MAX_DATA_BYTES}-byte budget")


def _in_worker(code, mode: str, data: dict, external: dict | None, helpers: dict):
    try:
        return pool.run_code(code, mode, data, external=external, helpers=helpers)
    except pool.LimitExceeded as exc:
        raise ScriptLimitExceeded(str(exc)) from None
    except pool.ScriptFailed as failed:
        raise _rebuild(failed) from None
    except codec.CodecError as exc:
        raise TypeError(f"task data cannot be given to a script: {exc}") from None


def evaluate_expression(source: str, data: dict, *, helpers: dict | None = None,
                        external: dict | None = None):
    """The value of expression ``source`` over ``data``, under the script policy and limits."""
    helpers = helpers or {}
    checked = script_policy.check_expression(source, frozenset(helpers))
    result = _in_worker(checked.code, "eval", data, external, helpers)
    _check_size(result, "expression result")
    return result


def execute_script(source: str, data: dict, *, helpers: dict | None = None,
                   external: dict | None = None) -> dict:
    """The data after script ``source`` ran on a copy of ``data``, under the policy and limits."""
    helpers = helpers or {}
    checked = script_policy.check_script(source, frozenset(helpers))
    result = _in_worker(checked.code, "exec", data, external, helpers)
    _check_size(result, "task data after script")
    return result


class SafeEnvironment(BasePythonScriptEngineEnvironment):
    """Restricted environment; ``run_context`` is the OperationContext of the current run."""

    def __init__(self, run_context: operations.OperationContext | None = None):
        super().__init__({})
        self.run_context = run_context
        self.helpers = operations.registered_helpers()
        self.helper_names = frozenset(self.helpers)

    def _helpers(self) -> dict:
        ctx = self.run_context
        return {name: partial(h.func, ctx) for name, h in self.helpers.items()}

    def evaluate(self, expression, context, external_context=None, *, max_chars=script_policy.MAX_SOURCE_CHARS):
        """As SpiffWorkflow's; ``max_chars`` only for composed sources (see ``script_policy.check``)."""
        checked = script_policy.check_expression(expression, self.helper_names, max_chars)
        data = {k: v for k, v in context.items() if not k.startswith("_")}
        result = _in_worker(checked.code, "eval", data, external_context, self._helpers())
        _check_size(result, "expression result")
        return result

    def execute(self, script, context, external_context=None):
        checked = script_policy.check_script(script, self.helper_names)
        external = external_context or {}
        clash = (self.helper_names | set(external)) & set(context)
        if clash:
            raise ScriptPolicyError(f"task data overwrites helper function(s) {sorted(clash)}")
        private = {k: v for k, v in context.items() if k.startswith("_")}
        data = {k: v for k, v in context.items() if not k.startswith("_")}
        result = _in_worker(checked.code, "exec", data, external, self._helpers())
        _check_size(result, "task data after script")
        context.clear()
        context.update(result)
        context.update(private)
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
