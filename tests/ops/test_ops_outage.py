"""Database outage: PostgreSQL stopped mid-request and restarted under a running app.

Requests fail with a clear 503 (never a 500), nothing of an interrupted transaction is stored,
and the same app object serves again once the server is back: no restart needed.
"""
from __future__ import annotations

import pytest
from sqlalchemy import func, select, text

from audit import SYSTEM, chain
from audit.models import AuditEntry
from engine import migrate
from engine.db import make_engine
from tests.conftest import ON_POSTGRES
from tests.ops.conftest import make_app
from web.db import transaction
from web.login import public

pytestmark = [
    pytest.mark.slow,
    pytest.mark.postgres_only,
    pytest.mark.requirement("21CFR11.10(c)", "Annex11-7"),
    # It runs its own server whatever the suite's database is; once per CI run is enough.
    pytest.mark.skipif(not ON_POSTGRES, reason="runs in the PostgreSQL pass of the suite"),
]


@pytest.fixture(scope="module")
def outage_db(private_pg):
    admin = make_engine(private_pg.url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text('CREATE DATABASE "outage"'))
    admin.dispose()
    url = private_pg.url("outage")
    migrate.upgrade(url)
    return url


def _app(url, server):
    app = make_app(url)

    @app.post("/api/v1/ops-probe/record")
    @public
    def record():
        from flask import request

        with transaction() as session:
            chain.append(session, SYSTEM, "probe.first", "probe", "1", after={"half": 1})
            session.flush()
            if request.args.get("crash") == "1":
                server.stop()  # the database dies between two writes of one transaction
            chain.append(session, SYSTEM, "probe.second", "probe", "1", after={"half": 2})
        return {"ok": True}, 201

    @app.get("/ops-probe/page")
    @public
    def page():
        with transaction() as session:
            return f"<p>{session.scalar(select(func.count()).select_from(AuditEntry))}</p>"

    return app


def _entries(url):
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            count, top = conn.execute(select(func.count(), func.max(AuditEntry.seq))).one()
            actions = list(conn.execute(select(AuditEntry.action).order_by(AuditEntry.seq))
                           .scalars())
            return count, top, actions
    finally:
        engine.dispose()


def test_outage_answers_503_stores_nothing_partial_and_recovers_without_restart(private_pg,
                                                                                outage_db):
    app = _app(outage_db, private_pg)
    client = app.test_client()
    try:
        assert client.post("/api/v1/ops-probe/record").status_code == 201
        assert client.get("/readyz").status_code == 200

        # The server dies in the middle of a transaction: 503, and the first half is not kept.
        response = client.post("/api/v1/ops-probe/record?crash=1")
        assert response.status_code == 503, response.get_data(as_text=True)
        assert response.mimetype == "application/problem+json"
        assert "Nothing from this request was saved" in response.json["detail"]
        assert response.headers["Retry-After"]

        # While it is down: every kind of request gets a clear 503, liveness stays up.
        assert client.post("/api/v1/ops-probe/record").status_code == 503
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json["checks"]["database"]["detail"].startswith("unreachable")
        assert client.get("/healthz").status_code == 200
        page = client.get("/ops-probe/page", headers={"Accept": "text/html"})
        assert page.status_code == 503 and "服务暂不可用" in page.get_data(as_text=True)

        private_pg.start()

        # Same app object, same pool: it serves again.
        assert client.get("/readyz").status_code == 200
        assert client.post("/api/v1/ops-probe/record").status_code == 201
        assert client.get("/ops-probe/page").status_code == 200
    finally:
        app.extensions["sealtrail.engine"].dispose()

    count, top, actions = _entries(outage_db)
    # Two complete requests of two entries each; the interrupted one left nothing.
    assert actions == ["probe.first", "probe.second"] * 2
    assert count == top == 4  # gap-free
