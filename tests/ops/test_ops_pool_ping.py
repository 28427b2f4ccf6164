"""Pooled PostgreSQL connections are pinged only after sitting idle, and a dead one is replaced
before use (#13: the ping was one round trip more in every transaction)."""
from __future__ import annotations

import pytest
from sqlalchemy import text

from engine.db import make_engine
from tests.conftest import ON_POSTGRES

pytestmark = [pytest.mark.postgres_only,
              pytest.mark.skipif(not ON_POSTGRES, reason="SQLite connections are not pinged")]


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def _pid(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT pg_backend_pid()")).scalar_one()


def test_a_connection_returned_moments_ago_is_not_pinged_an_idle_one_is(fresh_db):
    clock = Clock()
    engine = make_engine(fresh_db.url, pool_size=1, max_overflow=0, ping_after_idle=5, pool_clock=clock)
    pings = []
    real = engine.dialect.do_ping
    engine.dialect.do_ping = lambda dbapi_conn: pings.append(1) or real(dbapi_conn)
    try:
        first = _pid(engine)  # a new connection: no ping
        clock.now += 4.9
        assert _pid(engine) == first and pings == []
        clock.now += 5
        assert _pid(engine) == first and pings == [1]
    finally:
        engine.dispose()


def test_a_connection_that_died_while_idle_is_replaced_before_use(fresh_db):
    clock = Clock()
    engine = make_engine(fresh_db.url, pool_size=1, max_overflow=0, ping_after_idle=5, pool_clock=clock)
    try:
        dead = _pid(engine)
        with fresh_db.owner_engine.connect() as owner:
            assert owner.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": dead}).scalar_one()
        clock.now += 60
        assert _pid(engine) != dead  # the ping failed, the pool connected afresh, the query ran
    finally:
        engine.dispose()
