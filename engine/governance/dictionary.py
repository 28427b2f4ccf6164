"""The data dictionary, generated: every table and column of the schema with its meaning, type,
unit, allowed values, flags (GxP, audit-trailed, personal, append-only), the Alembic revision that
added it and the masking rule applied when records leave the installation; compared with the live
database, whose differences from the models are reported as drift.

Sources, one each: the SQLAlchemy metadata (``engine.schema``), the catalogue (``columns.toml``),
the migration scripts (``lineage``), the declared privileges (``engine.dbroles``) and the live
database (SQLAlchemy's inspector and Alembic's comparison, ``engine.migrate.drift_on``).
"""
from __future__ import annotations

import ast
import re
from dataclasses import asdict, dataclass, field

from sqlalchemy import JSON, Boolean, CheckConstraint, Table, Text, inspect
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection

from audit.models import AuditBase
from engine import dbroles
from engine.db import Base
from engine.governance.catalogue import ColumnNote, TableNote, load_catalogue
from engine.governance.lineage import added_in
from engine.migrate import drift_on
from engine.schema import all_metadata

# Types are spelled as PostgreSQL spells them, whichever database is documented.
_DIALECT = postgresql.dialect()
_IN = re.compile(r"^\s*\(?\s*(\w+)\s+IN\s*\((.*)\)\s*\)?\s*$", re.S)


@dataclass(frozen=True)
class ColumnEntry:
    """One column as the dictionary documents it."""

    name: str
    type: str
    nullable: bool
    primary_key: bool
    references: str | None
    meaning: str
    unit: str
    allowed_values: tuple[str, ...]
    personal: bool
    mask: str
    added_in: str | None
    in_database: bool | None


@dataclass(frozen=True)
class TableEntry:
    """One table as the dictionary documents it."""

    name: str
    meaning: str
    gxp: bool
    audit_trailed: bool
    append_only: bool
    privileges: tuple[str, ...]
    added_in: str | None
    in_database: bool | None
    columns: tuple[ColumnEntry, ...]


@dataclass(frozen=True)
class DataDictionary:
    """The whole schema; ``drift`` lists differences between models and database (empty: agree)."""

    tables: tuple[TableEntry, ...]
    database: str | None
    drift: tuple[str, ...] = ()
    undocumented: tuple[str, ...] = field(default=())

    def as_dict(self) -> dict:
        """JSON-ready form."""
        return asdict(self)


def _docstrings() -> dict[str, str]:
    out = {}
    for base in (Base, AuditBase):
        for mapper in base.registry.mappers:
            table = getattr(mapper.class_, "__tablename__", None)
            doc = (mapper.class_.__doc__ or "").strip()
            if table and doc:
                first = " ".join(doc.split("\n\n")[0].split())
                out[table] = re.sub(r":\w+:`([^`]+)`|``([^`]+)``", lambda m: m.group(1) or m.group(2), first)
    return out


def _allowed_values(table: Table) -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {}
    for constraint in table.constraints:
        if not isinstance(constraint, CheckConstraint):
            continue
        text = str(constraint.sqltext)
        text = re.sub(r"^\s*\w+\s+IS\s+NULL\s+OR\s+", "", text)
        match = _IN.match(text)
        if match and match.group(1) in table.c:
            try:
                values = ast.literal_eval(f"({match.group(2)},)")
            except (SyntaxError, ValueError):
                continue
            out[match.group(1)] = tuple(str(v) for v in values)
    return out


def default_mask(note: ColumnNote, is_text: bool) -> str:
    """The masking rule of a column: the catalogue's, else pseudonym (personal), scan (free text and
    JSON documents), keep."""
    if note.mask:
        return note.mask
    if note.personal:
        return "pseudonym"
    return "scan" if is_text else "keep"


def _column_entry(table: Table, column, note: ColumnNote, allowed, lineage, live) -> ColumnEntry:
    refs = sorted(f"{fk.column.table.name}.{fk.column.name}" for fk in column.foreign_keys)
    meaning = (column.comment or column.doc or note.meaning or "").strip()
    values = allowed.get(column.name, ())
    if not values and isinstance(column.type, Boolean):
        values = ("true", "false")
    return ColumnEntry(
        name=column.name, type=str(column.type.compile(dialect=_DIALECT)), nullable=bool(column.nullable),
        primary_key=bool(column.primary_key), references=refs[0] if refs else None, meaning=meaning,
        unit=note.unit, allowed_values=values, personal=note.personal,
        mask=default_mask(note, isinstance(column.type, (Text, JSON))),
        added_in=lineage.get((table.name, column.name)),
        in_database=None if live is None else column.name in live.get(table.name, set()))


def _live_columns(conn: Connection) -> dict[str, set[str]]:
    inspector = inspect(conn)
    return {t: {c["name"] for c in inspector.get_columns(t)} for t in inspector.get_table_names()}


def build_dictionary(conn: Connection | None = None) -> DataDictionary:
    """The dictionary of every table and column; with ``conn``, compared with that database."""
    metadata_tables = sorted((t for md in all_metadata() for t in md.tables.values()), key=lambda t: t.name)
    catalogue, docs, lineage = load_catalogue(), _docstrings(), added_in()
    privileges = dbroles.declared_privileges()
    live = _live_columns(conn) if conn is not None else None
    tables, undocumented = [], []
    for table in metadata_tables:
        note = catalogue.get(table.name, TableNote(columns={}))
        allowed = _allowed_values(table)
        columns = tuple(_column_entry(table, c, note.columns.get(c.name, ColumnNote()), allowed, lineage, live)
                        for c in table.columns)
        undocumented += [f"{table.name}.{c.name}" for c in columns if not c.meaning]
        meaning = note.meaning or docs.get(table.name, "")
        if not meaning:
            undocumented.append(table.name)
        tables.append(TableEntry(
            name=table.name, meaning=meaning, gxp=note.gxp, audit_trailed=note.audit_trailed,
            append_only=table.name in dbroles.APPEND_ONLY_TABLES, privileges=privileges.get(table.name, ()),
            added_in=lineage.get((table.name, None)),
            in_database=None if live is None else table.name in live, columns=columns))
    drift = tuple(describe_drift(d) for d in drift_on(conn)) if conn is not None else ()
    return DataDictionary(tables=tuple(tables), database=conn.dialect.name if conn is not None else None,
                          drift=drift, undocumented=tuple(undocumented))


def stale_catalogue_entries() -> list[str]:
    """Catalogue entries naming a table or column the models no longer have."""
    known = {t.name: set(t.columns.keys()) for md in all_metadata() for t in md.tables.values()}
    stale = []
    for table, note in load_catalogue().items():
        if table not in known:
            stale.append(table)
            continue
        stale += [f"{table}.{c}" for c in note.columns if c not in known[table]]
    return stale


def describe_drift(diff) -> str:
    """One line for one of Alembic's comparison results (a tuple, or a list of modifications)."""
    if isinstance(diff, list):
        return "; ".join(describe_drift(d) for d in diff)
    kind, *rest = diff
    if kind in ("add_table", "remove_table"):
        where = "in the models, not in the database" if kind == "add_table" else "in the database, not in the models"
        return f"table {rest[0].name}: {where}"
    if kind in ("add_column", "remove_column"):
        where = "in the models, not in the database" if kind == "add_column" else "in the database, not in the models"
        return f"column {rest[1]}.{rest[2].name}: {where}"
    if kind.startswith("modify_"):
        _schema, table, column, _info, existing, new = rest
        return f"column {table}.{column}: {kind[7:]} is {existing!r} in the database, {new!r} in the models"
    name = getattr(rest[0], "name", None) or getattr(rest[-1], "name", "")
    return f"{kind.replace('_', ' ')} {name}".strip()

