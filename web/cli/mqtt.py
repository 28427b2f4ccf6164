"""``sealtrail mqtt-bridge``: MQTT alarms into the same ingestion path as POST /api/v1/alarms."""
from __future__ import annotations

import logging
import signal

import click
from flask import current_app
from flask.cli import with_appcontext

from web.cli.mqtt_bridge import AlarmBridge, BrokerAddress


@click.command("mqtt-bridge")
@click.option("--broker", default="mqtt://127.0.0.1:1883", show_default=True)
@click.option("--topic", default="plant/+/alarms", show_default=True,
              help="Subscription; the level matched by the first '+' is the production line.")
@click.option("--client-id", default="sealtrail-bridge", show_default=True,
              help="MQTT client id; the broker keeps this client's session (QoS 1) across restarts.")
@with_appcontext
def mqtt_bridge(broker: str, topic: str, client_id: str) -> None:
    """Subscribe to alarm topics and ingest each message exactly once (runs until stopped)."""
    try:
        BrokerAddress.parse(broker)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--broker") from exc
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    bridge = AlarmBridge(current_app.extensions["sealtrail.sessions"], broker=broker, topic=topic,
                         client_id=client_id)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: bridge.stop())
    click.echo(f"bridging {topic} from {broker} (client id {client_id}); Ctrl-C to stop")
    bridge.run()
    click.echo(f"stopped: {bridge.counts}")
