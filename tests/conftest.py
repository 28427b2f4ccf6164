"""Shared fixtures: databases on SQLite or PostgreSQL, sessions, settings.

``SEALTRAIL_TEST_DATABASE_URL`` chooses the server: unset means SQLite files in a temporary
directory; a PostgreSQL URL is used as the maintenance connection from which this run creates
(and drops) its own databases, so parallel runs never share one.

Two ways to get a database:
- ``session``: one migrated database per test run, each test inside a transaction rolled back
  at the end (savepoints for the code under test). Fast; use it by default.
- ``fresh_db``: a new database cloned from the migrated template, for tests that commit,
  use several connections, or tamper with rows. Returns a ``TestDatabase``.
- ``demo_db``: like ``fresh_db`` but with the demo plant loaded (engine/demo); ``demo_db.demo``
  holds the demo users' passwords and TOTP secrets (``demo_db.demo.credentials()["zhao.min"]``).
"""
from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

_TMP = Path(tempfile.mkdtemp(prefix="sealtrail-tests-"))
os.environ["SEALTRAIL_VAR_DIR"] = str(_TMP / "var")
os.environ.setdefault("SEALTRAIL_SECRET_KEY", "test-secret-key-not-for-production")

from sqlalchemy import text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from engine import migrate  # noqa: E402
from engine.config import load_settings  # noqa: E402
from engine.db import make_engine, make_session_factory  # noqa: E402

SERVER_URL = os.environ.get("SEALTRAIL_TEST_DATABASE_URL", "")
ON_POSTGRES = SERVER_URL.startswith("postgresql")


@dataclass
class TestDatabase:
    """A database for one test: its URL, an Engine and a session factory."""

    url: str

    def __post_init__(self):
        self.engine = make_engine(self.url)
        self.sessions = make_session_factory(self.engine)

    def settings(self, **overrides):
        return load_settings(database_url=self.url, **overrides)


class _Server:
    """Creates databases from templates on SQLite (file copies) or PostgreSQL (TEMPLATE)."""

    def __init__(self):
        self.prefix = f"st_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        self.created: list[str] = []
        if ON_POSTGRES:
            self.admin = make_engine(SERVER_URL, isolation_level="AUTOCOMMIT", poolclass=None)

    def url_for(self, name: str) -> str:
        if ON_POSTGRES:
            return make_url(SERVER_URL).set(database=name).render_as_string(hide_password=False)
        return f"sqlite:///{_TMP / (name + '.db')}"

    def create_empty(self, name: str) -> str:
        if ON_POSTGRES:
            with self.admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        self.created.append(name)
        return self.url_for(name)

    def clone(self, template: str, name: str) -> str:
        if ON_POSTGRES:
            with self.admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}" STRATEGY FILE_COPY'))
        else:
            shutil.copyfile(_TMP / f"{template}.db", _TMP / f"{name}.db")
        self.created.append(name)
        return self.url_for(name)

    def drop(self, name: str) -> None:
        if ON_POSTGRES:
            with self.admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        else:
            for suffix in (".db", ".db-wal", ".db-shm"):
                (_TMP / f"{name}{suffix}").unlink(missing_ok=True)
        if name in self.created:
            self.created.remove(name)

    def close(self) -> None:
        for name in list(self.created):
            self.drop(name)
        if ON_POSTGRES:
            self.admin.dispose()


@pytest.fixture(scope="session")
def db_server():
    server = _Server()
    yield server
    server.close()


@pytest.fixture(scope="session")
def template_db(db_server) -> str:
    """Name of a migrated, empty template database."""
    name = f"{db_server.prefix}_tpl"
    url = db_server.create_empty(name)
    migrate.upgrade(url)
    return name


@pytest.fixture()
def fresh_db(db_server, template_db):
    """A new migrated database for this test alone."""
    name = f"{db_server.prefix}_{uuid.uuid4().hex[:8]}"
    db = TestDatabase(db_server.clone(template_db, name))
    yield db
    db.engine.dispose()
    db_server.drop(name)


@pytest.fixture(scope="session")
def shared_db(db_server, template_db) -> TestDatabase:
    """One migrated database shared by the ``session`` fixture across the run."""
    db = TestDatabase(db_server.clone(template_db, f"{db_server.prefix}_shared"))
    yield db
    db.engine.dispose()


@pytest.fixture()
def session(shared_db) -> Session:
    """A session inside an outer transaction that is rolled back after the test."""
    connection = shared_db.engine.connect()
    outer = connection.begin()
    sess = Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    yield sess
    sess.close()
    outer.rollback()
    connection.close()


@pytest.fixture()
def settings(shared_db):
    return shared_db.settings()


@pytest.fixture(scope="session")
def demo_template(db_server, template_db):
    """(name, DemoResult) of a migrated template database with the demo plant loaded."""
    from engine.demo import load_demo

    name = f"{db_server.prefix}_demo_tpl"
    db = TestDatabase(db_server.clone(template_db, name))
    with db.sessions.begin() as session:
        result = load_demo(session, db.settings())
    db.engine.dispose()  # SQLite: closing the last connection folds the WAL into the file we copy
    return name, result


@pytest.fixture()
def demo_db(db_server, demo_template):
    """A new database with the demo plant loaded, for this test alone."""
    template, result = demo_template
    name = f"{db_server.prefix}_{uuid.uuid4().hex[:8]}"
    db = TestDatabase(db_server.clone(template, name))
    db.demo = result
    yield db
    db.engine.dispose()
    db_server.drop(name)
