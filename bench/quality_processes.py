"""Quality processes on the demo plant: how long the engine's own computations take.

    .venv/bin/python bench/quality_processes.py [--database-url URL] [--repeat 20]

Loads the demo plant into a scratch database (SQLite in a temporary directory unless a URL is
given; a PostgreSQL URL is used as is, so point it at an empty scratch database), then times:
the release review by exception of every made lot (all ten checks), the impact analysis of a
routing draft, of an equipment change and of an SOP change, and opening a deviation (record +
audit entry + workflow start up to the triage task). Prints medians and maxima in milliseconds.
Nothing is committed except the demo plant and the diagrams in the scratch database.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _timed(fn, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def _line(label: str, samples: list[float]) -> None:
    print(f"{label:<58} median {statistics.median(samples):8.2f} ms   max {max(samples):8.2f} ms   n={len(samples)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url")
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="sealtrail-bench-")
    url = args.database_url or f"sqlite:///{tmp}/bench.db"

    from sqlalchemy import select

    from audit import Actor
    from engine import migrate
    from engine.config import load_settings
    from engine.db import make_engine, make_session_factory
    from engine.demo import load_demo
    from engine.masterdata.models import Document, Equipment, Routing
    from engine.masterdata.revisions import new_draft
    from engine.processes.deviations import open_deviation
    from engine.processes.impact import analyse
    from engine.processes.release_checks import exceptions_for
    from engine.production.models import Lot
    from engine.workflows import deploy_all_shipped

    migrate.upgrade(url)
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    settings = load_settings(database_url=url)
    actor = Actor(kind="system", id="bench", name="bench")
    with sessions.begin() as s:
        load_demo(s, settings, enroll_totp=False)
        deploy_all_shipped(s, actor)
    print(f"database: {engine.dialect.name}; demo plant loaded; repeat={args.repeat}")

    with sessions() as s:
        lots = [lot for lot in s.scalars(select(Lot).order_by(Lot.lot_number)) if lot.source == "made"]
        samples = []
        for lot in lots:
            samples += _timed(lambda lot=lot: exceptions_for(s, lot), args.repeat)
        _line(f"release review by exception ({len(lots)} made lots)", samples)
        routing = s.scalar(select(Routing).where(Routing.code == "RT-IS200"))
        draft = new_draft(s, actor, routing, change_summary="bench")
        _line("impact: routing RT-IS200 draft (where-used, lots, flags)", _timed(lambda: analyse(s, [draft], []),
                                                                                  args.repeat))
        leak = s.scalar(select(Equipment).where(Equipment.code == "LT-01"))
        _line("impact: equipment LT-01", _timed(lambda: analyse(s, [], [leak]), args.repeat))
        sop = s.scalar(select(Document).where(Document.code == "SOP-001"))
        _line("impact: document SOP-001 (operations, retraining)", _timed(lambda: analyse(s, [], [sop]), args.repeat))
        lot = lots[0]
        _line("open_deviation (record, audit, workflow to triage)",
              _timed(lambda: open_deviation(s, actor, lot=lot, source="bench", description="bench"), args.repeat))
        s.rollback()
    engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
