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
    """Test entries and the session summary written by the pytest plugin."""
    tests, session = [], {}
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        if "session" in entry:
            session = entry["session"]
        elif "collected" in entry:
            continue
        else:
            tests.append(entry)
    return tests, session


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


def _status(tests: list[dict]) -> str:
    if not tests:
        return "not covered"
    outcomes = {t["outcome"] for t in tests}
    if outcomes & {"failed", "error"}:
        return "fail"
    if outcomes == {"skipped"}:
        return "not run"
    return "pass"


def build(requirements: list[dict], tests: list[dict], env: dict, *, exitstatus: int | None,
          created_at: dt.datetime | None = None) -> dict:
    """The traceability matrix: requirement → tests → outcome, plus totals and the verdict."""
    created_at = created_at or dt.datetime.now(dt.timezone.utc)
    known = {req["id"] for req in requirements}
    rows = []
    for req in requirements:
        covering = [t for t in tests if req["id"] in t["requirements"]]
        rows.append(req | {"tests": [{k: t[k] for k in ("nodeid", "outcome", "duration_s",
                                                        "message", "doc")} for t in covering],
                           "status": _status(covering)})
    unknown = sorted({rid for t in tests for rid in t["requirements"]} - known)
    totals = {status: sum(1 for r in rows if r["status"] == status)
              for status in ("pass", "fail", "not run", "not covered")}
    outcomes = {o: sum(1 for t in tests if t["outcome"] == o)
                for o in ("passed", "failed", "error", "skipped")}
    if totals["fail"] or unknown or (exitstatus not in (0, 5, None) and not tests):
        verdict = "FAIL"
    elif totals["not run"] or totals["not covered"]:
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
        "verdict": verdict,
    }
