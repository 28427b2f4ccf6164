"""Least privilege: every table declares the statements the app runs on it; the tests run as that role.

The PostgreSQL pass connects as ``APP_ROLE`` after ``dbroles.apply_grants`` (what ``sealtrail
db-grants --apply`` runs), so a statement the app needs but was not granted fails the suite.
"""
from __future__ import annotations

import pytest
from sqlalchemy import text

from engine import dbroles
from engine.schema import all_metadata
from tests.conftest import APP_ROLE, ON_POSTGRES


postgres_only = pytest.mark.skipif(not ON_POSTGRES, reason="roles and privileges exist on PostgreSQL only")


@pytest.mark.requirement("21CFR11.10(d)", "21CFR11.10(e)", "Annex11-12")
def test_every_table_declares_its_privileges_once():
    declared = dbroles.declared_privileges()  # raises when a table sits in two groups
    tables = {t.name for metadata in all_metadata() for t in metadata.sorted_tables}
    assert sorted(tables - set(declared)) == []
    assert sorted(set(declared) - tables - dbroles.READ_ONLY_TABLES) == []  # nothing stale


@pytest.mark.requirement("21CFR11.10(d)", "21CFR11.10(e)", "Annex11-12")
def test_the_evidence_tables_are_append_only_and_task_rows_updatable():
    privileges = dbroles.declared_privileges()
    for table in ("audit_entry", "audit_checkpoint", "signature", "parameter_measurements",
                  "inspection_results", "equipment_logs", "wf_instance_event", "wf_process_version"):
        assert privileges[table] == ("SELECT", "INSERT"), table
    assert "UPDATE" in privileges["wf_task"] and "DELETE" not in privileges["wf_task"]
    assert "UPDATE" in privileges["wf_instance"] and privileges["alembic_version"] == ("SELECT",)


@pytest.mark.requirement("21CFR11.10(d)", "21CFR11.10(e)", "Annex11-12")
@postgres_only
def test_an_undeclared_table_is_refused_by_name(fresh_db):
    with fresh_db.owner_engine.begin() as conn:
        conn.execute(text("CREATE TABLE surprise (id integer)"))
        with pytest.raises(dbroles.UndeclaredTable, match="surprise"):
            dbroles.grant_statements(conn, APP_ROLE)
        conn.execute(text("DROP TABLE surprise"))


@pytest.mark.requirement("21CFR11.10(d)", "21CFR11.10(e)", "Annex11-12")
@postgres_only
def test_the_tests_connect_as_the_least_privileged_app_role(fresh_db):
    with fresh_db.engine.connect() as conn:
        assert conn.execute(text("SELECT current_user")).scalar_one() == APP_ROLE
        assert conn.execute(text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")).scalar_one() is False
        owned = conn.execute(text("SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() "
                                  "AND tableowner = current_user")).scalar_one()
        assert owned == 0  # an owner could disable the append-only triggers

        def can(table, what):
            return conn.execute(text("SELECT has_table_privilege(current_user, :t, :p)"),
                                {"t": table, "p": what}).scalar_one()

        for table, grant in dbroles.declared_privileges().items():
            for what in ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "TRIGGER"):
                assert can(table, what) == (what in grant), (table, what)
