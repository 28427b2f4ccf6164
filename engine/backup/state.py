"""What a database holds, read in one snapshot: row counts, per-table digests, schema heads, the
audit head."""
from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import json
import uuid

from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from audit import chain


def table_names(conn: Connection) -> list[str]:
    """Every table of the database's default schema, sorted."""
    return sorted(inspect(conn).get_table_names())


def row_counts(conn: Connection) -> dict[str, int]:
    """``{table: rows}`` for every table, counted in the connection's current transaction."""
    quote = conn.dialect.identifier_preparer.quote
    return {name: conn.execute(text(f"SELECT count(*) FROM {quote(name)}")).scalar_one()
            for name in table_names(conn)}


def _canonical(value):
    """JSON-able form of a driver value that is the same for the same stored value."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"hex": bytes(value).hex()}
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, (decimal.Decimal, dt.timedelta, uuid.UUID)):
        return str(value)
    raise TypeError(f"no canonical form for {type(value).__name__}")


def table_digest(conn: Connection, name: str) -> str:
    """SHA-256 of a table's rows: ordered by primary key (all columns when it has none), each
    row a JSON array of its columns in name order (sorted keys, no spaces), one per line.

    Row counts alone miss a restore that altered values (a lot's quantity, a workflow's state);
    the digest names the table whose content differs. Both sides of a comparison are read
    through the same dialect, so driver types agree.
    """
    inspector = inspect(conn)
    columns = sorted(c["name"] for c in inspector.get_columns(name))
    order = inspector.get_pk_constraint(name).get("constrained_columns") or columns
    quote = conn.dialect.identifier_preparer.quote
    query = (f"SELECT {', '.join(map(quote, columns))} FROM {quote(name)} "
             f"ORDER BY {', '.join(map(quote, order))}")
    digest = hashlib.sha256()
    for row in conn.execute(text(query)):
        digest.update(json.dumps(list(row), default=_canonical, sort_keys=True, separators=(",", ":"),
                                 ensure_ascii=False).encode("utf-8") + b"\n")
    return digest.hexdigest()


def table_digests(conn: Connection) -> dict[str, str]:
    """``{table: digest}`` for every table (see :func:`table_digest`)."""
    return {name: table_digest(conn, name) for name in table_names(conn)}


def database_state(conn: Connection) -> dict:
    """The facts a manifest records and a restore must reproduce (one transaction)."""
    session = Session(bind=conn)
    try:
        tables = set(table_names(conn))
        head = chain.head(session) if "audit_entry" in tables else None
        installation = chain.find_installation(session) if "audit_installation" in tables else None
        return {
            "migration_heads": sorted(MigrationContext.configure(conn).get_current_heads()),
            "row_counts": row_counts(conn),
            "table_digests": table_digests(conn),
            "audit_head": None if head is None else {"seq": head[0], "hash": head[1]},
            "audit_installation": None if installation is None else {
                "installation_id": installation.installation_id,
                "genesis_hash": installation.genesis_hash,
            },
        }
    finally:
        session.close()


def compare(expected: dict, actual: dict) -> list[str]:
    """Human-readable differences between a manifest's state and a database's (empty = same)."""
    problems = []
    if expected["migration_heads"] != actual["migration_heads"]:
        problems.append(f"migration heads {actual['migration_heads']} != manifest "
                        f"{expected['migration_heads']}")
    want, got = expected["row_counts"], actual["row_counts"]
    for name in sorted(set(want) | set(got)):
        if name not in got:
            problems.append(f"table {name} missing (manifest: {want[name]} rows)")
        elif name not in want:
            problems.append(f"table {name} not in the manifest ({got[name]} rows)")
        elif want[name] != got[name]:
            problems.append(f"table {name}: {got[name]} rows, manifest says {want[name]}")
    digests = expected.get("table_digests")  # absent from manifests written before digests existed
    if digests is not None:
        for name in sorted(set(digests) & set(actual["table_digests"])):
            if digests[name] != actual["table_digests"][name] and want.get(name) == got.get(name):
                problems.append(f"table {name}: rows differ from the backup's (digest "
                                f"{actual['table_digests'][name][:12]}…, manifest {digests[name][:12]}…)")
    if expected["audit_head"] != actual["audit_head"]:
        problems.append(f"audit head {actual['audit_head']} != manifest {expected['audit_head']}")
    if expected["audit_installation"] != actual["audit_installation"]:
        problems.append("audit installation (genesis) differs from the manifest")
    return problems
