"""A script worker: runs policy-checked code objects sent by the app, one at a time, under limits.

Started by ``engine.sandbox.pool`` as ``python -I -c …`` with the project root on ``sys.path``;
it talks over stdin/stdout in frames (4-byte big-endian length, then codec JSON). Messages:

- app → worker ``{"op": "run", "mode": "eval"|"exec", "code": b64(marshal), "data": …,
  "external": …, "helpers": [names], "cpu_seconds": n}``; the code object was compiled by the
  app from the policy's rewritten tree (trusted), so the worker never parses source;
- worker → app ``{"op": "call", "name", "args", "kwargs"}`` when the script calls a helper (the
  app runs it against its database and answers ``{"op": "return", "value"}`` or
  ``{"op": "raise", "type", "message"}``);
- worker → app ``{"op": "done", "value"}`` or ``{"op": "fail", "kind": "limit"|"error",
  "type", "message", "line"}``.

Before each run the worker lowers its soft ``RLIMIT_CPU`` to the CPU it has used plus the
run's budget (the kernel then ends it with SIGXCPU); ``RLIMIT_AS`` is set once at start.
"""
from __future__ import annotations

import base64
import marshal
import os
import resource
import struct
import sys
import traceback

from engine.sandbox import codec, guards

_HEADER = struct.Struct(">I")


class HelperFailed(Exception):
    """A helper the script called failed in the app (its type and message are kept)."""


def read_frame(stream) -> bytes | None:
    """One frame's payload, or None at end of stream."""
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        return None
    (size,) = _HEADER.unpack(header)
    payload = stream.read(size)
    return payload if len(payload) == size else None


def write_frame(stream, payload: bytes) -> None:
    stream.write(_HEADER.pack(len(payload)) + payload)
    stream.flush()


class _Channel:
    def __init__(self, inp, out):
        self.inp, self.out = inp, out

    def send(self, message: dict) -> None:
        write_frame(self.out, codec.dumps(message))

    def receive(self) -> dict | None:
        payload = read_frame(self.inp)
        return None if payload is None else codec.loads(payload)


def _helper_proxy(channel: _Channel, name: str):
    def call(*args, **kwargs):
        channel.send({"op": "call", "name": name, "args": list(args), "kwargs": kwargs})
        answer = channel.receive()
        if answer is None:
            raise SystemExit(0)
        if answer.get("op") == "return":
            return answer.get("value")
        raise HelperFailed(f"{answer.get('type', 'Error')}: {answer.get('message', '')}")

    call.__name__ = name
    return call


def _script_line(exc: BaseException) -> int | None:
    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename == guards.FILENAME:
            line = frame.lineno
    return line


def _set_cpu_budget(seconds: float) -> None:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    used = usage.ru_utime + usage.ru_stime
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    soft = int(used + seconds) + 1
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


def run(channel: _Channel, message: dict):
    """Run one job; returns the value to send back (raises on failure)."""
    code = marshal.loads(base64.b64decode(message["code"]))
    data = message.get("data") or {}
    external = message.get("external") or {}
    proxies = {name: _helper_proxy(channel, name) for name in message.get("helpers", [])}
    injected = dict(proxies)
    injected.update(guards.ARITH)
    _set_cpu_budget(float(message.get("cpu_seconds", guards.MAX_SECONDS)))
    if message["mode"] == "eval":
        scope = {k: v for k, v in data.items() if not k.startswith("_")}
        scope.update(external)
        scope.update(injected)
        scope["__builtins__"] = guards.SAFE_BUILTINS
        with guards.Budget(guards.MAX_STEPS, guards.MAX_SECONDS):
            return eval(code, scope)  # noqa: S307 - compiled by the app from a policy-checked tree
    context = data
    injected.update(external)
    context.update(injected)
    context["__builtins__"] = guards.SAFE_BUILTINS
    with guards.Budget(guards.MAX_STEPS, guards.MAX_SECONDS):
        exec(code, context)  # noqa: S102 - compiled by the app from a policy-checked tree
    return {k: v for k, v in context.items()
            if k not in injected and not k.startswith("_") and not callable(v)}


def serve(inp, out) -> None:
    """Answer run requests until the app closes the pipe."""
    channel = _Channel(inp, out)
    while True:
        message = channel.receive()
        if message is None:
            return
        if message.get("op") != "run":
            continue
        try:
            value = run(channel, message)
            payload = codec.dumps({"op": "done", "value": value})
        except guards.BudgetExceeded as exc:
            payload = codec.dumps({"op": "fail", "kind": "limit", "type": type(exc).__name__,
                                   "message": str(exc), "line": _script_line(exc)})
        except MemoryError:
            payload = codec.dumps({"op": "fail", "kind": "limit", "type": "MemoryError",
                                   "message": "memory limit reached", "line": None})
        except codec.CodecError as exc:
            payload = codec.dumps({"op": "fail", "kind": "error", "type": "TypeError",
                                   "message": f"script result is not plain data: {exc}", "line": None})
        except Exception as exc:  # noqa: BLE001 - reported to the app with type, message and line
            payload = codec.dumps({"op": "fail", "kind": "error", "type": type(exc).__name__,
                                   "message": str(exc)[:2000], "line": _script_line(exc)})
        write_frame(out, payload)


def main() -> None:
    """Entry point of a worker process: set the address-space limit, then serve."""
    limit_mb = int(os.environ.get("SEALTRAIL_SCRIPT_MAX_MEMORY_MB", "0"))
    if limit_mb > 0:
        limit = limit_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    # A fresh core dump of a killed worker would write its memory to disk: none.
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    serve(sys.stdin.buffer, sys.stdout.buffer)
