"""What a database holds, read in one snapshot: row counts, schema heads, the audit head."""
from __future__ import annotations

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
    if expected["audit_head"] != actual["audit_head"]:
        problems.append(f"audit head {actual['audit_head']} != manifest {expected['audit_head']}")
    if expected["audit_installation"] != actual["audit_installation"]:
        problems.append("audit installation (genesis) differs from the manifest")
    return problems
