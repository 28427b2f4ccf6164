"""Quality processes: ``sealtrail audit-review schedule|now`` (the periodic and on-demand reviews)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import click
from flask import current_app
from flask.cli import with_appcontext

from audit import Actor
from engine.errors import SealtrailError
from engine.processes.audit_reviews import ensure_periodic, iso, schedule

SCHEDULER = Actor(kind="system", id="audit-review", name="Sealtrail audit-review scheduler")


def register(cli: click.Group) -> None:
    cli.add_command(audit_review)


def _run(work):
    try:
        with current_app.extensions["sealtrail.sessions"].begin() as session:
            return work(session)
    except SealtrailError as exc:
        raise click.ClickException(exc.message) from exc


@click.group("audit-review")
def audit_review() -> None:
    """Audit-trail reviews (EU GMP Annex 11 §9)."""


@audit_review.command("schedule")
@click.option("--period", default="P1M", show_default=True, help="Review period: PnM (months) or PnD (days).")
@with_appcontext
def schedule_cmd(period: str) -> None:
    """Make sure the periodic review of the current period is scheduled (idempotent)."""
    def work(session):
        review = ensure_periodic(session, SCHEDULER, period=period)
        return iso(review.period_start), iso(review.period_end), review.process_instance_id

    start, end, instance = _run(work)
    click.echo(f"periodic audit-trail review {start} – {end} (instance {instance}) is scheduled")


@audit_review.command("now")
@click.option("--days", default=30, show_default=True, help="Review the last N days.")
@with_appcontext
def now_cmd(days: int) -> None:
    """Start an on-demand review of the last N days; it waits in the QA engineers' inbox."""
    def work(session):
        end = datetime.now(timezone.utc)
        return schedule(session, SCHEDULER, period_start=end - timedelta(days=days), period_end=end,
                        on_demand=True).process_instance_id

    click.echo(f"on-demand audit-trail review started (instance {_run(work)})")
