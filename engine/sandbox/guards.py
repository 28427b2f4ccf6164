"""Budgets enforced inside the interpreter: the rewritten ``**``/``*``/``<<``/``+``/``%``/slices/
method calls check sizes before the C call allocates, and a trace function counts steps and time.

They are the first line inside a worker process; the OS limits of ``engine.sandbox.pool`` catch
what they cannot see (one long C call such as ``sum`` over lists or ``bytes * n``). Only the
standard library is imported here: this module is loaded by every worker.
"""
from __future__ import annotations

import builtins
import os
import sys
import threading
import time

MAX_INT_BITS = 4096  # results of ** * << above this are refused
MAX_SEQUENCE_LEN = 100_000  # list repetition and range() above this are refused
MAX_TEXT_LEN = 1_000_000  # strings/lists built by + * join replace ljust… above this are refused

#: Builtins a script may call.
SAFE_BUILTIN_NAMES: frozenset[str] = frozenset({
    "abs", "all", "any", "bool", "dict", "divmod", "enumerate", "filter", "float", "int",
    "isinstance", "len", "list", "map", "max", "min", "range", "reversed", "round", "set",
    "sorted", "str", "sum", "tuple", "zip", "True", "False", "None",
    "ValueError", "KeyError", "TypeError",
})

MAX_STEPS = int(os.environ.get("SEALTRAIL_SCRIPT_MAX_STEPS", "200000"))
MAX_SECONDS = float(os.environ.get("SEALTRAIL_SCRIPT_MAX_SECONDS", "2.0"))
MAX_DATA_BYTES = int(os.environ.get("SEALTRAIL_SCRIPT_MAX_DATA_BYTES", str(1024 * 1024)))
FILENAME = "<bpmn-script>"  # the code objects the policy compiles carry this file name


class BudgetExceeded(Exception):
    """A script ran out of its step/time/allocation budget (raised inside the worker)."""


MAX_ALLOCATED_ITEMS = 5_000_000  # items/characters a run may create through copying operations
_current = threading.local()


def _too_big(reason: str):
    raise BudgetExceeded(reason)  # the app words it "script exceeded its limits: <reason>"


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


_TEXT = (str, bytes, bytearray)


def _st_mul(a, b):
    for seq, n in ((a, b), (b, a)):
        if isinstance(seq, (*_TEXT, list, tuple)) and isinstance(n, int):
            limit = MAX_TEXT_LEN if isinstance(seq, _TEXT) else MAX_SEQUENCE_LEN
            if len(seq) * n > limit:
                _too_big(f"repetition to {len(seq) * n} items exceeds {limit}")
            _charge(len(seq) * n)
    if isinstance(a, int) and isinstance(b, int) and a.bit_length() + b.bit_length() > MAX_INT_BITS:
        _too_big(f"product exceeds the {MAX_INT_BITS}-bit integer limit")
    return a * b


def _st_add(a, b):
    if isinstance(a, (*_TEXT, list, tuple)) and isinstance(b, (*_TEXT, list, tuple)):
        if len(a) + len(b) > MAX_TEXT_LEN:
            _too_big(f"concatenation to {len(a) + len(b)} items exceeds {MAX_TEXT_LEN}")
        _charge(len(a) + len(b))
    return a + b


def _st_mod(a, b):
    if isinstance(a, str):
        _rendered(b, "%-formatting")
    return a % b


def _st_slice(value):
    if isinstance(value, (*_TEXT, list, tuple)):
        _charge(len(value))
    return value


def _st_fmt(value):
    return _rendered(value, "formatted value")


_WIDTH_METHODS = {"ljust", "rjust", "center", "zfill"}


def _st_method(obj, name, *args, **kwargs):
    """Call ``obj.name(*args)`` after bounding the size of what growth methods would allocate."""
    if isinstance(obj, _TEXT):
        width = args[0] if args else kwargs.get("width", kwargs.get("tabsize", 8))
        if name in _WIDTH_METHODS and isinstance(width, int) and width > MAX_TEXT_LEN:
            _too_big(f"{name} width {width} exceeds {MAX_TEXT_LEN}")
        elif name == "expandtabs" and isinstance(width, int) and len(obj) * width > MAX_TEXT_LEN:
            _too_big(f"expandtabs result would exceed {MAX_TEXT_LEN}")
        elif name == "replace" and len(args) >= 2 and isinstance(args[0], _TEXT) and isinstance(args[1], _TEXT):
            count = obj.count(args[0]) if args[0] else len(obj) + 1
            if len(obj) + count * (len(args[1]) - len(args[0])) > MAX_TEXT_LEN:
                _too_big(f"replace result would exceed {MAX_TEXT_LEN}")
        elif name == "translate" and args and isinstance(args[0], dict):
            longest = max((len(v) for v in args[0].values() if isinstance(v, str)), default=1)
            if len(obj) * longest > MAX_TEXT_LEN:
                _too_big(f"translate result would exceed {MAX_TEXT_LEN}")
        elif name == "join" and args:
            items = list(args[0])
            size = sum(len(x) for x in items if isinstance(x, _TEXT)) + len(obj) * len(items)
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
    elif isinstance(obj, int) and name == "to_bytes":
        length = args[0] if args else kwargs.get("length", 1)
        if isinstance(length, int) and length > MAX_TEXT_LEN:
            _too_big(f"to_bytes length {length} exceeds {MAX_TEXT_LEN}")
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
    out = {name: getattr(builtins, name) for name in SAFE_BUILTIN_NAMES
           if hasattr(builtins, name)}
    out["range"] = _safe_range
    out["str"] = _safe_str
    for name in ("list", "tuple", "set", "dict", "sorted"):
        out[name] = _charged(getattr(builtins, name))
    return out


SAFE_BUILTINS = _safe_builtins()
ARITH = {"_st_pow": _st_pow, "_st_mul": _st_mul, "_st_lshift": _st_lshift, "_st_add": _st_add,
          "_st_mod": _st_mod, "_st_slice": _st_slice, "_st_fmt": _st_fmt, "_st_method": _st_method}


class Budget:
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
        return self._local if frame.f_code.co_filename == FILENAME else None

    def _local(self, frame, event, arg):
        self.steps += 1
        if self.steps > self.max_steps:
            raise BudgetExceeded(f"script exceeded its budget of {self.max_steps} steps")
        if self.steps % 512 == 0 and time.monotonic() > self.deadline:
            raise BudgetExceeded(f"script exceeded its time budget of {self.max_seconds} s")
        return self._local
