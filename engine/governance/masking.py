"""Masking of records that leave the installation, by the data dictionary's rules.

``pseudonym``: a keyed hash (HMAC-SHA256) of the person, so the same person has the same
pseudonym wherever they appear in one package (by user id, user name or printed name) and a
different one in the next package. ``remove``: the column is left out. ``scan``: free text and
JSON documents have every user name, printed name (and each part of a bilingual printed name) and
any extra term given (other suppliers' names) replaced.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from engine.governance.dictionary import ColumnEntry

REDACTED = "[redacted]"


@dataclass(frozen=True)
class Person:
    """A user as masking knows them."""

    id: int
    username: str
    printed_name: str


def _variants(person: Person) -> set[str]:
    names = {person.username.strip(), person.printed_name.strip()}
    names |= {part.strip() for part in re.split(r"[/()]", person.printed_name)}
    return {n for n in names if len(n) >= 2}


def _pattern(term: str) -> str:
    # Word boundaries only where the term starts/ends with a Latin letter or digit: Chinese text
    # has no spaces between words, so a Chinese name is matched anywhere.
    head = r"(?<![A-Za-z0-9_.])" if re.match(r"[A-Za-z0-9]", term) else ""
    tail = r"(?![A-Za-z0-9_])" if re.search(r"[A-Za-z0-9]$", term) else ""
    return head + re.escape(term) + tail


class Masker:
    """Applies the masking rules for one package (``key``: that package's pseudonym key)."""

    def __init__(self, key: bytes, people: Iterable[Person], redact: Iterable[str] = ()):
        self._key = key
        self._people = list(people)
        self._by_id = {p.id: p for p in self._people}
        self._by_name: dict[str, Person] = {}
        replacements: dict[str, str] = {}
        for person in self._people:
            for name in _variants(person):
                self._by_name.setdefault(name.casefold(), person)
                replacements.setdefault(name.casefold(), self.person(person.id))
        for term in redact:
            if term and len(term.strip()) >= 2:
                replacements.setdefault(term.strip().casefold(), REDACTED)
        self._replacements = replacements
        terms = sorted(replacements, key=len, reverse=True)
        self._regex = re.compile("|".join(_pattern(t) for t in terms), re.IGNORECASE) if terms else None

    def _digest(self, text: str) -> str:
        return hmac.new(self._key, text.encode("utf-8"), hashlib.sha256).hexdigest()[:12]

    def person(self, user_id: int) -> str:
        """The pseudonym of user ``user_id`` in this package."""
        return f"P-{self._digest(f'user:{user_id}')}"

    def pseudonym(self, value) -> str | None:
        """A person's pseudonym from an id, a user name or a printed name; other text hashed alike."""
        if value is None or value == "":
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            return self.person(value)
        text = str(value).strip()
        person = self._by_name.get(text.casefold())
        if person is None and text.isdigit():
            person = self._by_id.get(int(text))
        return self.person(person.id) if person else f"P-{self._digest('text:' + text.casefold())}"

    def scan(self, value):
        """``value`` with every name replaced (strings, and strings inside lists and mappings)."""
        if isinstance(value, str):
            if self._regex is None:
                return value
            return self._regex.sub(lambda m: self._replacements[m.group(0).casefold()], value)
        if isinstance(value, Mapping):
            return {self.scan(k): self.scan(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.scan(v) for v in value]
        return value

    def row(self, row: Mapping, columns: Mapping[str, ColumnEntry]) -> dict:
        """One record masked column by column (``columns``: the dictionary's entries)."""
        out = {}
        for name, value in row.items():
            mask = columns[name].mask
            if mask == "remove":
                continue
            if mask == "pseudonym":
                value = self.pseudonym(value)
            elif mask == "scan":
                value = self.scan(value)
            out[name] = plain(value)
        return out


def plain(value):
    """A JSON-able form of a database value."""
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return hashlib.sha256(bytes(value)).hexdigest()
    return value
