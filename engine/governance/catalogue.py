"""The column catalogue (``columns.toml``): meaning, unit, personal data and masking rule per column.

The catalogue is data, next to the code that reads it; a column's ``comment=``/``doc=`` in its model
takes precedence over the catalogue's meaning, and a model class docstring serves as the table's
meaning when the catalogue gives none.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

MASKS = ("keep", "pseudonym", "remove", "scan")
_PATH = Path(__file__).with_name("columns.toml")


@dataclass(frozen=True)
class ColumnNote:
    """What the catalogue says about one column."""

    meaning: str = ""
    unit: str = ""
    personal: bool = False
    mask: str | None = None


@dataclass(frozen=True)
class TableNote:
    """What the catalogue says about one table."""

    meaning: str = ""
    gxp: bool = False
    audit_trailed: bool = False
    columns: dict[str, ColumnNote] | None = None


class CatalogueError(ValueError):
    """columns.toml is malformed (the message names the table and column)."""


def _column(where: str, raw) -> ColumnNote:
    if isinstance(raw, str):
        return ColumnNote(meaning=raw.strip())
    if not isinstance(raw, dict):
        raise CatalogueError(f"{where}: a column is a string or a table")
    unknown = set(raw) - {"meaning", "unit", "personal", "mask"}
    if unknown:
        raise CatalogueError(f"{where}: unknown key(s) {sorted(unknown)}")
    mask = raw.get("mask")
    if mask is not None and mask not in MASKS:
        raise CatalogueError(f"{where}: mask {mask!r} is not one of {MASKS}")
    return ColumnNote(meaning=str(raw.get("meaning", "")).strip(), unit=str(raw.get("unit", "")),
                      personal=bool(raw.get("personal", False)), mask=mask)


def parse_catalogue(data: dict) -> dict[str, TableNote]:
    """Table name → TableNote from the parsed TOML document."""
    templates = data.get("templates", {})
    out: dict[str, TableNote] = {}
    for table, raw in data.get("tables", {}).items():
        unknown = set(raw) - {"meaning", "gxp", "audit_trailed", "include", "columns"}
        if unknown:
            raise CatalogueError(f"{table}: unknown key(s) {sorted(unknown)}")
        columns: dict[str, ColumnNote] = {}
        for name in raw.get("include", ()):
            if name not in templates:
                raise CatalogueError(f"{table}: no template named {name!r}")
            columns.update({c: _column(f"{table}.{c}", v) for c, v in templates[name].items()})
        columns.update({c: _column(f"{table}.{c}", v) for c, v in raw.get("columns", {}).items()})
        out[table] = TableNote(meaning=str(raw.get("meaning", "")).strip(), gxp=bool(raw.get("gxp", False)),
                               audit_trailed=bool(raw.get("audit_trailed", False)), columns=columns)
    return out


@lru_cache(maxsize=1)
def load_catalogue() -> dict[str, TableNote]:
    """The shipped catalogue."""
    with _PATH.open("rb") as fh:
        return parse_catalogue(tomllib.load(fh))
