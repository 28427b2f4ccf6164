"""Run every benchmark at sizes that finish in under ten minutes on two cores; print one table.

    make bench        (or: .venv/bin/python bench/run_all.py [--postgres URL] [--only NAME ...])

Each benchmark runs in its own process, compares itself with its bare baseline measured in the
same run, and appends its rows to a JSON-lines file; this script prints them as one table
(benchmark, figure, baseline, ratio, goal, met?). It never fails: a benchmark that crashes or
times out is a row saying so, and the exit status is 0 (benchmarks are not tests).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def plan(pg: str) -> list[tuple[str, list[str], int]]:
    """(name, arguments, timeout seconds) of each benchmark at its `make bench` size."""
    return [
        ("workflow", ["bench/workflow_throughput.py", "--instances", "40", "--rounds", "4", "--postgres", pg], 240),
        ("append", ["bench/audit_append.py", "--entries", "600", "--rounds", "2", "--no-add-many",
                    "--postgres", pg], 240),
        ("verify", ["bench/audit_verify.py", "--entries", "60000", "--postgres", pg], 300),
        ("alarms", ["bench/alarm_ingest.py", "--seconds", "20", "--clients", "4", "--workers", "2",
                    "--server-url", pg], 180),
        ("inbox", ["bench/inbox_pages.py", "--tasks", "10000", "--repeat", "20", "--url", pg], 180),
        ("planning", ["bench/planning.py", "--lots", "200", "--time-limit", "25"], 180),
        ("dmn", ["bench/dmn_evaluate.py", "--repeat", "200", "--rules", "60"], 120),
    ]


def machine() -> str:
    load = os.getloadavg() if hasattr(os, "getloadavg") else ("?",) * 3
    return (f"{platform.node()}: {os.cpu_count()} CPUs, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


def table(rows: list[dict]) -> str:
    head = ("benchmark", "figure", "baseline", "ratio", "goal", "met?")
    body = [(r["benchmark"], r["figure"], r["baseline"],
             "" if r.get("ratio") is None else f"{r['ratio']:.2f}x", r["goal"],
             {True: "yes", False: "NO", None: "-"}[r.get("met")]) for r in rows]
    widths = [max(len(str(c)) for c in col) for col in zip(head, *body)]
    lines = ["| " + " | ".join(str(c).ljust(w) for c, w in zip(line, widths)) + " |" for line in [head, *body]]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    notes = [f"- {r['benchmark']}: {r['note']}" for r in rows if r.get("note")]
    return "\n".join(lines + ([""] + notes if notes else []))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--postgres", default=os.environ.get("SEALTRAIL_BENCH_POSTGRES", DEFAULT_PG))
    ap.add_argument("--only", nargs="*", help="run only these (workflow, append, verify, alarms, inbox, planning, dmn)")
    args = ap.parse_args()
    report = Path(tempfile.mkdtemp(prefix="sealtrail-bench-")) / "rows.jsonl"
    started = time.monotonic()
    print(f"make bench, {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {machine()}", flush=True)
    rows: list[dict] = []
    for name, argv, limit in plan(args.postgres):
        if args.only and name not in args.only:
            continue
        print(f"\n== {name}: {' '.join(argv)}", flush=True)
        before = report.read_text().count("\n") if report.exists() else 0
        t0 = time.monotonic()
        try:
            done = subprocess.run([sys.executable, *argv, "--report", str(report)], cwd=ROOT, timeout=limit)
            failed = f"exit status {done.returncode}" if done.returncode else None
        except subprocess.TimeoutExpired:
            failed = f"stopped after {limit} s"
        print(f"   ({time.monotonic() - t0:.0f} s)", flush=True)
        if failed:
            produced = report.read_text().count("\n") if report.exists() else 0
            if produced == before:
                rows.append({"benchmark": name, "figure": "-", "baseline": "-", "ratio": None, "goal": "-",
                             "met": None, "note": f"did not finish: {failed}"})
    if report.exists():
        rows = [json.loads(line) for line in report.read_text().splitlines() if line.strip()] + rows
    print(f"\nmake bench: {len(rows)} rows in {time.monotonic() - started:.0f} s; {machine()}\n")
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
