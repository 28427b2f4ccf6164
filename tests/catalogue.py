"""The UI message catalogue as the pages use it: extracted from the sources (what ``pybabel extract``
reads through ``babel.cfg``) and matched against the Chinese translations.

Shared by the catalogue-completeness test and the browser sweep (a zh page showing a catalogue
message in English is an untranslated page).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[1]
ZH_PO = ROOT / "web/translations/zh_Hans_CN/LC_MESSAGES/messages.po"


@dataclass(frozen=True)
class Message:
    id: str
    locations: tuple[str, ...]


@cache
def extracted() -> tuple[Message, ...]:
    """Every message the sources hand to gettext (singular ids; plurals give both forms)."""
    with open(ROOT / "babel.cfg", encoding="utf-8") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    found: dict[str, list[str]] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=_KEYWORDS):
        ids = message if isinstance(message, tuple) else (message,)
        for mid in ids:
            if mid:
                found.setdefault(mid, []).append(f"{filename}:{lineno}")
    return tuple(Message(mid, tuple(locs)) for mid, locs in sorted(found.items()))


_KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "_l": None,
             "pgettext": ((1, "c"), 2), "npgettext": ((1, "c"), 2, 3)}


@cache
def chinese() -> Catalog:
    with open(ZH_PO, "rb") as f:
        return read_po(f, locale="zh_Hans_CN")


def translation(mid: str) -> str | None:
    """The Chinese text of ``mid`` (the first form of a plural), None when missing, empty or fuzzy."""
    entry = chinese().get(mid)
    if entry is None:
        # a plural's second form is stored under the singular id
        entry = next((m for m in chinese() if isinstance(m.id, tuple) and mid in m.id), None)
    if entry is None or entry.fuzzy:
        return None
    text = entry.string[0] if isinstance(entry.string, tuple) else entry.string
    return text or None


def untranslated() -> list[Message]:
    """Extracted messages without a Chinese translation."""
    return [m for m in extracted() if translation(m.id) is None]


_PLACEHOLDER = re.compile(r"%\((\w+)\)[sdif]|%[sdif]|\{\w*\}")


@cache
def english_patterns() -> tuple[tuple[str, re.Pattern], ...]:
    """(message id, regex matching a whole text as that English message with any placeholder values).

    Only messages with at least two letters outside the placeholders and a Chinese text that differs
    from the English (brand names and units translate to themselves).
    """
    out = []
    for m in extracted():
        zh = translation(m.id)
        literal = _PLACEHOLDER.sub("", m.id)
        if zh is not None and zh.strip() == m.id.strip():
            continue
        if len(re.findall(r"[A-Za-z]", literal)) < 2:
            continue
        if literal != m.id and len(re.findall(r"[A-Za-z]{2,}", literal)) < 2:
            continue  # "Lot %(n)s", "%(code)s changed.": too little English to tell from data
        pieces = _PLACEHOLDER.sub("\x00", m.id).split("\x00")
        regex = "(.+?)".join(re.escape(re.sub(r"\s+", " ", p)) for p in pieces)
        out.append((m.id, re.compile(r"\A" + regex + r"\Z", re.S)))
    return tuple(out)


def _prose(value: str) -> bool:
    """English words rather than a value: lowercase words, or a word followed by a lowercase word."""
    return bool(re.fullmatch(r"[a-z][a-z .,;:()-]*", value) or re.match(r"[a-z]{2,} ", value)
                or re.search(r"\b[A-Za-z]{2,} [a-z]{2,}\b", value))


def english_in(texts: list[str]) -> list[str]:
    """Texts (whole, whitespace-collapsed text nodes or attributes of a page) that are English catalogue messages."""
    hits = []
    patterns = english_patterns()
    for text in {" ".join(t.split()) for t in texts}:
        if not re.search(r"[A-Za-z]{2}", text):
            continue
        for mid, pattern in patterns:
            match = pattern.match(text)
            # a placeholder stands for a value (a number, a name, a code), not for more English words
            if match and not any(_prose(v) for v in match.groups()):
                hits.append(f"{text!r} (msgid {mid!r})")
                break
    return sorted(hits)
