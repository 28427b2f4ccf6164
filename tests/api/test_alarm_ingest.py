"""POST /api/v1/alarms: exactly once per (source, event id), Idempotency-Key semantics, rules."""
from __future__ import annotations

import json
import threading
import uuid
from datetime import datetime

import pytest
from sqlalchemy import func, select, text

from audit.models import AuditEntry
from engine.ingest import rules
from engine.ingest.models import Alarm, IdempotencyRecord
from tests.api.conftest import ADMIN, alarm_body, bearer
from tests.conftest import ON_POSTGRES


def _post(client, token, body, key=None):
    headers = bearer(token) | ({"Idempotency-Key": key} if key else {})
    return client.post("/api/v1/alarms", json=body, headers=headers)


def _count(api_db, **where):
    with api_db.sessions.begin() as session:
        query = select(func.count()).select_from(Alarm)
        for name, value in where.items():
            query = query.where(getattr(Alarm, name) == value)
        return session.scalar(query)


def test_new_alarm_is_created_and_audited_with_the_client(client, full_token, api_db):
    key = str(uuid.uuid4())
    response = _post(client, full_token, alarm_body(), key)
    assert response.status_code == 201
    answer = response.get_json()
    assert answer["status"] == "created" and answer["event_id"] == key
    assert answer["outcome"] == "logged"  # no rule matches: stored and audited, nothing more
    with api_db.sessions.begin() as session:
        entry = session.scalars(select(AuditEntry).where(
            AuditEntry.action == "alarm.received", AuditEntry.object_id == str(answer["alarm_id"]))).one()
        assert entry.actor_kind == "api" and entry.actor_id.startswith("token:")
        assert json.loads(entry.after)["code"] == "TEMP_HIGH"


def test_same_key_same_payload_replays_the_first_answer(client, full_token, api_db):
    key, body = str(uuid.uuid4()), alarm_body(code="PRESSURE_LOW")
    first = _post(client, full_token, body, key)
    again = _post(client, full_token, body, key)
    assert first.status_code == 201 and "Idempotent-Replayed" not in first.headers
    assert (again.status_code, again.get_json()) == (201, first.get_json())  # status and body as first answered
    assert again.headers["Idempotent-Replayed"] == "true"
    received = datetime.fromisoformat(first.get_json()["received_at"])
    assert received.utcoffset() is not None  # every API timestamp carries its offset
    assert _count(api_db, event_id=key) == 1


def test_same_key_different_payload_is_422(client, full_token, api_db):
    key = str(uuid.uuid4())
    assert _post(client, full_token, alarm_body(severity=300), key).status_code == 201
    response = _post(client, full_token, alarm_body(severity=900), key)
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["field"] == "Idempotency-Key"
    assert _count(api_db, event_id=key) == 1


def test_same_event_id_under_another_key_is_a_duplicate(client, full_token, make_token, api_db):
    event = f"opcua-{uuid.uuid4()}"
    body = alarm_body(event_id=event)
    first = _post(client, full_token, body, str(uuid.uuid4()))
    # ConditionRefresh from another gateway with its own token: same EventId, same content.
    other = make_token("alarms:write", name="second gateway")
    second = _post(client, other, body, str(uuid.uuid4()))
    third = _post(client, full_token, body, str(uuid.uuid4()))  # a fresh key: the event id dedupes
    assert first.status_code == 201
    assert second.status_code == 200 and second.get_json()["status"] == "duplicate"
    assert third.status_code == 200 and third.get_json()["alarm_id"] == first.get_json()["alarm_id"]
    conflicting = _post(client, full_token, alarm_body(event_id=event, severity=1), str(uuid.uuid4()))
    assert conflicting.status_code == 422 and conflicting.get_json()["errors"][0]["field"] == "event_id"
    assert _count(api_db, event_id=event) == 1


def test_missing_idempotency_key_is_400(client, full_token):
    response = _post(client, full_token, alarm_body(event_id=str(uuid.uuid4())))
    assert response.status_code == 400
    assert response.get_json()["errors"][0]["field"] == "Idempotency-Key"


def test_concurrent_posts_of_one_event_store_it_once(app, full_token, api_db):
    event = f"burst-{uuid.uuid4()}"
    statuses: list[int] = []

    def post():
        with app.test_client() as own:
            statuses.append(_post(own, full_token, alarm_body(event_id=event), str(uuid.uuid4())).status_code)

    threads = [threading.Thread(target=post) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [200] * 5 + [201]
    assert _count(api_db, event_id=event) == 1


@pytest.mark.postgres_only
@pytest.mark.skipif(not ON_POSTGRES, reason="in-flight detection uses PostgreSQL advisory locks")
def test_key_still_in_flight_is_409(client, full_token, api_db):
    from engine.ingest.idempotency import _lock_key

    key = str(uuid.uuid4())
    client_id = "token:" + full_token.split("_")[1]
    with api_db.engine.connect() as other:  # another request holding the key, mid-transaction
        other.execute(text("BEGIN"))
        other.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _lock_key(client_id, key)})
        response = _post(client, full_token, alarm_body(), key)
        other.execute(text("ROLLBACK"))
    assert response.status_code == 409
    assert _post(client, full_token, alarm_body(), key).status_code == 201


def test_rules_decide_ignore_and_log(client, full_token, api_db):
    with api_db.sessions.begin() as session:
        rules.create_rule(session, ADMIN, {"name": "door chatter", "code": "DOOR_OPEN", "action": "ignore",
                                           "priority": 10}, reason="nuisance alarm per ISA-18.2 review")
    ignored = _post(client, full_token, alarm_body(code="DOOR_OPEN"), str(uuid.uuid4())).get_json()
    logged = _post(client, full_token, alarm_body(code="DOOR_CLOSED"), str(uuid.uuid4())).get_json()
    assert ignored["outcome"] == "ignored" and ignored["rule_id"] is not None
    assert logged["outcome"] == "logged" and logged["rule_id"] is None


def test_idempotency_record_is_scoped_to_the_client(client, full_token, make_token, api_db):
    key = str(uuid.uuid4())
    other = make_token("alarms:write", name="another line")
    a = _post(client, full_token, alarm_body(source={"line": "L2", "equipment": "E1"}), key)
    b = _post(client, other, alarm_body(source={"line": "L3", "equipment": "E1"}), key)
    assert a.status_code == 201 and b.status_code == 201
    with api_db.sessions.begin() as session:
        assert session.scalar(select(func.count()).select_from(IdempotencyRecord)
                              .where(IdempotencyRecord.key == key)) == 2
