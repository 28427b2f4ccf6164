"""The application role cannot rewrite the audit trail (21 CFR 11.10(e), Annex 11 §12)."""
from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import ProgrammingError

from audit import SYSTEM, chain
from engine import dbroles, migrate
from engine.db import make_engine, make_session_factory
from tests.conftest import ON_POSTGRES

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(not ON_POSTGRES, reason="roles and privileges exist on PostgreSQL only"),
]


@pytest.fixture(scope="module")
def granted(private_pg):
    owner = make_engine(private_pg.url(), isolation_level="AUTOCOMMIT")
    with owner.connect() as conn:
        conn.execute(text('CREATE DATABASE "grants"'))
        conn.execute(text("CREATE ROLE st_app LOGIN"))
        conn.execute(text("CREATE ROLE st_auditor LOGIN"))
    owner.dispose()
    url = private_pg.url("grants")
    migrate.upgrade(url)
    schema_owner = make_engine(url)
    with schema_owner.begin() as conn:
        for statement in dbroles.grant_statements(conn, "st_app", "st_auditor"):
            conn.execute(text(statement))
    schema_owner.dispose()
    return url.replace("postgres@", "st_app@"), url.replace("postgres@", "st_auditor@")


@pytest.mark.requirement("21CFR11.10(e)", "Annex11-12")
def test_audit_tables_are_listed_as_append_only(private_pg, granted):
    engine = make_engine(private_pg.url("grants"))
    with engine.connect() as conn:
        tables = dbroles.append_only_tables(conn)
    engine.dispose()
    assert "audit_entry" in tables and "audit_installation" in tables


@pytest.mark.requirement("21CFR11.10(e)", "Annex11-12")
def test_app_role_appends_but_cannot_update_delete_or_truncate(granted):
    app_url, _ = granted
    engine = make_engine(app_url)
    sessions = make_session_factory(engine)
    try:
        with sessions.begin() as session:
            chain.append(session, SYSTEM, "grant.test", "probe", "1")
        for statement in ("UPDATE audit_entry SET reason = 'rewritten'",
                          "DELETE FROM audit_entry", "TRUNCATE audit_entry"):
            with pytest.raises(ProgrammingError, match="permission denied"):
                with engine.begin() as conn:
                    conn.execute(text(statement))
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM audit_entry")).scalar_one() == 1
    finally:
        engine.dispose()


@pytest.mark.requirement("21CFR11.10(e)", "Annex11-12")
def test_readonly_role_reads_but_cannot_write(private_pg, granted):
    _, auditor_url = granted
    owner = make_engine(private_pg.url("grants"))
    try:
        with owner.connect() as conn:
            expected = conn.execute(text("SELECT seq, hash FROM audit_entry ORDER BY seq")).all()
    finally:
        owner.dispose()
    assert expected  # the app role's test above appended an entry: there is something to read
    engine = make_engine(auditor_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT seq, hash FROM audit_entry ORDER BY seq")).all() == expected
        with pytest.raises(ProgrammingError, match="permission denied"):
            with engine.begin() as conn:
                conn.execute(text("INSERT INTO audit_installation (id, installation_id, "
                                  "created_at, genesis_hash) VALUES (2, 'x', 'x', 'x')"))
    finally:
        engine.dispose()
