"""Running the requirement-tagged tests and writing the report (used by the CLI)."""
from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

from sqlalchemy import text

from engine.db import make_engine
from web.validation import matrix as mx
from web.validation import render

REQUIREMENTS = Path("docs") / "validation" / "requirements.toml"


def source_root(source: Path | None) -> Path:
    """The source tree (tests/ and docs/validation/), by default the one this code runs from."""
    root = Path(source) if source else Path(__file__).resolve().parents[2]
    if not (root / REQUIREMENTS).is_file():
        raise ValueError(f"{root} has no {REQUIREMENTS}: pass --source with a Sealtrail source "
                         "tree (the validation kit runs the shipped tests)")
    return root


def describe_database(url: str | None) -> str:
    """Database product and version the tests ran on."""
    if not url:
        return f"SQLite {sqlite3.sqlite_version} (temporary files)"

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT version()")).scalar_one()
    except Exception as exc:  # noqa: BLE001 - the run itself will report the failure
        return f"PostgreSQL (unreachable: {type(exc).__name__})"
    finally:
        engine.dispose()


def run_tests(root: Path, tests_path: str, results: Path, database_url: str | None,
              pytest_args: list[str]) -> int:
    """pytest on the requirement-tagged tests with the recording plugin; its exit status."""
    env = dict(os.environ, SEALTRAIL_VALIDATION_OUT=str(results))
    env.pop("SEALTRAIL_TEST_DATABASE_URL", None)
    if database_url:
        env["SEALTRAIL_TEST_DATABASE_URL"] = database_url
    args = [sys.executable, "-m", "pytest", "-m", "requirement", "-p", "web.validation.plugin",
            "-p", "no:cacheprovider", "-q", "--no-header", *pytest_args, tests_path]
    return subprocess.run(args, cwd=root, env=env, check=False).returncode


def produce(*, source: Path | None, tests_path: str, output_dir: Path, private_key,
            test_database_url: str | None, pytest_args: list[str]) -> tuple[dict, dict]:
    """Run the tests and write the signed matrix; returns the matrix and the written files."""
    root = source_root(source)
    requirements = mx.load_requirements(root / REQUIREMENTS)
    database_url = test_database_url or os.environ.get("SEALTRAIL_TEST_DATABASE_URL") or None
    with tempfile.TemporaryDirectory(prefix="sealtrail-validation-") as tmp:
        results = Path(tmp) / "results.jsonl"
        exitstatus = run_tests(root, tests_path, results, database_url, pytest_args)
        # A run killed before collecting anything still gets a report: a FAIL saying so.
        tests, session = mx.read_results(results) if results.is_file() else ([], {})
    env = mx.environment(root, describe_database(database_url))
    matrix = mx.build(requirements, tests, env, exitstatus=session.get("exitstatus", exitstatus),
                      session=session)
    return matrix, render.write(Path(output_dir), matrix, private_key)


def verify_written(path: Path, public_key) -> list[str]:
    """Problems with a written report: the newest SHA256SUMS in ``path`` (or that file)."""
    path = Path(path)
    if path.is_dir():
        candidates = sorted(path.glob("traceability-*.SHA256SUMS"))
        if not candidates:
            return [f"no traceability-*.SHA256SUMS in {path}"]
        path = candidates[-1]
    return render.verify(path, public_key)
