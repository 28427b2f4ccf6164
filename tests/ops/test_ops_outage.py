"""Database outage: PostgreSQL stopped in the middle of real write paths, then restarted.

Two of the application's own writes are interrupted half-way, by stopping the server the moment
the transaction sends a statement that comes after others of the same transaction: a signed task
completion from the task page (stopped as the signature row is inserted, after the workflow state
and the audit entries), and an alarm ingestion from the API (stopped as the alarm row is
inserted, after the idempotency claim). Each answers 503 saying nothing was saved, nothing of the
interrupted transaction is stored, and the same request succeeds once the server is back, on
the same app object (no restart).
"""
from __future__ import annotations

import uuid

import pytest
from sqlalchemy import event, func, select, text

from audit import SYSTEM
from audit.models import AuditEntry, Signature
from engine import migrate
from engine.access import tokens
from engine.db import make_engine
from engine.ingest.models import Alarm, IdempotencyRecord
from engine.workflows.models import WorkflowTask
from tests.api.conftest import alarm_body, bearer
from tests import conftest as shared
from tests.conftest import ON_POSTGRES
from tests.web.conftest import (PASSWORD, csrf_token, deploy_test_process, make_app, make_persona,
                                open_task_id, sign_in, start_change)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.postgres_only,
    # It runs its own server whatever the suite's database is; once per CI run is enough.
    pytest.mark.skipif(not ON_POSTGRES, reason="runs in the PostgreSQL pass of the suite"),
]


@pytest.fixture()
def outage_db(private_pg):
    name = f"outage_{uuid.uuid4().hex[:8]}"
    admin = make_engine(private_pg.url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    db = shared.TestDatabase(private_pg.url(name))
    migrate.upgrade(db.url)
    yield db
    db.engine.dispose()


class StopServerAt:
    """Stops the server just before the app sends the first statement starting with ``prefix``."""

    def __init__(self, app, server, prefix: str):
        self.server, self.prefix, self.armed, self.fired = server, prefix.upper(), False, False
        event.listen(app.extensions["sealtrail.engine"], "before_cursor_execute", self._before)

    def _before(self, conn, cursor, statement, parameters, context, executemany):
        if self.armed and statement.lstrip().upper().startswith(self.prefix):
            self.armed, self.fired = False, True
            self.server.stop()  # the statement is then sent to a server that is gone


def _counts(db, *models) -> dict:
    engine = make_engine(db.url)
    try:
        with engine.connect() as conn:
            return {m.__tablename__: conn.execute(select(func.count()).select_from(m)).scalar_one()
                    for m in models}
    finally:
        engine.dispose()


def _assert_503_nothing_saved(response, *, json: bool):
    assert response.status_code == 503, response.get_data(as_text=True)[:2000]
    assert response.headers["Retry-After"]
    if json:
        assert response.mimetype == "application/problem+json"
        assert "Nothing from this request was saved" in response.json["detail"]
    else:
        assert "Nothing from this request was saved" in response.get_data(as_text=True)


@pytest.mark.requirement("21CFR11.10(c)", "21CFR11.10(e)", "Annex11-7")
def test_a_signed_task_completion_interrupted_by_an_outage_saves_nothing_and_succeeds_after(
        private_pg, outage_db):
    qa, pe = make_persona(outage_db, "qa"), make_persona(outage_db, "pe")
    deploy_test_process(outage_db)
    task_id = open_task_id(outage_db, start_change(outage_db, pe))
    app = make_app(outage_db)
    client = app.test_client()
    stopper = StopServerAt(app, private_pg, "INSERT INTO signature")
    try:
        assert sign_in(client, qa).status_code == 302
        form = {"qa_decision": "approve", "qa_comment": "ok", "password": PASSWORD,
                "csrf_token": csrf_token(client, f"/tasks/{task_id}")}
        before = _counts(outage_db, AuditEntry, Signature)
        stopper.armed = True
        code = qa.code()
        _assert_503_nothing_saved(client.post(f"/tasks/{task_id}", data=form | {"totp_code": code},
                                              headers={"Accept": "text/html"}), json=False)
        assert stopper.fired
        assert client.get("/readyz").status_code == 503 and client.get("/healthz").status_code == 200

        private_pg.start()
        assert _counts(outage_db, AuditEntry, Signature) == before  # no entry, no signature
        engine = make_engine(outage_db.url)
        try:
            with engine.connect() as conn:
                assert conn.execute(select(WorkflowTask.state).where(WorkflowTask.id == task_id)).scalar_one() == "ready"
        finally:
            engine.dispose()
        # The same request, the same code (it was never consumed: its use rolled back).
        again = client.post(f"/tasks/{task_id}", data=form | {"totp_code": code})
        assert again.status_code == 302, again.get_data(as_text=True)[:2000]
    finally:
        app.extensions["sealtrail.engine"].dispose()
    # The harness's own pool predates the restart; a connection of it used within the ping window
    # (engine.db.PING_AFTER_IDLE_SECONDS) would fail its first statement, as documented. Read anew.
    outage_db.engine.dispose()
    with outage_db.sessions() as s:
        assert s.scalar(select(WorkflowTask.state).where(WorkflowTask.id == task_id)) == "completed"
        assert s.scalars(select(Signature).where(Signature.record_id == task_id)).one().printed_name == "Quinn QA"
        seqs = s.scalars(select(AuditEntry.seq).order_by(AuditEntry.seq)).all()
        assert seqs == list(range(1, len(seqs) + 1))  # gap-free


@pytest.mark.requirement("21CFR11.10(c)", "21CFR11.10(e)", "Annex11-7")
def test_an_alarm_ingestion_interrupted_by_an_outage_saves_nothing_and_succeeds_after(private_pg, outage_db):
    with outage_db.sessions.begin() as s:
        secret = tokens.create_token(s, SYSTEM, name="line 1", scopes=[tokens.ALARMS_WRITE]).secret
    app = make_app(outage_db)
    client = app.test_client()
    stopper = StopServerAt(app, private_pg, "INSERT INTO alarms")
    body, headers = alarm_body(), bearer(secret) | {"Idempotency-Key": "evt-outage-1"}
    try:
        before = _counts(outage_db, Alarm, IdempotencyRecord, AuditEntry)
        stopper.armed = True
        _assert_503_nothing_saved(client.post("/api/v1/alarms", json=body, headers=headers), json=True)
        assert stopper.fired
        down = client.post("/api/v1/alarms", json=body, headers=headers)  # while it is down
        assert down.status_code == 503 and down.mimetype == "application/problem+json"

        private_pg.start()
        assert _counts(outage_db, Alarm, IdempotencyRecord, AuditEntry) == before  # not even the claim
        again = client.post("/api/v1/alarms", json=body, headers=headers)
        assert again.status_code == 201, again.get_data(as_text=True)
        assert "Idempotent-Replayed" not in again.headers
    finally:
        app.extensions["sealtrail.engine"].dispose()
    after = _counts(outage_db, Alarm, IdempotencyRecord, AuditEntry)
    assert after["alarms"] == before["alarms"] + 1 and after["idempotency_records"] == before["idempotency_records"] + 1

