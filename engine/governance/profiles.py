"""Sharing profiles: one TOML document per profile naming the selectors it accepts and, per
table, the columns it may carry. Masking is not the profile's business: the data dictionary's
rules apply to every column a profile includes.

The files shipped in ``profiles/<name>.toml`` are only the first released revisions an
installation gets (engine.governance.profile_revisions.install_shipped); what a package or an API
token uses is the revision released in the database, through change control.
"""
from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from engine.schema import all_metadata

SELECTORS = ("lot", "change", "period")
_DIR = Path(__file__).with_name("profiles")
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9-]{0,39}$")


class ProfileError(ValueError):
    """A profile file is malformed (the message names the file and the key)."""


@dataclass(frozen=True)
class Profile:
    """A released sharing profile."""

    name: str
    title: str
    selectors: tuple[str, ...]
    root: str | None
    tables: dict[str, tuple[str, ...]]
    sha256: str
    revision: int | None = None  # the released revision it was read from


def parse_profile(name: str, raw: bytes) -> Profile:
    """A Profile from the TOML bytes of ``<name>.toml``; ProfileError names what is wrong."""
    data = tomllib.loads(raw.decode("utf-8"))
    where = f"profile {name}"
    if data.get("name") != name:
        raise ProfileError(f"{where}: name must be {name!r} (the file name)")
    unknown = set(data) - {"name", "title", "selectors", "root", "tables"}
    if unknown:
        raise ProfileError(f"{where}: unknown key(s) {sorted(unknown)}")
    selectors = tuple(data.get("selectors", ()))
    if not selectors or set(selectors) - set(SELECTORS):
        raise ProfileError(f"{where}: selectors must be some of {SELECTORS}")
    if data.get("root") not in (None, "purchased", "made"):
        raise ProfileError(f"{where}: root must be purchased or made")
    known = {t.name: t for md in all_metadata() for t in md.tables.values()}
    tables: dict[str, tuple[str, ...]] = {}
    for table, spec in data.get("tables", {}).items():
        if table not in known:
            raise ProfileError(f"{where}: no table {table!r}")
        if not isinstance(spec, dict) or set(spec) - {"columns"}:
            raise ProfileError(f"{where}: tables.{table} takes only 'columns'"
                               + (f" (unknown key(s) {sorted(set(spec) - {'columns'})})" if isinstance(spec, dict) else ""))
        columns = tuple(spec.get("columns", ()))
        missing = [c for c in columns if c not in known[table].c]
        if missing or "id" not in columns:
            raise ProfileError(f"{where}: {table} has no column(s) {missing}" if missing
                               else f"{where}: {table} must include its id column")
        tables[table] = columns
    if not tables:
        raise ProfileError(f"{where}: no tables")
    return Profile(name=name, title=str(data.get("title", name)), selectors=selectors, root=data.get("root"),
                   tables=tables, sha256=hashlib.sha256(raw).hexdigest())


def shipped_profiles() -> dict[str, bytes]:
    """The profiles shipped with Sealtrail: name → the file's bytes."""
    return {p.stem: p.read_bytes() for p in sorted(_DIR.glob("*.toml"))}
