"""Sending: email over SMTP (stdlib ``smtplib``; plain, STARTTLS or implicit TLS) and chat
webhooks (WeCom, DingTalk, Microsoft Teams, Slack) over HTTPS with httpx.

``SEALTRAIL_SMTP_URL``: ``smtp://host[:25]`` (plain), ``smtp+starttls://user:pass@host[:587]``
(STARTTLS required), ``smtps://user:pass@host[:465]`` (TLS from the first byte). User and password
are percent-decoded. Errors are raised as :class:`DeliveryError` with a one-line reason that the
outbox records.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import smtplib
import ssl
import time
import urllib.parse
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

import httpx

from engine.config import ConfigError
from engine.notifications.messages import Rendered

SCHEMES = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}
TIMEOUT = 20.0
WEBHOOK_TEXT_MAX = 4000


class DeliveryError(Exception):
    """A message could not be handed over; ``str()`` is the reason recorded on the outbox row."""


@dataclass(frozen=True)
class SmtpTransport:
    """Where and how to hand email over."""

    scheme: str
    host: str
    port: int
    username: str | None
    password: str | None
    sender: str
    ssl_context: ssl.SSLContext | None = None  # tests trust their own CA; None: the system's

    @classmethod
    def from_url(cls, url: str, sender: str, *, ssl_context: ssl.SSLContext | None = None) -> SmtpTransport:
        """Parse ``SEALTRAIL_SMTP_URL`` strictly (ConfigError names the variable)."""
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in SCHEMES or not parts.hostname:
            raise ConfigError("SEALTRAIL_SMTP_URL must look like smtp://host:25, smtp+starttls://user:pass@host:587 "
                              f"or smtps://user:pass@host:465, got scheme {parts.scheme!r}")
        try:
            port = parts.port or SCHEMES[parts.scheme]
        except ValueError:
            raise ConfigError("SEALTRAIL_SMTP_URL has an invalid port") from None
        if parts.path not in ("", "/") or parts.query:
            raise ConfigError("SEALTRAIL_SMTP_URL takes no path or query")
        user = urllib.parse.unquote(parts.username) if parts.username else None
        password = urllib.parse.unquote(parts.password) if parts.password else None
        return cls(parts.scheme, parts.hostname, port, user, password, sender, ssl_context)

    def _connect(self) -> smtplib.SMTP:
        context = self.ssl_context or ssl.create_default_context()
        if self.scheme == "smtps":
            return smtplib.SMTP_SSL(self.host, self.port, timeout=TIMEOUT, context=context)
        client = smtplib.SMTP(self.host, self.port, timeout=TIMEOUT)
        if self.scheme == "smtp+starttls":
            client.starttls(context=context)
        return client

    def send(self, to: str, message: Rendered) -> str:
        """Send a text + HTML email to ``to``; returns its Message-ID."""
        mail = EmailMessage()
        mail["From"], mail["To"], mail["Subject"] = self.sender, to, message.subject
        mail["Date"] = formatdate(localtime=False, usegmt=True)
        mail["Message-ID"] = message_id = make_msgid(domain=self.sender.rpartition("@")[2] or "sealtrail")
        mail["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies, please
        mail.set_content(message.text)
        mail.add_alternative(message.html, subtype="html")
        try:
            with self._connect() as client:
                if self.username:
                    client.login(self.username, self.password or "")
                client.send_message(mail)
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"SMTP {self.host}:{self.port}: {type(exc).__name__}: {exc}".splitlines()[0]) from exc
        return message_id


def webhook_body(kind: str, message: Rendered) -> dict:
    """The JSON each chat service expects (markdown where it has it)."""
    text = message.text[:WEBHOOK_TEXT_MAX]
    if kind == "wecom":
        return {"msgtype": "markdown", "markdown": {"content": f"**{message.subject}**\n{text}"}}
    if kind == "dingtalk":
        return {"msgtype": "markdown", "markdown": {"title": message.subject, "text": f"### {message.subject}\n{text}"}}
    if kind == "teams":
        return {"@type": "MessageCard", "@context": "https://schema.org/extensions", "summary": message.subject,
                "title": message.subject, "text": text.replace("\n", "  \n")}
    if kind == "slack":
        return {"text": f"*{message.subject}*\n{text}"}
    raise DeliveryError(f"unknown webhook kind {kind!r}")


def _dingtalk_url(url: str, secret: str) -> str:
    # DingTalk's signed robots: HMAC-SHA256 over "<ms timestamp>\n<secret>", base64, in the query.
    stamp = str(int(time.time() * 1000))
    digest = hmac.new(secret.encode(), f"{stamp}\n{secret}".encode(), hashlib.sha256).digest()
    sign = urllib.parse.quote_plus(base64.b64encode(digest).decode())
    return f"{url}{'&' if '?' in url else '?'}timestamp={stamp}&sign={sign}"


def post_webhook(client: httpx.Client, hook, message: Rendered) -> str:
    """POST the message to the webhook; WeCom and DingTalk answer 200 with an ``errcode``."""
    url = _dingtalk_url(hook.url, hook.secret) if hook.kind == "dingtalk" and hook.secret else hook.url
    try:
        response = client.post(url, json=webhook_body(hook.kind, message), timeout=TIMEOUT)
    except httpx.HTTPError as exc:
        raise DeliveryError(f"webhook {hook.name}: {type(exc).__name__}: {exc}".splitlines()[0]) from exc
    if response.status_code >= 300:
        raise DeliveryError(f"webhook {hook.name}: HTTP {response.status_code} {response.text[:200]}".splitlines()[0])
    if hook.kind in ("wecom", "dingtalk"):
        try:
            errcode = response.json().get("errcode", 0)
        except ValueError:
            errcode = None
        if errcode != 0:
            raise DeliveryError(f"webhook {hook.name}: errcode {errcode}: {response.text[:200]}".splitlines()[0])
    return f"webhook:{hook.id}:{response.status_code}"
