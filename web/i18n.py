"""Languages (zh_CN, en) and time zones: from the user's profile, then the browser.

Dates are shown in the user's time zone; signatures and audit entries also show UTC
(``utc`` filter) because that is what the record holds.
"""
from __future__ import annotations

from datetime import datetime, timezone

from flask import Flask, has_request_context, request, session
from flask_babel import Babel, format_datetime, get_locale, get_timezone
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from engine.masterdata.units import pretty_unit

LANGUAGES = {"en": "English", "zh_CN": "中文"}
# Babel expands zh_CN to zh_Hans_CN (likely subtags) and gettext then looks for zh_Hans_CN or zh,
# so the catalog lives in translations/zh_Hans_CN.
DEFAULT_TIMEZONE = "UTC"

babel = Babel()


def select_locale() -> str:
    """Profile locale, then an explicit choice stored in the session, then Accept-Language;
    English outside a request (documents the CLI renders with the app's templates)."""
    if not has_request_context():
        return "en"
    if current_user and current_user.is_authenticated:
        locale = getattr(current_user, "locale", None)
        if locale in LANGUAGES:
            return locale
    chosen = session.get("locale")
    if chosen in LANGUAGES:
        return chosen
    return request.accept_languages.best_match(list(LANGUAGES), default="en")


def current_language() -> str:
    """The request's language as one of :data:`LANGUAGES` (Babel spells zh_CN ``zh_Hans_CN``)."""
    locale = get_locale()
    return "zh_CN" if locale is not None and locale.language == "zh" else "en"


def select_timezone() -> str:
    if current_user and current_user.is_authenticated:
        tz = getattr(current_user, "timezone", None)
        if tz:
            return tz
    return DEFAULT_TIMEZONE


def _aware(value) -> datetime:
    """An aware UTC datetime from a datetime (naive = UTC, as SQLite returns them) or ISO text."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def local_dt(value: datetime | str | None, fmt: str = "medium") -> str:
    """``value`` in the user's time zone and language."""
    if value is None:
        return ""
    return format_datetime(_aware(value), fmt)


def utc_dt(value: datetime | str | None) -> str:
    """``value`` as an unambiguous UTC timestamp, e.g. ``2026-11-26 15:04:05 UTC``."""
    if value is None:
        return ""
    return _aware(value).astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def init_i18n(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", "en")
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", "translations")
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    app.jinja_env.filters["dt"] = local_dt
    app.jinja_env.filters["utc"] = utc_dt
    app.jinja_env.filters["unit"] = pretty_unit  # degC → °C, percent → %, N*m → N·m
    app.jinja_env.globals["LANGUAGES"] = LANGUAGES
    app.jinja_env.globals["current_locale"] = current_language
    app.jinja_env.globals["state_label"] = state_label
    register_labels(app)
    app.jinja_env.globals["current_timezone"] = lambda: str(get_timezone())


_STATES = {
    "draft": _l("draft"), "in_review": _l("in review"), "released": _l("released"),
    "obsolete": _l("obsolete"), "open": _l("open"), "ready": _l("ready"), "running": _l("running"),
    "completed": _l("completed"), "cancelled": _l("cancelled"), "closed": _l("closed"),
    "approved": _l("approved"), "rejected": _l("rejected"), "on_hold": _l("on hold"),
    "quarantine": _l("quarantine"), "passed": _l("passed"), "failed": _l("failed"),
    "overdue": _l("overdue"), "error": _l("error"), "claimed": _l("claimed"),
    "unclaimed": _l("unclaimed"), "in_progress": _l("in progress"), "planned": _l("planned"),
    "due": _l("due"), "valid": _l("valid"), "expired": _l("expired"),
    "submitted": _l("submitted"), "assessed": _l("assessed"), "implemented": _l("implemented"),
    "withdrawn": _l("withdrawn"), "superseded": _l("superseded"), "scheduled": _l("scheduled"),
    "assembled": _l("assembled"), "active": _l("active"), "pending": _l("pending"), "sent": _l("sent"),
    "suppressed": _l("suppressed"),
    # deviation classes
    "minor": _l("minor"), "major": _l("major"), "critical": _l("critical"), "unclassified": _l("unclassified"),
    # item types (master data)
    "raw_material": _l("raw material"), "component": _l("component"), "subassembly": _l("subassembly"),
    "packaging": _l("packaging"), "finished_good": _l("finished good"),
}


def state_label(state) -> str:
    """A state name in the user's language (unknown states are shown as stored)."""
    key = str(state)
    label = _STATES.get(key)
    return str(label) if label is not None else key.replace("_", " ")


_PROCESSES = {
    "change_control": _l("Change control"), "capa": _l("CAPA"), "deviation": _l("Deviation"),
    "batch_release": _l("Batch release"), "audit_review": _l("Audit-trail review"),
}
_ROLES = {
    "operator": _l("Operator"), "process_engineer": _l("Process engineer"),
    "production_manager": _l("Production manager"), "qa_engineer": _l("QA engineer"),
    "qa_manager": _l("QA manager"), "regulatory": _l("Regulatory affairs"), "auditor": _l("Auditor"),
    "admin": _l("Administrator"),
}
_MEANINGS = {
    "authored": _l("Authored"), "reviewed": _l("Reviewed"), "approved": _l("Approved"),
    "rejected": _l("Rejected"), "released": _l("Released"), "verified": _l("Verified"),
    "performed": _l("Performed"), "witnessed": _l("Witnessed"), "acknowledged": _l("Acknowledged"),
    "responsible": _l("Responsible"),
}


def process_label(process_id: str | None) -> str:
    label = _PROCESSES.get(process_id or "")
    return str(label) if label is not None else (process_id or "")


def role_label(role: str | None) -> str:
    label = _ROLES.get(role or "")
    return str(label) if label is not None else (role or "")


def meaning_label(meaning: str | None) -> str:
    """A signature meaning (§11.50(a)(3)) in the user's language."""
    label = _MEANINGS.get(meaning or "")
    return str(label) if label is not None else (meaning or "")


def bilingual(text: str | None) -> str:
    """The user's half of a bilingual ``"English / 中文"`` name from a diagram."""
    if not text or " / " not in text:
        return text or ""
    english, chinese = text.split(" / ", 1)
    return chinese.strip() if current_language() == "zh_CN" else english.strip()


def age(value) -> str:
    """How long ago ``value`` was, compactly (``3 d``, ``5 h``, ``12 min``)."""
    if value is None:
        return ""
    seconds = (datetime.now(timezone.utc) - _aware(value)).total_seconds()
    if seconds >= 86400:
        return str(_l("%(n)s d", n=int(seconds // 86400)))
    if seconds >= 3600:
        return str(_l("%(n)s h", n=int(seconds // 3600)))
    return str(_l("%(n)s min", n=max(0, int(seconds // 60))))


_SECONDS = {"s": 1, "min": 60, "h": 3600, "d": 86400}


def duration(value, unit: str = "min") -> str:
    """A duration given in ``unit`` (s, min, h, d) in the two largest human units: ``45 d 6 h``,
    ``3 h 20 min``, ``12 min``; under a minute ``< 1 min``; None as an em dash."""
    if value is None:
        return "—"
    seconds = round(float(value) * _SECONDS[unit])
    if 0 < seconds < 60:
        return str(_l("< 1 min"))
    days, rest = divmod(seconds, 86400)
    hours, minutes = rest // 3600, rest % 3600 // 60
    if days:
        parts = [_l("%(n)s d", n=days)] + ([_l("%(n)s h", n=hours)] if hours else [])
    elif hours:
        parts = [_l("%(n)s h", n=hours)] + ([_l("%(n)s min", n=minutes)] if minutes else [])
    else:
        parts = [_l("%(n)s min", n=minutes)]
    return " ".join(str(p) for p in parts)


def register_labels(app: Flask) -> None:
    app.jinja_env.globals.update(process_label=process_label, role_label=role_label,
                                 meaning_label=meaning_label, age=age, event_label=event_label)
    app.jinja_env.filters["duration"] = duration
    app.jinja_env.filters["bilingual"] = bilingual


_EVENTS = {
    "started": _l("Started"), "task_completed": _l("Task completed"), "claimed": _l("Claimed"),
    "unclaimed": _l("Released"), "reassigned": _l("Reassigned"), "timer_fired": _l("Timer fired"),
    "message": _l("Message received"), "completed": _l("Process completed"), "error": _l("Error"),
    "cancelled": _l("Cancelled"), "migrated": _l("Migrated"), "decision": _l("Decision table applied"),
}


def event_label(kind: str | None) -> str:
    label = _EVENTS.get(kind or "")
    return str(label) if label is not None else (kind or "").replace("_", " ")
