"""Audit-chain verification speed: build a chain of 1,000,000 entries, verify it, compare with raw
``hashlib.sha256`` over the same bytes.

Three figures:
- end to end: ``audit.verify.verify_chain`` streaming the chain from the database (server-side
  cursor, constant memory), recomputing every canonical form and hash, checking every link;
- the verifier without the database: the same per-entry work on rows already fetched;
- raw hashlib: ``sha256(prev_hash || canonical).hexdigest()`` over the very same byte strings,
  pre-built in memory, nothing else.
The ratio is verifier entries/s divided by raw-hashlib entries/s (goal ≥ 0.5).

    python bench/audit_verify.py [--entries 1000000] [--postgres URL]

Prints figures; never fails (it is not a test).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
import time
import tracemalloc
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
_TMP = Path(tempfile.mkdtemp(prefix="sealtrail-bench-"))
os.environ.setdefault("SEALTRAIL_VAR_DIR", str(_TMP / "var"))

from sqlalchemy import text  # noqa: E402

from audit import Actor  # noqa: E402
from audit.chain import append_many  # noqa: E402
from audit.verify import stream_messages, verify_chain, walk_batch  # noqa: E402
from audit.verify_bundle import ChainWalker, VerifyResult  # noqa: E402
from engine import migrate  # noqa: E402
from engine.db import make_engine, make_session_factory  # noqa: E402

ACTORS = [Actor("user", str(i), name) for i, name in enumerate(["Olly Operator", "Quinn QA", "Pat Process"])]


def build(url: str, n: int, batch: int = 10_000) -> float:
    """Append ``n`` entries in transactions of ``batch``; returns entries/s."""
    sessions = make_session_factory(make_engine(url))
    t0 = time.perf_counter()
    for start in range(0, n, batch):
        records = [dict(actor=ACTORS[i % 3], action="measurement.recorded", object_type="lot",
                        object_id=f"L-2026-{i // 500:04d}",
                        payload={"parameter": "seal_temperature", "value": 175 + (i % 150) / 10,
                                 "unit": "degC", "operation": "OP-30", "equipment": "HS-07"})
                   for i in range(start, min(n, start + batch))]
        with sessions.begin() as s:
            append_many(s, records)
    return n / (time.perf_counter() - t0)


def end_to_end(url: str) -> tuple[float, object, int]:
    engine = make_engine(url)
    with engine.connect() as conn:
        t0 = time.perf_counter()
        result = verify_chain(conn)
        elapsed = time.perf_counter() - t0
        # memory measured on a second pass: tracemalloc slows allocation down several times
        tracemalloc.start()
        verify_chain(conn)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    engine.dispose()
    return result.count / elapsed, result, peak


def database_alone(url: str) -> float:
    """Entries/s the database assembles the hashed bytes at, sending nothing back (the message
    expression of ``audit.verify`` summed server-side): the floor of the end-to-end figure."""
    from audit.verify import _MESSAGES

    engine = make_engine(url)
    query = _MESSAGES[engine.dialect.name if engine.dialect.name in _MESSAGES else "sqlite"]
    message = query.split(", ", 5)[5].rsplit(" FROM audit_entry", 1)[0]
    with engine.connect() as conn:
        t0 = time.perf_counter()
        count = conn.exec_driver_sql(f"SELECT COUNT(*), SUM(LENGTH({message})) FROM audit_entry").first()[0]
        elapsed = time.perf_counter() - t0
    engine.dispose()
    return count / elapsed


def core_and_raw(url: str, chunk: int = 10_000) -> tuple[float, float, int]:
    """Verifier work without the database vs raw hashlib, chunk by chunk over the same rows."""
    engine = make_engine(url)
    core_time = raw_time = 0.0
    total_bytes = count = 0
    sha256 = hashlib.sha256
    with engine.connect() as conn:
        genesis = conn.execute(text("SELECT genesis_hash FROM audit_installation")).scalar()
        walker = ChainWalker(VerifyResult(), [], genesis)
        for rows in stream_messages(conn, chunk):
            t0 = time.perf_counter()
            walk_batch(rows, walker, frozenset(), None)
            core_time += time.perf_counter() - t0
            messages = [row[5] for row in rows]
            t0 = time.perf_counter()
            for message in messages:
                sha256(message).hexdigest()
            raw_time += time.perf_counter() - t0
            total_bytes += sum(map(len, messages))
            count += len(rows)
    engine.dispose()
    assert walker.result.ok, walker.result.problems
    return count / core_time, count / raw_time, total_bytes // max(count, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--postgres", help="also run on this PostgreSQL server (a scratch database is created)")
    parser.add_argument("--report", help="append the result rows (JSON lines) to this file")
    args = parser.parse_args()
    rows = []
    targets = [("sqlite", f"sqlite:///{_TMP / 'verify.db'}")]
    admin = name = None
    if args.postgres:
        from sqlalchemy.engine import make_url
        name = f"st_bench_{uuid.uuid4().hex[:8]}"
        admin = make_engine(args.postgres, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        targets.append(("postgresql", make_url(args.postgres).set(database=name).render_as_string(hide_password=False)))
    try:
        for kind, url in targets:
            migrate.upgrade(url)
            rate_build = build(url, args.entries)
            print(f"{kind}: built {args.entries} entries with append_many at {rate_build:,.0f} entries/s")
            rate, result, peak = end_to_end(url)
            core, raw, size = core_and_raw(url)
            server = database_alone(url)
            print(f"{kind}: verify_chain: {result.summary()}")
            print(f"{kind}:   end to end (database streaming): {rate:12,.0f} entries/s, "
                  f"peak Python memory {peak / 1e6:.1f} MB")
            print(f"{kind}:   verifier without the database:   {core:12,.0f} entries/s")
            print(f"{kind}:   raw hashlib.sha256, same bytes:  {raw:12,.0f} entries/s "
                  f"({size} bytes per entry on average)")
            print(f"{kind}:   the database alone assembling the bytes (nothing sent): {server:12,.0f} entries/s "
                  f"({server / raw:.2f}x raw hashlib)")
            print(f"{kind}:   ratio to raw hashlib: end to end {rate / raw:.2f} (goal >= 0.5), "
                  f"without the database {core / raw:.2f} (goal >= 0.8)")
            label = "PostgreSQL" if kind == "postgresql" else "SQLite"
            rows.append({"benchmark": f"audit verify end to end, {label}", "figure": f"{rate:,.0f} entries/s",
                         "baseline": f"{raw:,.0f}/s raw hashlib", "ratio": rate / raw, "goal": ">= 0.5x",
                         "met": rate / raw >= 0.5 and result.ok,
                         "note": f"{args.entries:,} entries, peak Python memory {peak / 1e6:.1f} MB; the database "
                                 f"alone assembles the hashed bytes at {server:,.0f}/s ({server / raw:.2f}x raw hashlib)"})
            rows.append({"benchmark": f"audit verify without the DB, {label}", "figure": f"{core:,.0f} entries/s",
                         "baseline": f"{raw:,.0f}/s raw hashlib", "ratio": core / raw, "goal": ">= 0.8x",
                         "met": core / raw >= 0.8, "note": f"{size} bytes/entry"})
    finally:
        if admin is not None:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
    if args.report:
        with open(args.report, "a") as out:
            for row in rows:
                out.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
