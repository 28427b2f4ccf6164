"""Audit-chain append throughput: one entry per transaction with 1 and 16 concurrent writers on
PostgreSQL and SQLite, the add-many path (one transaction, many entries), and a bare baseline.

Each writer is a separate process (as gunicorn workers are) with its own engine; every append is
``with sessions.begin(): audit.chain.append(...)`` — lock, read head, hash, INSERT, commit. After
each run the whole chain is verified (``audit.verify.verify_chain``) and checked for forks
(distinct prev_hash = entries). The baseline is the same lock + a bare INSERT of a fixed row +
commit, without reading the head or hashing, measured in the same run.

    python bench/audit_append.py [--entries 4000] [--rounds 2] [--postgres URL] [--sqlite-only] [--no-add-many]

Prints figures; never fails (it is not a test).
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
_TMP = Path(tempfile.mkdtemp(prefix="sealtrail-bench-"))
os.environ.setdefault("SEALTRAIL_VAR_DIR", str(_TMP / "var"))

PAYLOAD = {"parameter": "seal_temperature", "value": 182.5, "limits": [175, 190], "unit": "degC",
           "lot": "L-2026-0042", "operation": "OP-30 heat seal", "equipment": "HS-07"}


def _writer(url: str, n: int, writer: int, mode: str, start, counts) -> None:
    from sqlalchemy import text

    from audit import Actor
    from audit.chain import append, lock_chain
    from engine.db import make_engine, make_session_factory

    engine = make_engine(url, pool_size=1, max_overflow=0) if url.startswith("postgresql") else make_engine(url)
    sessions = make_session_factory(engine)
    actor = Actor("user", str(writer), f"Writer {writer}")
    start.wait()
    done = 0
    for i in range(n):
        with sessions.begin() as s:
            if mode == "append":
                append(s, actor, "measurement.recorded", "lot", "L-2026-0042", payload=PAYLOAD | {"i": i})
            else:  # baseline: the same lock, a bare INSERT, commit
                lock_chain(s)
                s.execute(text("INSERT INTO bench_bare (writer, i, body) VALUES (:w, :i, :b)"),
                          {"w": writer, "i": i, "b": "x" * 300})
        done += 1
    counts[writer] = done
    engine.dispose()


def run_writers(url: str, writers: int, total: int, mode: str = "append") -> float:
    """Appends per second with ``writers`` processes sharing ``total`` appends."""
    ctx = mp.get_context("fork")
    start = ctx.Barrier(writers + 1)
    counts = ctx.Manager().dict()
    per = total // writers
    procs = [ctx.Process(target=_writer, args=(url, per, w, mode, start, counts)) for w in range(writers)]
    for p in procs:
        p.start()
    start.wait()
    t0 = time.perf_counter()
    for p in procs:
        p.join()
    elapsed = time.perf_counter() - t0
    if sum(counts.values()) != per * writers:
        print(f"  !! only {sum(counts.values())} of {per * writers} appends completed")
    return per * writers / elapsed


def add_many(url: str, batches: int, size: int) -> float:
    from audit import SYSTEM
    from audit.chain import append_many
    from engine.db import make_engine, make_session_factory

    engine = make_engine(url)
    sessions = make_session_factory(engine)
    records = [dict(actor=SYSTEM, action="import.row", object_type="item", object_id=str(i),
                    payload=PAYLOAD | {"i": i}) for i in range(size)]
    t0 = time.perf_counter()
    for _ in range(batches):
        with sessions.begin() as s:
            append_many(s, records)
    elapsed = time.perf_counter() - t0
    engine.dispose()
    return batches * size / elapsed


def check(url: str) -> str:
    from sqlalchemy import text

    from audit.verify import verify_chain
    from engine.db import make_engine

    engine = make_engine(url)
    with engine.connect() as conn:
        result = verify_chain(conn)
        distinct = conn.execute(text("SELECT COUNT(DISTINCT prev_hash) FROM audit_entry")).scalar()
    engine.dispose()
    fork = "no fork" if distinct == result.count else f"FORK: {distinct} distinct prev_hash"
    return f"{'verified' if result.ok else 'BROKEN ' + str(result.first_problem)}, {result.count} entries, {fork}"


def fresh_database(kind: str, server_url: str | None) -> tuple[str, callable]:
    from sqlalchemy import text

    from engine import migrate
    from engine.db import make_engine

    if kind == "sqlite":
        url = f"sqlite:///{_TMP / (uuid.uuid4().hex + '.db')}"
        migrate.upgrade(url)
        cleanup = lambda: None  # noqa: E731 - the temp dir goes away with the machine
    else:
        from sqlalchemy.engine import make_url
        name = f"st_bench_{uuid.uuid4().hex[:8]}"
        admin = make_engine(server_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
        migrate.upgrade(url)

        def cleanup():
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE bench_bare (id INTEGER PRIMARY KEY, writer INTEGER, i INTEGER, body TEXT)"
                          if kind == "sqlite" else
                          "CREATE TABLE bench_bare (id BIGSERIAL PRIMARY KEY, writer INT, i INT, body TEXT)"))
    engine.dispose()
    return url, cleanup


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=4000, help="appends per configuration")
    parser.add_argument("--postgres", default=os.environ.get("SEALTRAIL_BENCH_POSTGRES",
                                                             "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--sqlite-only", action="store_true")
    parser.add_argument("--rounds", type=int, default=2, help="bare and append runs alternate this many times")
    parser.add_argument("--add-many", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--report", help="append the result rows (JSON lines) to this file")
    args = parser.parse_args()
    rows = []
    kinds = ["sqlite"] if args.sqlite_only else ["postgresql", "sqlite"]
    print(f"audit append benchmark: {args.entries} appends per run, one per transaction; "
          f"{os.cpu_count()} CPUs")
    for kind in kinds:
        url, cleanup = fresh_database(kind, args.postgres)
        try:
            for writers in (1, 16):
                # Alternate with the baseline so both see the same machine load (the machine is shared).
                share = max(writers, args.entries // args.rounds)
                runs = [(run_writers(url, writers, share, mode="bare"), run_writers(url, writers, share))
                        for _ in range(args.rounds)]
                base = args.rounds / sum(1 / b for b, _ in runs)  # appends/s over the summed time
                rate = args.rounds / sum(1 / r for _, r in runs)
                print(f"{kind:10s} {writers:2d} writer(s): {rate:8.0f} appends/s   "
                      f"(bare lock+INSERT+commit: {base:6.0f}/s, ratio {rate / base:.2f}, goal >= 0.85)")
                label = "PostgreSQL" if kind == "postgresql" else "SQLite"
                rows.append({"benchmark": f"audit append, {writers} writer{'s' if writers > 1 else ''}, {label}",
                             "figure": f"{rate:,.0f} appends/s", "baseline": f"{base:,.0f}/s bare lock+INSERT+commit",
                             "ratio": rate / base, "goal": ">= 0.85x", "met": rate / base >= 0.85,
                             "note": f"{share * args.rounds} appends, one per transaction"})
            if args.add_many:
                for size in (100, 1000):
                    rate = add_many(url, max(1, 20_000 // size), size)
                    print(f"{kind:10s} add-many, {size:4d} entries per transaction: {rate:8.0f} entries/s")
            verdict = check(url)
            print(f"{kind:10s} chain afterwards: {verdict}")
            for row in rows:
                if row["benchmark"].endswith("PostgreSQL" if kind == "postgresql" else "SQLite"):
                    row["note"] += f"; chain afterwards: {verdict.split(',')[0]}"
        finally:
            cleanup()
    if args.report:
        with open(args.report, "a") as out:
            for row in rows:
                out.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
