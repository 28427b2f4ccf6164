"""Master data and production figures: demo load, draft+release of a routing, lot start (manifest pin).

Usage: .venv/bin/python bench/bench_masterdata.py [DATABASE_URL]
Default: a temporary SQLite file. For PostgreSQL pass e.g.
postgresql+psycopg://postgres@127.0.0.1:5432/sealtrail_bench (the database must exist and be empty).
Prints measured figures; never fails on a threshold.
"""
from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("SEALTRAIL_VAR_DIR", tempfile.mkdtemp(prefix="sealtrail-bench-"))

from sqlalchemy import select  # noqa: E402

from engine import migrate  # noqa: E402
from engine.config import load_settings  # noqa: E402
from engine.db import make_engine, make_session_factory  # noqa: E402
from engine.demo import load_demo  # noqa: E402
from engine.masterdata import revisions, routings  # noqa: E402
from engine.masterdata.models import Product, Routing  # noqa: E402
from engine.production import lots  # noqa: E402
from engine.users import accounts  # noqa: E402


def _ms(samples: list[float]) -> str:
    samples = sorted(samples)
    p95 = samples[min(len(samples) - 1, int(len(samples) * 0.95))]
    return f"median {statistics.median(samples) * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms (n={len(samples)})"


def main() -> None:
    url = sys.argv[1] if len(sys.argv) > 1 else f"sqlite:///{os.environ['SEALTRAIL_VAR_DIR']}/bench.db"
    settings = load_settings(database_url=url)
    migrate.upgrade(url)
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    t0 = time.perf_counter()
    with sessions.begin() as s:
        load_demo(s, settings, enroll_totp=False)
    print(f"dialect: {engine.dialect.name}")
    print(f"demo plant load (19 lots, ~470 audit entries, one transaction): {time.perf_counter() - t0:.2f} s")

    release_times, draft_times, start_times = [], [], []
    for i in range(20):
        with sessions.begin() as s:
            actor = accounts.actor_for(accounts.get_user_by_name(s, "wang.fang"))
            routing = s.scalars(select(Routing).where(Routing.code == "RT-IS200")).one()
            t = time.perf_counter()
            draft = revisions.new_draft(s, actor, routing, change_summary=f"bench {i}")
            param = draft.operations[2].parameters[1]
            routings.update_parameter(s, actor, param, usl=0.5 - (i % 5) * 0.01)
            draft_times.append(time.perf_counter() - t)
            t = time.perf_counter()
            revisions.submit_for_review(s, actor, draft)
            revisions.release(s, actor, draft, reason="bench")
            release_times.append(time.perf_counter() - t)
        with sessions.begin() as s:
            actor = accounts.actor_for(accounts.get_user_by_name(s, "liu.yang"))
            product = s.scalars(select(Product)).one()
            t = time.perf_counter()
            lot = lots.plan_lot(s, actor, lot_number=f"BENCH-{i:03d}", quantity=100, product=product)
            lots.start_lot(s, actor, lot)
            start_times.append(time.perf_counter() - t)
    print(f"new draft of a 7-operation routing (deep copy) + one parameter edit: {_ms(draft_times)}")
    print(f"submit + release (previous revision obsoleted, cycle/resource checks): {_ms(release_times)}")
    print(f"plan + start a lot (manifest of product, BOM tree, routing, documents + SHA-256): {_ms(start_times)}")
    engine.dispose()


if __name__ == "__main__":
    main()
