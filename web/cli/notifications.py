"""``sealtrail notifications …`` and the worker's delivery pass.

The pass (:func:`deliver_notifications`) owns the transactions: it finds due reminders and
escalations in one, leases due outbox rows in another, then sends each message with no
transaction open (a slow mail server holds no database lock) and records the outcome in a
transaction of its own. Email waits in the outbox while ``SEALTRAIL_SMTP_URL`` is unset.
"""
from __future__ import annotations

import click
import httpx
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from audit import SYSTEM
from engine.config import ConfigError
from engine.db import utcnow
from engine.errors import SealtrailError
from engine.notifications import channels, outbox
from engine.notifications.delivery import claim_due, outbox_counts, record_failure, record_sent
from engine.notifications.messages import render
from engine.notifications.models import MODES, WEBHOOK_KINDS, Notification
from engine.notifications.reminders import scan_due_tasks
from engine.notifications.transports import DeliveryError, SmtpTransport, post_webhook
from engine.schema import load_models
from engine.users import accounts
from engine.users.models import LOCALES, ROLES, User
from web.cli.actors import acting_user


def smtp_transport(settings) -> SmtpTransport | None:
    """The configured SMTP transport, or None when ``SEALTRAIL_SMTP_URL`` is unset."""
    return SmtpTransport.from_url(settings.smtp_url, settings.smtp_from) if settings.smtp_url else None


def deliver_notifications(sessions, settings, *, now=None, limit: int = 100, smtp: SmtpTransport | None = None,
                          http: httpx.Client | None = None) -> dict:
    """One delivery pass (see the module doc). Returns counts of messages."""
    now = now or utcnow()
    smtp = smtp or smtp_transport(settings)
    stats = {"queued": 0, "sent": 0, "retrying": 0, "failed": 0}
    with sessions.begin() as session:
        stats["queued"] = scan_due_tasks(session, now)
    with sessions.begin() as session:
        batches = claim_due(session, now, settings.public_url, limit=limit,
                            channels=("email", "webhook") if smtp else ("webhook",))
    client = http or httpx.Client()
    try:
        for batch in batches:
            message = render(batch.items, batch.locale)
            try:
                if batch.channel == "email":
                    sent_as = smtp.send(batch.email, message)
                else:
                    sent_as = post_webhook(client, batch.webhook, message)
            except DeliveryError as exc:
                with sessions.begin() as session:
                    status = record_failure(session, batch.ids, str(exc), now)
                stats["failed" if status == "failed" else "retrying"] += 1
                continue
            with sessions.begin() as session:
                record_sent(session, batch.ids, sent_as, now)
            stats["sent"] += 1
    finally:
        if http is None:
            client.close()
    return stats


def register(cli: click.Group) -> None:
    cli.add_command(notifications)


@click.group()
def notifications() -> None:
    """Email and chat notifications: the outbox, preferences, webhooks."""


def _sessions():
    load_models()
    return current_app.extensions["sealtrail.sessions"]


@notifications.command()
@click.option("--limit", default=20, show_default=True, help="Pending and failed rows listed.")
@with_appcontext
def status(limit: int) -> None:
    """Show the outbox: counts per channel and status, then pending and failed rows with reasons."""
    settings = current_app.extensions["sealtrail.settings"]
    with _sessions().begin() as session:
        counts = outbox_counts(session)
        rows = list(session.scalars(select(Notification).where(Notification.status.in_(("pending", "failed")))
                                    .order_by(Notification.status.desc(), Notification.id.desc()).limit(limit)))
        lines = [(r.status, r.id, r.kind, r.channel, _recipient(session, r), r.attempts, r.next_attempt_at,
                  r.last_error) for r in rows]
    click.echo(f"SMTP: {_smtp_line(settings)}")
    for channel in ("email", "webhook"):
        by_status = counts.get(channel, {})
        click.echo(f"{channel}: " + ", ".join(f"{s} {by_status.get(s, 0)}"
                                               for s in ("pending", "sent", "failed", "suppressed")))
    for st, rid, kind, channel, who, attempts, next_at, error in lines:
        when = f"next try {next_at:%Y-%m-%d %H:%M:%S}Z" if st == "pending" else "gave up"
        click.echo(f"  {st} #{rid} {kind} {channel} → {who}: attempts {attempts}, {when}"
                   + (f": {error}" if error else ""))


def _smtp_line(settings) -> str:
    if not settings.smtp_url:
        return "not configured (SEALTRAIL_SMTP_URL unset): email waits in the outbox"
    try:
        t = smtp_transport(settings)
    except ConfigError as exc:
        return f"misconfigured: {exc}"
    return f"{t.scheme}://{t.host}:{t.port} from {t.sender}"


def _recipient(session, row: Notification) -> str:
    if row.channel == "email":
        user = session.get(User, row.user_id)
        return f"{user.username} <{user.email or 'no email'}>" if user else f"user {row.user_id}"
    return f"webhook {row.webhook_id}"


@notifications.command()
@click.argument("username")
@click.option("--mode", type=click.Choice(MODES), required=True,
              help="immediate, digest (once a day) or escalations (only overdue and lock notices).")
@click.option("--hour", "digest_hour", type=click.IntRange(0, 23), default=8, show_default=True,
              help="Digest hour in the user's time zone.")
@with_appcontext
def preference(username: str, mode: str, digest_hour: int) -> None:
    """Set how USERNAME is told about tasks."""
    try:
        with _sessions().begin() as session:
            user = accounts.get_user_by_name(session, username)
            channels.set_preference(session, SYSTEM, user.id, mode=mode, digest_hour=digest_hour)
    except SealtrailError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(f"{username}: {mode}" + (f" at {digest_hour:02d}:00 ({user.timezone})" if mode == "digest" else ""))


@notifications.group()
def webhook() -> None:
    """Chat webhooks (WeCom, DingTalk, Teams, Slack) per role."""


@webhook.command("add")
@click.argument("name")
@click.option("--kind", type=click.Choice(WEBHOOK_KINDS), required=True)
@click.option("--url", required=True, help="The webhook URL the chat service gave you.")
@click.option("--role", type=click.Choice(ROLES), default=None, help="Tasks of this role's lane are posted.")
@click.option("--work-centre", default=None, help="Or: deviations opened on this work centre are posted.")
@click.option("--locale", type=click.Choice(LOCALES), default="zh_CN", show_default=True)
@click.option("--secret", default=None, help="DingTalk signing secret (SEC…), when the robot has one.")
@click.option("--by", "by", required=True, help="The administrator making the change.")
@with_appcontext
def webhook_add(name, kind, url, role, work_centre, locale, secret, by) -> None:
    """Add a webhook NAME."""
    try:
        with _sessions().begin() as session:
            admin = acting_user(session, by, ("admin",))
            hook = channels.add_webhook(session, accounts.actor_for(admin), name=name, kind=kind, url=url,
                                        role=role, work_centre=work_centre, locale=locale, secret=secret)
            hook_id = hook.id
    except SealtrailError as exc:
        raise click.ClickException(exc.message) from exc
    what = f"the {role} lane" if role else f"deviations on work centre {work_centre}"
    click.echo(f"webhook {name} (#{hook_id}) posts {what} to {channels.url_host(url)}")


@webhook.command("list")
@with_appcontext
def webhook_list() -> None:
    """List the webhooks (hosts only: the URL holds the token)."""
    with _sessions().begin() as session:
        for h in channels.list_webhooks(session):
            click.echo(f"{h.name}\t{h.kind}\t{h.role or 'work centre ' + h.work_centre}\t{h.locale}\t"
                       f"{channels.url_host(h.url)}\t"
                       f"{'on' if h.active else 'off'}")


@notifications.command("test-send")
@click.argument("username")
@with_appcontext
def test_send(username: str) -> None:
    """Queue a test email to USERNAME (the worker sends it)."""
    try:
        with _sessions().begin() as session:
            user = accounts.get_user_by_name(session, username)
            added = outbox.enqueue(session, "test", outbox.Subject("test", utcnow().strftime("%Y%m%dT%H%M%S"),
                                                                   "", "/"), users=[user.id])
    except SealtrailError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(f"test email to {username} queued ({added} row)")
