"""PostgreSQL privileges for the application role: no UPDATE/DELETE/TRUNCATE on the audit trail.

The schema is owned by a migration role (it runs ``sealtrail init``); the app servers and workers
connect as an application role that must not own the tables (an owner can disable triggers) and
gets only SELECT and INSERT on append-only tables. Append-only tables are read from the database
itself: every table guarded by a ``*append_only*`` trigger, plus the audit chain's own tables.
"""
from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Connection

ALWAYS_APPEND_ONLY = ("audit_entry", "audit_installation", "audit_checkpoint", "signature")

_GUARDED = text("""
SELECT DISTINCT c.relname
FROM pg_trigger t
JOIN pg_class c ON c.oid = t.tgrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_proc p ON p.oid = t.tgfoid
WHERE n.nspname = current_schema() AND NOT t.tgisinternal AND p.proname LIKE '%append_only%'
""")
_TABLES = text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
               "ORDER BY tablename")


def append_only_tables(conn: Connection) -> list[str]:
    """Tables whose rows are never updated or deleted (trigger-guarded or the audit chain)."""
    present = set(conn.execute(_TABLES).scalars())
    guarded = set(conn.execute(_GUARDED).scalars())
    return sorted((guarded | set(ALWAYS_APPEND_ONLY)) & present)


def grant_statements(conn: Connection, app_role: str, readonly_role: str | None = None) -> list[str]:
    """The GRANT/REVOKE statements for the app role (and an optional read-only role)."""
    if conn.dialect.name != "postgresql":
        raise ValueError("database roles and privileges apply to PostgreSQL only")
    quote = conn.dialect.identifier_preparer.quote
    schema = quote(conn.execute(text("SELECT current_schema()")).scalar_one())
    tables = list(conn.execute(_TABLES).scalars())
    append_only = append_only_tables(conn)
    writable = [t for t in tables if t not in append_only and t != "alembic_version"]
    app = quote(app_role)
    statements = [
        f"GRANT USAGE ON SCHEMA {schema} TO {app}",
        f"REVOKE ALL ON ALL TABLES IN SCHEMA {schema} FROM {app}",
    ]
    if writable:
        statements.append(f"GRANT SELECT, INSERT, UPDATE, DELETE ON "
                          f"{', '.join(quote(t) for t in writable)} TO {app}")
    if append_only:
        statements.append(f"GRANT SELECT, INSERT ON {', '.join(quote(t) for t in append_only)} "
                          f"TO {app}")
    if "alembic_version" in tables:  # readiness reads it; only the schema owner migrates
        statements.append(f"GRANT SELECT ON alembic_version TO {app}")
    statements.append(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {app}")
    if readonly_role:
        ro = quote(readonly_role)
        statements += [
            f"GRANT USAGE ON SCHEMA {schema} TO {ro}",
            f"REVOKE ALL ON ALL TABLES IN SCHEMA {schema} FROM {ro}",
            f"GRANT SELECT ON ALL TABLES IN SCHEMA {schema} TO {ro}",
        ]
    return statements
