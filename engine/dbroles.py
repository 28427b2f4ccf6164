"""PostgreSQL privileges for the application role, declared per table from what the app does.

The schema is owned by a migration role (it runs ``sealtrail init``); the app servers and workers
connect as an application role that must not own the tables (an owner can disable triggers).
Each table is declared below with the statements the application really runs on it:

- append-only records (audit trail, signatures, measurements, equipment logs, workflow events,
  deployed process versions…): SELECT and INSERT only;
- records the application updates (task claims and completions, lot status, sign-in counters…):
  SELECT, INSERT and UPDATE;
- records it also deletes (draft revisions and their children, message waits, role links…):
  SELECT, INSERT, UPDATE and DELETE.

Nobody gets TRUNCATE, REFERENCES or TRIGGER. A table present in the database but declared
nowhere is refused with an error naming it, so a new table cannot silently get too much or too
little; the PostgreSQL test pass runs as the app role after these grants, so too little fails
the tests. ``SELECT … FOR UPDATE`` needs UPDATE: tables the app locks are in the update group.
"""
from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Connection

from audit.chain import LINKED_APPEND_FUNCTION as APPEND_FUNCTION

READ = ("SELECT",)
APPEND = ("SELECT", "INSERT")
UPDATE = ("SELECT", "INSERT", "UPDATE")
DELETE = ("SELECT", "INSERT", "UPDATE", "DELETE")

#: Never updated nor deleted by the application (most also guarded by triggers).
APPEND_ONLY_TABLES = frozenset({
    # audit/: the chain, its anchors, Part 11 signatures
    "audit_entry", "audit_installation", "audit_checkpoint", "signature",
    # production records: corrected by a superseding record, never edited
    "parameter_measurements", "inspection_results", "equipment_logs", "material_consumptions",
    # workflows: the event log, deployed (signed) process and decision versions and their pins
    "wf_instance_event", "wf_process_version", "wf_decision_version", "wf_process_decision",
    # the form builder's form versions (#14), pinned by diagrams
    "wf_form_version",
    # imports, idempotency keys and training records are written once
    "import_batches", "idempotency_records", "training_records",
    # planning (#17): a plan's placed operations and blockers are written once with the plan
    "planned_operations", "plan_blockers",
})

#: Updated in place (state changes), never deleted.
UPDATED_TABLES = frozenset({
    # audit/ accounts and sessions: counters, lockout, last use, end of session
    "signing_account", "signing_session", "totp_credential", "enrollment_permit", "security_alert",
    # users, their browser sessions (last seen, ended) and API tokens
    "users", "user_sessions", "api_tokens",
    # workflows: claims, completions, instance state
    "wf_instance", "wf_task",
    # master data headers and resources (status, calibration dates)
    "items", "products", "boms", "routings", "documents", "equipment", "tooling",
    # production
    "lots", "supplier_lots", "operation_executions",
    "lot_serials",  # packing scans set packed_at/packed_by (#18)
    "component_serials",  # fitting into a finished unit sets unit_serial_id/fitted_at/fitted_by (#18)
    "delegations",  # revoked early in place (#18)
    # alarms and SPC
    "alarms", "alarm_rules", "spc_baselines",
    # quality processes
    "deviations", "capas", "change_requests", "audit_reviews", "release_reviews", "lot_holds",
    # planning (#17): a plan's state moves draft → released → superseded
    "production_plans",
    # #14: the per-process deploy route (a QA manager switches it); a proposed deployment gets its version
    "wf_deploy_route", "change_deployments",
    # notifications: outbox rows move pending → sent/failed; preferences and webhooks are edited
    "notification_outbox", "notification_preferences", "notification_webhooks",
    # #18: sharing profile revisions move draft → in review → released → superseded
    "share_profile_revisions",
})

#: Rows the application deletes: draft revisions (and their children), message subscriptions,
#: children of a parent edited as a whole (delete-orphan collections).
DELETED_TABLES = frozenset({
    "product_revisions", "bom_revisions", "routing_revisions", "document_revisions",
    "bom_lines", "routing_operations", "operation_parameters", "inspection_items",
    "operation_equipment", "operation_tooling", "operation_documents",
    "wf_message_wait", "user_roles", "directory_group_roles",
    "deviation_lots", "capa_actions", "change_revisions", "release_exceptions",
    # planning (#17): a work centre's shifts are replaced as a whole (audited)
    "work_centre_shifts",
})

#: Read by the app (readiness checks the schema version); only the schema owner migrates.
READ_ONLY_TABLES = frozenset({"alembic_version"})


class UndeclaredTable(ValueError):
    """A table exists in the database but its privileges are declared nowhere."""


def declared_privileges() -> dict[str, tuple[str, ...]]:
    """Table name → the statements the app role may run on it."""
    groups = ((APPEND_ONLY_TABLES, APPEND), (UPDATED_TABLES, UPDATE), (DELETED_TABLES, DELETE),
              (READ_ONLY_TABLES, READ))
    out: dict[str, tuple[str, ...]] = {}
    for tables, privileges in groups:
        for table in tables:
            if table in out:
                raise ValueError(f"table {table!r} is declared in two privilege groups")
            out[table] = privileges
    return out


_TABLES = text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
               "ORDER BY tablename")


def append_only_tables(conn: Connection) -> list[str]:
    """Tables present in the database on which the app role may only SELECT and INSERT."""
    present = set(conn.execute(_TABLES).scalars())
    return sorted(APPEND_ONLY_TABLES & present)


def table_privileges(conn: Connection) -> dict[str, tuple[str, ...]]:
    """Privileges for every table present; UndeclaredTable when one is not declared."""
    declared = declared_privileges()
    tables = list(conn.execute(_TABLES).scalars())
    missing = [t for t in tables if t not in declared]
    if missing:
        raise UndeclaredTable(
            f"no privileges declared for table(s) {', '.join(missing)}: add each to the group of "
            "engine/dbroles.py that matches the statements the application runs on it")
    return {t: declared[t] for t in tables}


def grant_statements(conn: Connection, app_role: str, readonly_role: str | None = None) -> list[str]:
    """The GRANT/REVOKE statements for the app role (and an optional read-only role)."""
    if conn.dialect.name != "postgresql":
        raise ValueError("database roles and privileges apply to PostgreSQL only")
    quote = conn.dialect.identifier_preparer.quote
    schema = quote(conn.execute(text("SELECT current_schema()")).scalar_one())
    privileges = table_privileges(conn)
    app = quote(app_role)
    statements = [
        f"GRANT USAGE ON SCHEMA {schema} TO {app}",
        f"REVOKE ALL ON ALL TABLES IN SCHEMA {schema} FROM {app}",
    ]
    by_grant: dict[tuple[str, ...], list[str]] = {}
    for table, grant in privileges.items():
        by_grant.setdefault(grant, []).append(table)
    for grant in (DELETE, UPDATE, APPEND, READ):
        if by_grant.get(grant):
            statements.append(f"GRANT {', '.join(grant)} ON "
                              f"{', '.join(quote(t) for t in by_grant[grant])} TO {app}")
    statements.append(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {app}")
    # The one function the application calls (the audit append's lock, link and insert; migration
    # 0011_i13_audit_append_linked revokes it from PUBLIC). Trigger functions need no grant.
    statements.append(f"GRANT EXECUTE ON FUNCTION {schema}.{APPEND_FUNCTION} TO {app}")
    if readonly_role:
        ro = quote(readonly_role)
        statements += [
            f"GRANT USAGE ON SCHEMA {schema} TO {ro}",
            f"REVOKE ALL ON ALL TABLES IN SCHEMA {schema} FROM {ro}",
            f"GRANT SELECT ON ALL TABLES IN SCHEMA {schema} TO {ro}",
        ]
    return statements


def apply_grants(conn: Connection, app_role: str, readonly_role: str | None = None) -> list[str]:
    """Run :func:`grant_statements` on ``conn`` (the schema owner's); returns what it ran."""
    statements = grant_statements(conn, app_role, readonly_role)
    for statement in statements:
        conn.execute(text(statement))
    return statements
