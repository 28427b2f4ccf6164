"""The MQTT bridge against the real Mosquitto on 127.0.0.1:1883 (started by .ci/run)."""
from __future__ import annotations

import json
import threading
import uuid

import paho.mqtt.client as mqtt
import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from audit.models import AuditEntry
from engine.ingest.models import Alarm
from engine.ingest.mqtt_messages import topic_line
from web.cli.mqtt_bridge import AlarmBridge, wait_for
from tests.api.conftest import alarm_body

BROKER = "mqtt://127.0.0.1:1883"


def _publish(topic: str, payloads: list[bytes]) -> None:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"st-pub-{uuid.uuid4().hex[:8]}")
    client.connect("127.0.0.1", 1883)
    client.loop_start()
    try:
        for payload in payloads:
            client.publish(topic, payload, qos=1).wait_for_publish(timeout=5)
    finally:
        client.loop_stop()
        client.disconnect()


class RunningBridge:
    def __init__(self, sessions, prefix: str, client_id: str):
        self.bridge = AlarmBridge(sessions, broker=BROKER, topic=f"{prefix}/+/alarms", client_id=client_id)
        self.thread = threading.Thread(target=self.bridge.run, daemon=True)

    def __enter__(self) -> AlarmBridge:
        self.thread.start()
        assert self.bridge.subscribed.wait(10), "no subscription: is Mosquitto running on 127.0.0.1:1883?"
        return self.bridge

    def __exit__(self, *_exc):
        self.bridge.stop()
        self.thread.join(10)
        assert not self.thread.is_alive()


def _alarms(db, **where) -> int:
    with db.sessions.begin() as session:
        query = select(func.count()).select_from(Alarm)
        for name, value in where.items():
            query = query.where(getattr(Alarm, name) == value)
        return session.scalar(query)


def _message(**overrides) -> bytes:
    body = alarm_body(**overrides)
    body.pop("source")
    body["equipment"] = "OVEN-3"  # the line comes from the topic
    return json.dumps(body).encode()


def test_messages_are_ingested_once_and_malformed_ones_audited(fresh_db):
    prefix = f"st-test/{uuid.uuid4().hex[:8]}"
    event = f"evt-{uuid.uuid4()}"
    with RunningBridge(fresh_db.sessions, prefix, f"st-bridge-{uuid.uuid4().hex[:8]}") as bridge:
        _publish(f"{prefix}/L7/alarms", [
            _message(event_id=event),
            _message(event_id=event),            # QoS 1 redelivery / re-send: a duplicate
            _message(code="NO_EVENT_ID"),        # no event id: the payload hash dedupes
            _message(code="NO_EVENT_ID"),
            b"{not json",                        # malformed
            json.dumps({"equipment": "OVEN-3", "code": "X", "severity": 5000}).encode(),  # invalid
            b"\xff\xfe",                         # not UTF-8
        ])
        assert wait_for(lambda: sum(bridge.counts.values()) == 7, timeout=15), bridge.counts
    assert bridge.counts == {"created": 2, "duplicate": 2, "rejected": 3}
    assert _alarms(fresh_db, event_id=event, source="L7/OVEN-3", channel="mqtt") == 1
    assert _alarms(fresh_db, code="NO_EVENT_ID") == 1
    with fresh_db.sessions.begin() as session:
        rejected = session.scalars(select(AuditEntry).where(AuditEntry.action == "alarm.rejected")).all()
        reasons = " | ".join(json.loads(e.payload)["reason"] for e in rejected)
    assert len(rejected) == 3
    assert "not JSON" in reasons and "severity" in reasons and "UTF-8" in reasons


def test_messages_sent_while_the_bridge_is_down_arrive_after_restart(fresh_db):
    prefix = f"st-test/{uuid.uuid4().hex[:8]}"
    client_id = f"st-bridge-{uuid.uuid4().hex[:8]}"
    with RunningBridge(fresh_db.sessions, prefix, client_id):
        pass  # the broker now holds a persistent session for client_id
    event = f"offline-{uuid.uuid4()}"
    _publish(f"{prefix}/L2/alarms", [_message(event_id=event)])
    with RunningBridge(fresh_db.sessions, prefix, client_id) as bridge:
        assert wait_for(lambda: bridge.counts["created"] == 1, timeout=15), bridge.counts
    assert _alarms(fresh_db, event_id=event) == 1


class _FlakySessions:
    """A session factory whose first ``failures`` transactions fail as if the database were down."""

    def __init__(self, real, failures: int):
        self.real, self.failures = real, failures

    def begin(self):
        if self.failures > 0:
            self.failures -= 1
            raise OperationalError("BEGIN", {}, Exception("connection refused"))
        return self.real.begin()


def test_database_outage_is_retried_with_backoff(fresh_db):
    bridge = AlarmBridge(_FlakySessions(fresh_db.sessions, 3), broker=BROKER, topic="x/+/alarms",
                         retry_initial=0.01, retry_max=0.02)
    assert bridge.handle_with_retry("x/L1/alarms", _message(event_id="after-outage")) == "created"
    assert _alarms(fresh_db, event_id="after-outage") == 1


def test_topic_line_and_broker_url():
    assert topic_line("plant/+/alarms", "plant/L1/alarms") == "L1"
    assert topic_line("plant/#", "plant/L1/alarms") is None
    with pytest.raises(ValueError):
        AlarmBridge(None, broker="http://127.0.0.1", topic="t")
