"""``sealtrail worker [--once]``: fire due BPMN timers (several workers may run on PostgreSQL)."""
from __future__ import annotations

import time

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy.exc import SQLAlchemyError

from engine.schema import load_models

from audit import Actor
from engine.workflows import run_due_timers

WORKER = Actor(kind="system", id="worker", name="Sealtrail timer worker")


def register(cli: click.Group) -> None:
    cli.add_command(worker)


@click.command()
@click.option("--once", is_flag=True, help="One pass over due timers, then exit.")
@click.option("--interval", default=10.0, show_default=True, help="Seconds between passes.")
@click.option("--batch", default=50, show_default=True, help="Instances per pass.")
@with_appcontext
def worker(once: bool, interval: float, batch: int) -> None:
    """Fire timers that are due (CAPA effectiveness checks, escalations of overdue reviews)."""
    load_models()
    sessions = current_app.extensions["sealtrail.sessions"]
    while True:
        try:
            stats = run_due_timers(sessions, WORKER, limit=batch)
        except SQLAlchemyError as exc:  # database unreachable: report, wait, retry (unless --once)
            click.echo(f"worker pass failed: {str(getattr(exc, 'orig', exc)).splitlines()[0]}", err=True)
            if once:
                raise SystemExit(1) from exc
            time.sleep(interval)
            continue
        if once or stats["instances"] or stats["failed"]:
            click.echo(f"timers fired: {stats['fired']} in {stats['instances']} instance(s), "
                       f"failed: {stats['failed']}")
        if once:
            return
        if stats["instances"] < batch:
            time.sleep(interval)
