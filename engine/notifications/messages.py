"""What a notification says, in English and Chinese: a subject, a line, the link (text and HTML).

Only the title of the task (or record) and a link to it leave the database; a digest lists them.
The HTML is rendered by Jinja2 with autoescaping (a task title is outside input).
"""
from __future__ import annotations

from dataclasses import dataclass

from jinja2 import Environment, select_autoescape

#: kind → locale → (subject, line). ``{title}`` is the task's title.
WORDING = {
    "task_ready": {
        "en": ("Task waiting: {title}", "A task is waiting for you in Sealtrail:"),
        "zh_CN": ("待办任务：{title}", "Sealtrail 中有一项任务等待您处理："),
    },
    "task_due_soon": {
        "en": ("Due tomorrow: {title}", "This task is due within a day:"),
        "zh_CN": ("明天到期：{title}", "此任务将在一天内到期："),
    },
    "task_overdue": {
        "en": ("Overdue, escalated to you: {title}", "This task is overdue and has been escalated to you:"),
        "zh_CN": ("已逾期并升级给您：{title}", "此任务已逾期，已升级给您处理："),
    },
    "signing_locked": {
        "en": ("Your electronic signing is locked",
               "Your electronic signing was locked after repeated failed attempts. If this was not you, "
               "tell your administrator."),
        "zh_CN": ("您的电子签名已被锁定", "多次尝试失败后，您的电子签名已被锁定。如非本人操作，请通知管理员。"),
    },
    "deviation_opened": {
        "en": ("Deviation opened: {title}", "A deviation was opened on your work centre:"),
        "zh_CN": ("新偏差：{title}", "您的工作中心新开了一项偏差："),
    },
    "test": {
        "en": ("Sealtrail test message", "This is a test message from Sealtrail: the channel works."),
        "zh_CN": ("Sealtrail 测试消息", "这是一条来自 Sealtrail 的测试消息：该通道工作正常。"),
    },
}
DIGEST = {
    "en": ("Sealtrail: {count} notification(s)", "Your daily summary from Sealtrail:", "Open"),
    "zh_CN": ("Sealtrail：{count} 条通知", "您的 Sealtrail 每日汇总：", "打开"),
}
OPEN = {"en": "Open in Sealtrail", "zh_CN": "在 Sealtrail 中打开"}

_env = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
_HTML = _env.from_string(
    '<!doctype html><html lang="{{ lang }}"><body style="font-family:sans-serif">'
    "<p>{{ line }}</p><ul>{% for item in items %}<li>"
    '{% if item.title %}<strong>{{ item.title }}</strong> — {% endif %}<a href="{{ item.url }}">{{ open }}</a>'
    "</li>{% endfor %}</ul></body></html>")


@dataclass(frozen=True)
class Item:
    """One line of a message: what it is about and where to open it."""

    kind: str
    title: str
    url: str


@dataclass(frozen=True)
class Rendered:
    """A message ready for a channel."""

    subject: str
    text: str
    html: str


def _locale(locale: str | None) -> str:
    return "zh_CN" if (locale or "").startswith("zh") else "en"


def render(items: list[Item], locale: str | None) -> Rendered:
    """One item: its own wording; several: a digest listing them all."""
    loc = _locale(locale)
    if len(items) == 1:
        subject, line = WORDING[items[0].kind][loc]
        subject = subject.format(title=items[0].title)
    else:
        subject, line, _ = DIGEST[loc]
        subject = subject.format(count=len(items))
    text_lines = [line, ""]
    for item in items:
        label = WORDING[item.kind][loc][0].format(title=item.title) if len(items) > 1 else item.title
        text_lines += [f"- {label}" if label else "-", f"  {item.url}"]
    shown = [Item(i.kind, WORDING[i.kind][loc][0].format(title=i.title) if len(items) > 1 else i.title, i.url)
             for i in items]
    html = _HTML.render(lang="zh-CN" if loc == "zh_CN" else "en", line=line, items=shown, open=OPEN[loc])
    return Rendered(subject=subject, text="\n".join(text_lines) + "\n", html=html)
