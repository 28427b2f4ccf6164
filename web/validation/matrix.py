"""Requirements, test evidence and the traceability matrix built from them (plain data)."""
from __future__ import annotations

import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tomllib
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

KEY_PACKAGES = ("sealtrail", "SpiffWorkflow", "Flask", "SQLAlchemy", "alembic", "psycopg",
                "cryptography", "pyotp", "argon2-cffi", "rfc8785", "lxml", "gunicorn", "pytest")


def load_requirements(path: Path) -> list[dict]:
    """The requirement list (docs/validation/requirements.toml), checked for duplicate ids."""
    with Path(path).open("rb") as fh:
        data = tomllib.load(fh)
    requirements = data.get("requirement", [])
    seen = set()
    for i, req in enumerate(requirements):
        for field in ("id", "source", "clause", "requirement"):
            if not req.get(field):
                raise ValueError(f"{path}: requirement #{i + 1} has no {field!r}")
        if req["id"] in seen:
            raise ValueError(f"{path}: requirement id {req['id']!r} appears twice")
        seen.add(req["id"])
    return requirements


def read_results(path: Path) -> tuple[list[dict], dict]:
    """Test entries and the session summary written by the pytest plugin.

    Tests that were collected but never reported (the run stopped before them) are returned
    with the outcome ``not run``; the session summary is empty when the run did not finish.
    """
    tests: dict[str, dict] = {}
    collected, session = {}, {}
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:  # the last line of a run killed while writing it
            continue
        if "session" in entry:
            session = entry["session"]
        elif "collected" in entry:
            collected = entry["collected"]
        else:
            tests[entry["nodeid"]] = entry
    for nodeid, requirements in collected.items():
        tests.setdefault(nodeid, {"nodeid": nodeid, "requirements": requirements, "outcome": "not run",
                                  "duration_s": 0.0, "message": "the run stopped before this test", "doc": ""})
    return list(tests.values()), session


def _version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def _git_commit(source: Path) -> str | None:
    try:
        out = subprocess.run(["git", "-C", str(source), "rev-parse", "HEAD"], capture_output=True,
                             text=True, timeout=10, check=False)
        dirty = subprocess.run(["git", "-C", str(source), "status", "--porcelain"],
                               capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    return out.stdout.strip() + (" (with uncommitted changes)" if dirty.stdout.strip() else "")


def environment(source: Path, database: str) -> dict:
    """What the evidence was produced on (software version, platform, database, packages)."""
    return {
        "software_version": _version("sealtrail"),
        "git_commit": _git_commit(source),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "machine": platform.machine(),
        "hostname": platform.node(),
        "database": database,
        "packages": {name: _version(name) for name in KEY_PACKAGES},
        "user": os.environ.get("USER") or os.environ.get("LOGNAME") or "unknown",
    }


# How a skipped test is shown: it is evidence this database did not give (e.g. PostgreSQL-only).
NOT_DEMONSTRATED = "not demonstrated on this database"

# pytest exit statuses that mean the run itself went wrong (interrupted, internal error, usage
# error) rather than "tests failed" (1) or "no tests collected" (5).
_NORMAL_EXITS = (0, 1, 5)


def _status(tests: list[dict]) -> str:
    """pass only when every test of the requirement passed; a skipped one leaves it partial."""
    if not tests:
        return "not covered"
    outcomes = {t["outcome"] for t in tests}
    if outcomes & {"failed", "error"}:
        return "fail"
    if "passed" not in outcomes:
        return "not run"
    if outcomes != {"passed"}:
        return "partial"
    return "pass"


def _shown(test: dict) -> dict:
    shown = {k: test[k] for k in ("nodeid", "outcome", "duration_s", "message", "doc")}
    if test["outcome"] == "skipped":
        shown["outcome"], shown["message"] = NOT_DEMONSTRATED, f"skipped: {test['message']}"
    return shown


def run_problem(exitstatus: int | None, session: dict | None) -> str | None:
    """Why the pytest run itself cannot be trusted (None when it finished normally)."""
    if session is not None and not session:
        return (f"the test run did not finish (exit status {exitstatus}; killed or crashed): "
                "evidence after that point is missing")
    if exitstatus not in _NORMAL_EXITS:
        return f"pytest ended abnormally (exit status {exitstatus}: interrupted, internal or usage error)"
    return None


def build(requirements: list[dict], tests: list[dict], env: dict, *, exitstatus: int | None,
          created_at: dt.datetime | None = None, session: dict | None = None) -> dict:
    """The traceability matrix: requirement → tests → outcome, plus totals and the verdict.

    The verdict is FAIL on any failed test, unknown requirement id, or a run that did not end
    normally (``session`` is the plugin's summary; empty when the run was killed).
    """
    created_at = created_at or dt.datetime.now(dt.timezone.utc)
    known = {req["id"] for req in requirements}
    rows = []
    for req in requirements:
        covering = [t for t in tests if req["id"] in t["requirements"]]
        rows.append(req | {"tests": [_shown(t) for t in covering], "status": _status(covering)})
    unknown = sorted({rid for t in tests for rid in t["requirements"]} - known)
    totals = {status: sum(1 for r in rows if r["status"] == status)
              for status in ("pass", "partial", "fail", "not run", "not covered")}
    outcomes = {o: sum(1 for t in tests if t["outcome"] == o)
                for o in ("passed", "failed", "error", "skipped", "not run")}
    problem = run_problem(exitstatus, session)
    if totals["fail"] or unknown or problem:
        verdict = "FAIL"
    elif totals["partial"] or totals["not run"] or totals["not covered"]:
        verdict = "PASS WITH GAPS"
    else:
        verdict = "PASS"
    return {
        "title": "Sealtrail requirements traceability matrix",
        "created_at": created_at.isoformat(timespec="seconds").replace("+00:00", "Z"),
        "environment": env,
        "requirements": rows,
        "unknown_requirement_ids": unknown,
        "totals": totals,
        "test_outcomes": outcomes,
        "pytest_exitstatus": exitstatus,
        "run_problem": problem,
        "verdict": verdict,
    }
