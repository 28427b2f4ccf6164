"""Genealogy benchmark on PostgreSQL: 100k lots, 1M consumption links, depth 6.

    python bench/trace.py [--url postgresql+psycopg://postgres@127.0.0.1:5432/test] [--keep]

Creates its own database next to the one in ``--url`` (or SEALTRAIL_BENCH_DATABASE_URL),
migrates it, bulk-loads a layered plant with COPY and times backward traces of finished lots,
forward traces of raw-material lots and recall simulations through ``engine.trace.genealogy``.
Layers: 10k finished lots, 5 × 13k intermediate lots, 25k purchased lots; each made lot
consumes 13–14 lots of the next layer chosen near its own position (lots made in the same
period use component lots made in the same period), so traces stay realistic rather than
reaching the whole plant. Prints figures; never fails on a slow result.
"""
from __future__ import annotations

import argparse
import functools
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from engine import migrate  # noqa: E402
from engine.db import make_engine, make_session_factory  # noqa: E402
from engine.trace import genealogy  # noqa: E402

print = functools.partial(print, flush=True)  # noqa: A001  (progress shows while it runs)

LAYERS = [10_000] + [13_000] * 5 + [25_000]  # depth 6: seven layers of lots
LINKS = 1_000_000
WINDOW = 40
TYPES = ["finished_good", "subassembly", "subassembly", "component", "component", "component", "raw_material"]


def build(url: str, seed: int = 2026) -> tuple[list[range], float]:
    rng = random.Random(seed)
    first, layers = 1, []
    for size in LAYERS:
        layers.append(range(first, first + size))
        first += size
    made = sum(LAYERS[:-1])
    base, extra = divmod(LINKS, made)
    started = time.perf_counter()
    raw = make_url(url).set(drivername="postgresql")
    import psycopg

    with psycopg.connect(raw.render_as_string(hide_password=False)) as conn, conn.cursor() as cur:
        with cur.copy("COPY items (id, code, name, item_type, base_unit, purchased, specification, active, "
                      "created_at) FROM STDIN") as cp:
            for depth, kind in enumerate(TYPES):
                cp.write_row((depth + 1, f"BENCH-I{depth}", f"Bench item {depth}", kind, "pcs", depth == 6, "",
                              True, "2026-01-01T00:00:00Z"))
        with cur.copy("COPY lots (id, lot_number, item_id, source, status, unit, quantity_planned, quantity_made, "
                      "quantity_approved, created_at, notes) FROM STDIN") as cp:
            for depth, layer in enumerate(layers):
                for lot_id in layer:
                    cp.write_row((lot_id, f"B{depth}-{lot_id:06d}", depth + 1, "purchased" if depth == 6 else "made",
                                  rng.choice(("released", "released", "completed", "on_hold")), "pcs",
                                  100, 100, 95, "2026-01-01T00:00:00Z", ""))
        n = 0
        with cur.copy("COPY material_consumptions (parent_lot_id, component_lot_id, quantity, unit, consumed_at) "
                      "FROM STDIN") as cp:
            for depth in range(len(layers) - 1):
                parents, children = layers[depth], layers[depth + 1]
                for i, parent in enumerate(parents):
                    k = base + (1 if n < extra else 0)
                    n += 1
                    centre = int(i * len(children) / len(parents))
                    lo = max(0, min(centre - WINDOW // 2, len(children) - WINDOW))
                    for j in rng.sample(range(lo, lo + WINDOW), k):
                        cp.write_row((parent, children[j], 1, "pcs", "2026-01-01T00:00:00Z"))
        cur.execute("SELECT setval('lots_id_seq', %s)", (first,))
        cur.execute("SELECT setval('items_id_seq', 8)")
        conn.commit()
        conn.autocommit = True
        cur.execute("VACUUM ANALYZE lots")
        cur.execute("VACUUM ANALYZE material_consumptions")
    return layers, time.perf_counter() - started


def timed(fn, *args):
    t0 = time.perf_counter()
    out = fn(*args)
    return (time.perf_counter() - t0) * 1000, out


def report(label: str, ms: list[float], sizes: list[int], depths: list[int]) -> None:
    ms_sorted = sorted(ms)
    print(f"{label:34} n={len(ms):3}  median {statistics.median(ms):7.1f} ms  "
          f"p95 {ms_sorted[int(0.95 * (len(ms) - 1))]:7.1f} ms  max {max(ms):7.1f} ms  "
          f"lots reached median {int(statistics.median(sizes))} (max {max(sizes)})  depth max {max(depths)}")


def run(url: str, samples: int) -> None:
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    rng = random.Random(7)
    layers = [range(sum(LAYERS[:i]) + 1, sum(LAYERS[:i + 1]) + 1) for i in range(len(LAYERS))]
    with sessions() as session:
        counts = session.execute(text("SELECT (SELECT count(*) FROM lots), (SELECT count(*) FROM material_consumptions)")).one()
        print(f"plant: {counts[0]:,} lots, {counts[1]:,} consumption links, {len(LAYERS) - 1} levels; "
              f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        genealogy.trace(session, layers[0][0], "backward")  # warm the cache once
        for label, layer, direction in (("backward trace of a finished lot", 0, "backward"),
                                        ("forward trace of a raw-material lot", 6, "forward"),
                                        ("forward trace of a mid-level lot", 3, "forward")):
            ms, sizes, depths = [], [], []
            for lot_id in rng.sample(layers[layer], samples):
                elapsed, result = timed(genealogy.trace, session, lot_id, direction)
                ms.append(elapsed)
                sizes.append(len(result.lots))
                depths.append(result.max_depth)
            report(label, ms, sizes, depths)
        ms, sizes, depths = [], [], []
        for lot_id in rng.sample(layers[6], samples):
            elapsed, sim = timed(genealogy.simulate_recall, session, lot_id)
            ms.append(elapsed)
            sizes.append(len(sim.affected))
            depths.append(sim.trace.max_depth)
        report("recall simulation (raw lot)", ms, sizes, depths)
        lot_id = layers[0][123]
        elapsed, result = timed(genealogy.trace, session, lot_id, "backward")
        elapsed_tree, _ = timed(result.tree)
        print(f"tree assembly for one backward trace ({len(result.lots)} lots): {elapsed_tree:.1f} ms "
              f"(query {elapsed:.1f} ms)")
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("SEALTRAIL_BENCH_DATABASE_URL",
                                                        "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--samples", type=int, default=50)
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database afterwards")
    args = parser.parse_args()
    if not args.url.startswith("postgresql"):
        sys.exit("bench/trace.py measures PostgreSQL: pass a postgresql+psycopg:// URL")
    name = f"st_bench_trace_{os.getpid()}"
    admin = make_engine(args.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(args.url).set(database=name).render_as_string(hide_password=False)
    try:
        t0 = time.perf_counter()
        migrate.upgrade(url)
        print(f"migrated in {time.perf_counter() - t0:.1f} s")
        _, load_s = build(url)
        print(f"loaded {sum(LAYERS):,} lots and {LINKS:,} links with COPY in {load_s:.1f} s")
        run(url, args.samples)
    finally:
        if not args.keep:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
