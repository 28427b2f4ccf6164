"""Reading the audit trail through the API: the client's own writes, keyset paging, filters."""
from __future__ import annotations

import uuid

from tests.api.conftest import alarm_body, bearer


def test_alarm_write_is_readable_with_the_clients_identity(client, full_token, make_token):
    key = str(uuid.uuid4())
    alarm = client.post("/api/v1/alarms", json=alarm_body(), headers=bearer(full_token) | {"Idempotency-Key": key})
    alarm_id = str(alarm.get_json()["alarm_id"])
    reader = make_token("read", name="auditor tool")
    page = client.get(f"/api/v1/audit/entries?object_type=alarm&object_id={alarm_id}",
                      headers=bearer(reader)).get_json()
    [entry] = page["entries"]
    assert entry["action"] == "alarm.received" and entry["actor"]["kind"] == "api"
    assert entry["actor"]["id"] == "token:" + full_token.split("_")[1]
    assert entry["after"]["event_id"] == key and len(entry["hash"]) == 64


def test_keyset_paging_walks_the_chain_in_order(client, full_token):
    for _ in range(8):
        client.post("/api/v1/alarms", json=alarm_body(), headers=bearer(full_token)
                    | {"Idempotency-Key": str(uuid.uuid4())})
    seen, after = [], 0
    for _ in range(50):
        page = client.get(f"/api/v1/audit/entries?limit=7&after_seq={after}", headers=bearer(full_token)).get_json()
        seen += [e["seq"] for e in page["entries"]]
        if page["next_after_seq"] is None:
            break
        after = page["next_after_seq"]
    assert seen == sorted(seen) and len(seen) == len(set(seen)) and len(seen) > 7
    links = client.get("/api/v1/audit/entries?limit=2", headers=bearer(full_token)).get_json()["entries"]
    assert links[1]["prev_hash"] == links[0]["hash"]


def test_verify_reports_an_intact_chain_and_a_tampered_one(client, full_token, fresh_db, api_db):
    ok = client.get("/api/v1/audit/verify", headers=bearer(full_token)).get_json()
    assert ok["ok"] is True and ok["count"] >= 1 and ok["problems"] == []
    # tamper with a copy: an app on a database of its own
    from sqlalchemy import text

    from audit import SYSTEM
    from engine.access import tokens
    from web.app import create_app

    with fresh_db.sessions.begin() as session:
        secret = tokens.create_token(session, SYSTEM, name="verifier", scopes=["read"]).secret
        tokens.create_token(session, SYSTEM, name="second", scopes=["read"])
    with fresh_db.owner_engine.begin() as conn:  # an attacker with DBA rights drops the append-only guard
        if fresh_db.engine.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE audit_entry DISABLE TRIGGER USER"))
        else:
            conn.execute(text("DROP TRIGGER IF EXISTS audit_entry_no_update"))
        conn.execute(text("UPDATE audit_entry SET actor_name = 'Mallory' WHERE seq = 1"))
    app = create_app({"TESTING": True}, settings=fresh_db.settings())
    try:
        broken = app.test_client().get("/api/v1/audit/verify", headers=bearer(secret)).get_json()
    finally:
        app.extensions["sealtrail.engine"].dispose()
    assert broken["ok"] is False and broken["problems"][0]["seq"] == 1
