"""``sealtrail worker [--once]``: fire due BPMN timers and deliver notifications (several workers
may run on PostgreSQL)."""
from __future__ import annotations

import time

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy.exc import SQLAlchemyError

from audit import Actor
from audit.errors import CheckpointError
from engine.db import utcnow
from engine.schema import load_models
from engine.workflows.events import due_instances, fire_due_instance, record_timer_failure
from web.cli.notifications import deliver_notifications
from web.cli.sealing import seal

WORKER = Actor(kind="system", id="worker", name="Sealtrail timer worker")


def run_due_timers(sessions, actor, *, now=None, limit: int = 50) -> dict:
    """One worker pass: each due instance in its own transaction; a failing one is recorded on
    the instance (``last_error``) and does not stop the others. Returns counts."""
    now = now or utcnow()
    stats = {"fired": 0, "failed": 0, "instances": 0}
    with sessions.begin() as session:
        ids = [i.id for i in due_instances(session, now, limit)]
    for instance_id in ids:
        try:
            with sessions.begin() as session:
                fired = fire_due_instance(session, actor, instance_id, now)
        except Exception as exc:  # noqa: BLE001 - recorded per instance, the pass goes on
            stats["failed"] += 1
            with sessions.begin() as session:
                record_timer_failure(session, actor, instance_id, exc)
            continue
        if fired is not None:
            stats["fired"] += fired
            stats["instances"] += 1
    return stats


def _seal_if_stale(sessions, settings) -> None:
    try:
        seq = seal(sessions, settings, max_age_seconds=settings.checkpoint_max_age_seconds)
    except CheckpointError as exc:  # no key: say so every pass, keep firing timers
        click.echo(f"audit checkpoint not written: {exc}", err=True)
        return
    if seq is not None:
        click.echo(f"audit checkpoint at seq {seq}")


def register(cli: click.Group) -> None:
    cli.add_command(worker)


@click.command()
@click.option("--once", is_flag=True, help="One pass over due timers, then exit.")
@click.option("--interval", default=10.0, show_default=True, help="Seconds between passes.")
@click.option("--batch", default=50, show_default=True, help="Instances per pass.")
@with_appcontext
def worker(once: bool, interval: float, batch: int) -> None:
    """Fire timers that are due (CAPA effectiveness checks, escalations of overdue reviews) and
    deliver notifications from the outbox (email when SEALTRAIL_SMTP_URL is set, chat webhooks).

    Each pass also seals the audit trail: when entries were added and the newest checkpoint is
    older than SEALTRAIL_CHECKPOINT_MAX_AGE, a signed checkpoint is written (database and files).
    """
    load_models()
    sessions = current_app.extensions["sealtrail.sessions"]
    settings = current_app.extensions["sealtrail.settings"]
    while True:
        try:
            stats = run_due_timers(sessions, WORKER, limit=batch)
            sent = deliver_notifications(sessions, settings, limit=batch)
            _seal_if_stale(sessions, settings)
        except SQLAlchemyError as exc:  # database unreachable: report, wait, retry (unless --once)
            click.echo(f"worker pass failed: {str(getattr(exc, 'orig', exc)).splitlines()[0]}", err=True)
            if once:
                raise SystemExit(1) from exc
            time.sleep(interval)
            continue
        if once or stats["instances"] or stats["failed"]:
            click.echo(f"timers fired: {stats['fired']} in {stats['instances']} instance(s), "
                       f"failed: {stats['failed']}")
        if once or sent["sent"] or sent["retrying"] or sent["failed"]:
            click.echo(f"notifications sent: {sent['sent']}, retrying: {sent['retrying']}, "
                       f"failed: {sent['failed']}")
        if once:
            return
        if stats["instances"] < batch and sent["sent"] + sent["retrying"] + sent["failed"] < batch:
            time.sleep(interval)
