"""The MQTT alarm bridge: subscribe (QoS 1), feed each message into alarm ingestion, then ack.

The loop and its transactions live here, with the ``sealtrail mqtt-bridge`` command; what one
message means (parse, ingest, reject) is ``engine.ingest.mqtt_messages``.

At least once, end to end: a message is acknowledged only after its transaction committed
(paho's ``manual_ack``; a persistent session, ``clean_session=False``, so the broker keeps
unacknowledged and new messages while the bridge is away). Redeliveries are ordinary
duplicates: the event id (the payload's ``event_id``, else a SHA-256 of the payload) dedupes
them. A malformed message is logged, audited as ``alarm.rejected`` and acknowledged, so it
cannot wedge the queue. A database outage is retried with capped exponential backoff; the
broker connection reconnects with backoff by itself. Nothing a message contains ends the loop.
"""
from __future__ import annotations

import hashlib
import logging
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlparse

import paho.mqtt.client as mqtt
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError, OperationalError

from audit import Actor
from engine.errors import SealtrailError
from engine.ingest.mqtt_messages import (event_id_of, ingest_message, parse_message, record_rejection,
                                         rejection_reason)

log = logging.getLogger("sealtrail.mqtt")


@dataclass(frozen=True)
class BrokerAddress:
    host: str
    port: int
    username: str | None = None
    password: str | None = None

    @classmethod
    def parse(cls, url: str) -> BrokerAddress:
        parts = urlparse(url)
        if parts.scheme not in ("mqtt", "tcp") or not parts.hostname:
            raise ValueError(f"broker must look like mqtt://host:1883, not {url!r}")
        return cls(parts.hostname, parts.port or 1883, parts.username, parts.password)


class AlarmBridge:
    """Turns MQTT messages into stored alarms; :meth:`handle` is the whole per-message logic."""

    def __init__(self, sessions, *, broker: str, topic: str, client_id: str = "sealtrail-bridge",
                 retry_initial: float = 0.5, retry_max: float = 30.0):
        self.sessions = sessions
        self.broker = BrokerAddress.parse(broker)
        self.topic = topic
        self.client_id = client_id
        self.actor = Actor(kind="api", id=f"mqtt:{client_id}", name=f"MQTT bridge {client_id}")
        self.retry_initial, self.retry_max = retry_initial, retry_max
        self._stop = threading.Event()
        self.subscribed = threading.Event()  # set once the broker granted the subscription
        self._client = None
        self.counts = {"created": 0, "duplicate": 0, "rejected": 0}

    # -- one message -------------------------------------------------------------------------
    def handle(self, topic: str, payload: bytes) -> str:
        """Ingest one message in its own transaction: 'created', 'duplicate' or 'rejected'.

        Raises only for database failures (the caller retries and does not ack meanwhile).
        """
        try:
            alarm = parse_message(self.topic, topic, payload)
        except (ValueError, ValidationError) as exc:
            return self._reject(topic, payload, rejection_reason(exc))
        try:
            with self.sessions.begin() as session:
                outcome = ingest_message(session, self.actor, alarm, payload)
        except SealtrailError as exc:
            return self._reject(topic, payload, exc.message)
        self.counts[outcome] += 1
        log.info("alarm %s from %s: %s", event_id_of(alarm, payload), topic, outcome)
        return outcome

    def _reject(self, topic: str, payload: bytes, reason: str) -> str:
        log.warning("rejected MQTT message on %s (sha256 %s): %s", topic,
                    hashlib.sha256(payload).hexdigest()[:16], reason)
        with self.sessions.begin() as session:
            record_rejection(session, self.actor, topic, payload, reason)
        self.counts["rejected"] += 1
        return "rejected"

    def handle_with_retry(self, topic: str, payload: bytes) -> str | None:
        """:meth:`handle`, retrying database failures with backoff until it works or stop()."""
        delay = self.retry_initial
        while not self._stop.is_set():
            try:
                return self.handle(topic, payload)
            except (OperationalError, DBAPIError) as exc:
                log.error("database unavailable while ingesting from %s, retrying in %.1fs: %s",
                          topic, delay, str(getattr(exc, "orig", exc)).splitlines()[0] if str(exc) else exc)
            except Exception:  # noqa: BLE001 - a bug must not end the bridge; the message stays unacked
                log.exception("unexpected error on a message from %s, retrying in %.1fs", topic, delay)
            self._stop.wait(delay)
            delay = min(delay * 2, self.retry_max)
        return None

    # -- the MQTT loop -----------------------------------------------------------------------
    def run(self) -> None:
        """Connect, subscribe and process messages until :meth:`stop` (reconnecting with backoff)."""
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=self.client_id,
                             clean_session=False, manual_ack=True)
        if self.broker.username:
            client.username_pw_set(self.broker.username, self.broker.password)
        client.reconnect_delay_set(min_delay=1, max_delay=30)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_subscribe = self._on_subscribe
        self._client = client
        delay = 1.0
        while not self._stop.is_set():
            try:
                client.connect(self.broker.host, self.broker.port, keepalive=30)
                break
            except OSError as exc:
                log.warning("broker %s:%s unreachable (%s); retrying in %.0fs", self.broker.host,
                            self.broker.port, exc, delay)
                self._stop.wait(delay)
                delay = min(delay * 2, 30.0)
        if self._stop.is_set():
            return
        client.loop_forever(retry_first_connection=True)

    def stop(self) -> None:
        """End :meth:`run` (from a signal handler or another thread)."""
        self._stop.set()
        if self._client is not None:
            self._client.disconnect()

    def _on_connect(self, client, _userdata, _flags, reason_code, _properties):
        if reason_code.is_failure:
            log.error("broker refused the connection: %s", reason_code)
            return
        log.info("connected to %s:%s; subscribing to %s (QoS 1)", self.broker.host, self.broker.port,
                 self.topic)
        client.subscribe(self.topic, qos=1)

    def _on_subscribe(self, _client, _userdata, _mid, reason_codes, _properties):
        if all(not code.is_failure for code in reason_codes):
            self.subscribed.set()
        else:
            log.error("broker refused the subscription to %s: %s", self.topic, reason_codes)

    def _on_disconnect(self, _client, _userdata, _flags, reason_code, _properties):
        self.subscribed.clear()
        if not self._stop.is_set():
            log.warning("disconnected from broker (%s); reconnecting with backoff", reason_code)

    def _on_message(self, client, _userdata, message):
        outcome = self.handle_with_retry(message.topic, message.payload)
        if outcome is not None:
            client.ack(message.mid, message.qos)


def wait_for(predicate, timeout: float = 10.0, interval: float = 0.05) -> bool:
    """Poll ``predicate`` until true or ``timeout`` (for tests and the CLI's readiness)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()
