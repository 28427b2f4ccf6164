"""The app's side of the script workers: a small pool, one job per worker at a time, kill on excess.

``run_code`` takes a worker from the pool (starting one when none is idle, up to ``POOL_SIZE``
kept), sends the job, answers the helper calls the script makes (helpers read the database in
the caller's transaction, so they run here, in the app), and waits for the answer with a
wall-clock deadline. A worker that overruns the deadline, dies of its CPU or memory limit, or
breaks the protocol is killed and replaced; the caller gets :class:`LimitExceeded`. The pool
belongs to one process: after a fork (gunicorn workers) the child starts its own.
"""
from __future__ import annotations

import atexit
import base64
import marshal
import os
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable

from engine.sandbox import codec, guards
from engine.sandbox.worker import read_frame, write_frame

POOL_SIZE = int(os.environ.get("SEALTRAIL_SCRIPT_WORKERS", "2"))
MAX_MEMORY_MB = int(os.environ.get("SEALTRAIL_SCRIPT_MAX_MEMORY_MB", "128"))
WALL_SLACK_SECONDS = 0.5  # beyond the script's own time budget, before the worker is killed
_MAX_MESSAGE = 8 * guards.MAX_DATA_BYTES
_ROOT = str(Path(__file__).resolve().parents[2])
_BOOT = ("import sys; sys.path.insert(0, sys.argv[1]); "
         "from engine.sandbox.worker import main; main()")


class LimitExceeded(Exception):
    """The script exceeded its limits (time, CPU, memory or size); the worker was replaced."""


class ScriptFailed(Exception):
    """The script raised; ``type_name`` and ``line`` describe the error inside the worker."""

    def __init__(self, type_name: str, message: str, line: int | None):
        super().__init__(message)
        self.type_name, self.line = type_name, line


class _Worker:
    def __init__(self):
        env = {"SEALTRAIL_SCRIPT_MAX_MEMORY_MB": str(MAX_MEMORY_MB), "PYTHONHASHSEED": "0",
               "PATH": os.environ.get("PATH", "")}
        for name in ("SEALTRAIL_SCRIPT_MAX_STEPS", "SEALTRAIL_SCRIPT_MAX_SECONDS"):
            if name in os.environ:
                env[name] = os.environ[name]
        self.proc = subprocess.Popen([sys.executable, "-I", "-c", _BOOT, _ROOT], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, env=env, close_fds=True,
                                     start_new_session=True)  # a Ctrl-C of the app is not its signal
        self.out = self.proc.stdout

    def alive(self) -> bool:
        return self.proc.poll() is None

    def send(self, message: dict) -> None:
        self.send_bytes(codec.dumps(message))

    def send_bytes(self, payload: bytes) -> None:
        write_frame(self.proc.stdin, payload)

    def receive(self, deadline: float) -> dict:
        """The next message, or LimitExceeded when the deadline passes or the worker dies."""
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not select.select([self.out], [], [], remaining)[0]:
            raise LimitExceeded(f"script exceeded its limits: no answer within its "
                                f"{guards.MAX_SECONDS:g} s time budget")
        payload = read_frame(self.out)
        if payload is None:
            self.proc.wait(timeout=5)
            raise LimitExceeded(f"script exceeded its limits: {_death(self.proc.returncode)}")
        if len(payload) > _MAX_MESSAGE:
            raise LimitExceeded("script exceeded its limits: answer too large")
        return codec.loads(payload)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()
            except OSError:
                pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass


def _death(returncode: int | None) -> str:
    if returncode == -signal.SIGXCPU:
        return "CPU time limit reached"
    if returncode == -signal.SIGKILL:
        return "killed (memory or time limit)"
    return f"worker ended unexpectedly (exit {returncode}), memory limit likely reached"


class Pool:
    """Idle workers of this process; a job takes one, gives it back when it answered in time."""

    def __init__(self, size: int = POOL_SIZE):
        self.size = size
        self.pid = os.getpid()
        self.idle: list[_Worker] = []
        self.lock = threading.Lock()

    def _take(self) -> _Worker:
        with self.lock:
            while self.idle:
                worker = self.idle.pop()
                if worker.alive():
                    return worker
                worker.kill()
        return _Worker()

    def _give_back(self, worker: _Worker) -> None:
        with self.lock:
            if len(self.idle) < self.size and worker.alive():
                self.idle.append(worker)
                return
        worker.kill()

    def close(self) -> None:
        with self.lock:
            workers, self.idle = self.idle, []
        for worker in workers:
            worker.kill()

    def run(self, job: bytes, helpers: dict[str, Callable]):
        worker = self._take()
        try:
            value = _converse(worker, job, helpers)
        except BaseException:
            worker.kill()  # mid-conversation: its state is unknown
            raise
        self._give_back(worker)
        return value


def _converse(worker: _Worker, job: bytes, helpers: dict[str, Callable]):
    """Send ``job``; serve helper calls; return the value or raise what the worker reported."""
    budget = guards.MAX_SECONDS + WALL_SLACK_SECONDS
    try:
        worker.send_bytes(job)
    except (BrokenPipeError, OSError) as exc:
        raise LimitExceeded(f"script exceeded its limits: worker unavailable ({exc})") from None
    deadline = time.monotonic() + budget
    while True:
        message = worker.receive(deadline)
        op = message.get("op")
        if op == "done":
            return message.get("value")
        if op == "fail":
            if message.get("kind") == "limit":
                raise LimitExceeded(f"script exceeded its limits: {message.get('message')}")
            raise ScriptFailed(str(message.get("type")), str(message.get("message")), message.get("line"))
        if op != "call" or message.get("name") not in helpers:
            raise LimitExceeded("script exceeded its limits: the worker broke the protocol")
        started = time.monotonic()
        try:
            answer = {"op": "return", "value": helpers[message["name"]](*message.get("args", []),
                                                                          **message.get("kwargs", {}))}
            worker.send(answer)
        except codec.CodecError as exc:
            worker.send({"op": "raise", "type": "TypeError", "message": f"helper result: {exc}"})
        except (BrokenPipeError, OSError) as exc:
            raise LimitExceeded(f"script exceeded its limits: worker unavailable ({exc})") from None
        except Exception as exc:  # noqa: BLE001 - the helper's failure is the script's failure
            worker.send({"op": "raise", "type": type(exc).__name__, "message": str(exc)[:2000]})
        deadline += time.monotonic() - started  # time spent in the app's helpers is not the script's


_POOL: Pool | None = None
_POOL_LOCK = threading.Lock()


def pool() -> Pool:
    """This process's pool (a forked child gets a new one: pipes are not shared across processes)."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None or _POOL.pid != os.getpid():
            _POOL = Pool()
            atexit.register(_POOL.close)
        return _POOL


def run_code(code, mode: str, data: dict, *, external: dict | None = None,
             helpers: dict[str, Callable] | None = None):
    """Run a policy-compiled code object (``mode`` "eval" or "exec") on ``data`` in a worker.

    Returns the expression's value ("eval") or the script's resulting data ("exec"). Raises
    LimitExceeded (limits), ScriptFailed (the script raised), codec.CodecError (data that is not
    plain data).
    """
    helpers = helpers or {}
    job = codec.dumps({"op": "run", "mode": mode, "code": base64.b64encode(marshal.dumps(code)).decode("ascii"),
           "data": data, "external": external or {}, "helpers": sorted(helpers),
           "cpu_seconds": guards.MAX_SECONDS})
    return pool().run(job, helpers)
