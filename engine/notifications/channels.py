"""Configuring who hears what: per-user preferences and chat webhooks (audited, flush only).

A webhook URL carries the chat service's token: it is stored for delivery but never written to
the audit trail or shown back in full (only its host).
"""
from __future__ import annotations

import urllib.parse
from datetime import datetime

from sqlalchemy import select

from audit import chain
from engine.db import utcnow
from engine.errors import NotFound, ValidationFailed
from engine.notifications.models import MODES, WEBHOOK_KINDS, NotificationPreference, WebhookChannel
from engine.users.models import LOCALES, ROLES

NAME_MAX = 100
URL_MAX = 1000


def preference_of(session, user_id: int) -> NotificationPreference:
    """The user's preference (an unsaved default "immediate at 08:00" when none is stored)."""
    return session.get(NotificationPreference, user_id) or NotificationPreference(
        user_id=user_id, mode="immediate", digest_hour=8)


def set_preference(session, actor, user_id: int, *, mode: str, digest_hour: int = 8,
                   now: datetime | None = None) -> NotificationPreference:
    """Store how ``user_id`` wants to be told (immediate, digest at an hour of their zone, escalations)."""
    if mode not in MODES:
        raise ValidationFailed(f"mode must be one of {', '.join(MODES)}", field="mode")
    if not isinstance(digest_hour, int) or isinstance(digest_hour, bool) or not 0 <= digest_hour <= 23:
        raise ValidationFailed("digest hour must be a whole hour from 0 to 23", field="digest_hour")
    pref = session.get(NotificationPreference, user_id)
    before = None if pref is None else {"mode": pref.mode, "digest_hour": pref.digest_hour}
    if pref is None:
        pref = NotificationPreference(user_id=user_id)
        session.add(pref)
    pref.mode, pref.digest_hour, pref.updated_at = mode, digest_hour, now or utcnow()
    chain.append(session, actor, "notification.preference_set", "user", str(user_id), before=before,
                 after={"mode": mode, "digest_hour": digest_hour})
    session.flush()
    return pref


def url_host(url: str) -> str:
    """The host of a webhook URL (what is shown and audited; the path holds the token)."""
    return urllib.parse.urlsplit(url).hostname or ""


def _check_webhook(name: str, kind: str, url: str, role: str | None, work_centre: str | None, locale: str) -> None:
    if not name or len(name) > NAME_MAX or not name.isprintable():
        raise ValidationFailed(f"name must be 1 to {NAME_MAX} printable characters", field="name")
    if kind not in WEBHOOK_KINDS:
        raise ValidationFailed(f"kind must be one of {', '.join(WEBHOOK_KINDS)}", field="kind")
    parts = urllib.parse.urlsplit(url or "")
    if len(url or "") > URL_MAX or parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValidationFailed(f"url must be an http(s) URL of at most {URL_MAX} characters", field="url")
    if (role is None) == (work_centre is None):
        raise ValidationFailed("choose a role (its tasks) or a work centre (its deviations), not both",
                               field="role")
    if role is not None and role not in ROLES:
        raise ValidationFailed(f"role must be one of {', '.join(ROLES)}", field="role")
    if work_centre is not None and (not work_centre.strip() or len(work_centre) > 64):
        raise ValidationFailed("work centre must be 1 to 64 characters", field="work_centre")
    if locale not in LOCALES:
        raise ValidationFailed(f"locale must be one of {', '.join(LOCALES)}", field="locale")


def add_webhook(session, actor, *, name: str, kind: str, url: str, role: str | None = None,
                work_centre: str | None = None, locale: str = "zh_CN", secret: str | None = None) -> WebhookChannel:
    """A chat webhook told about the tasks of ``role``'s lane (and its escalations), or about the
    deviations opened on ``work_centre``."""
    role, work_centre = role or None, (work_centre or "").strip() or None
    _check_webhook(name, kind, url, role, work_centre, locale)
    if session.scalar(select(WebhookChannel.id).where(WebhookChannel.name == name)) is not None:
        raise ValidationFailed(f"a webhook named {name!r} exists", field="name")
    if secret is not None and (len(secret) > 200 or kind != "dingtalk"):
        raise ValidationFailed("a signing secret (at most 200 characters) is for DingTalk only", field="secret")
    hook = WebhookChannel(name=name, kind=kind, url=url, role=role, work_centre=work_centre, locale=locale,
                          secret=secret or None, active=True, created_at=utcnow())
    session.add(hook)
    session.flush()
    chain.append(session, actor, "notification.webhook_added", "notification_webhook", str(hook.id),
                 after={"name": name, "kind": kind, "host": url_host(url), "role": role,
                        "work_centre": work_centre, "locale": locale,
                        "signed": secret is not None})
    return hook


def set_webhook_active(session, actor, name: str, active: bool, *, reason: str) -> WebhookChannel:
    """Switch a webhook on or off (with a reason)."""
    hook = session.scalar(select(WebhookChannel).where(WebhookChannel.name == name))
    if hook is None:
        raise NotFound(f"no webhook named {name!r}")
    if not reason or not reason.strip():
        raise ValidationFailed("a reason is required", field="reason")
    before, hook.active = hook.active, active
    chain.append(session, actor, "notification.webhook_switched", "notification_webhook", str(hook.id),
                 reason=reason, before={"active": before}, after={"active": active})
    session.flush()
    return hook


def list_webhooks(session) -> list[WebhookChannel]:
    """Every webhook, by name."""
    return list(session.scalars(select(WebhookChannel).order_by(WebhookChannel.name)))
