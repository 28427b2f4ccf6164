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

On PostgreSQL the tests run as production does: the maintenance role (the schema owner) creates
and migrates each template and applies ``dbroles.apply_grants`` (what ``sealtrail db-grants
--apply`` runs) for the least-privileged role ``APP_ROLE``; ``TestDatabase.url``, ``.engine`` and
``.sessions`` connect as that role. A test that needs the owner's rights (tampering with triggers,
migrating, restoring a backup) says so with ``TestDatabase.owner_url`` / ``.owner_engine``.
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

from audit.checkpoints import load_signing_key  # noqa: E402
from engine import dbroles, migrate  # noqa: E402
from engine.config import load_settings  # noqa: E402
from engine.db import make_engine, make_session_factory  # noqa: E402

# The installation's checkpoint key, as `sealtrail init` creates it for a new installation (keys
# are never generated silently for a database that already has a trail).
load_signing_key(_TMP / "var" / "checkpoint_ed25519.pem")

SERVER_URL = os.environ.get("SEALTRAIL_TEST_DATABASE_URL", "")
ON_POSTGRES = SERVER_URL.startswith("postgresql")
APP_ROLE = "sealtrail_test_app"  # cluster-wide, shared by parallel runs; privileges are per database


@dataclass
class TestDatabase:
    """A database for one test: its URL (the app role's on PostgreSQL), an Engine, a session factory."""

    url: str
    owner_url: str | None = None

    def __post_init__(self):
        self.owner_url = self.owner_url or self.url
        self.engine = make_engine(self.url)
        self.sessions = make_session_factory(self.engine)
        self._owner_engine = None

    @property
    def owner_engine(self):
        """An Engine connected as the schema owner (the same as ``engine`` on SQLite)."""
        if self.owner_url == self.url:
            return self.engine
        if self._owner_engine is None:
            self._owner_engine = make_engine(self.owner_url)
        return self._owner_engine

    def settings(self, **overrides):
        return settings_for(self.url, **overrides)

    def dispose(self) -> None:
        self.engine.dispose()
        if self._owner_engine is not None:
            self._owner_engine.dispose()


def settings_for(url: str, **overrides):
    """Settings for the database at ``url``, with a checkpoint file of its own (not the shared var dir's)."""
    extra = {"checkpoint_files": [str(_TMP / "checkpoints" / f"{uuid.uuid5(uuid.NAMESPACE_URL, url)}.jsonl")]}
    extra.update(overrides.pop("extra", {}))
    return load_settings(database_url=url, extra=extra, **overrides)


class _Server:
    """Creates databases from templates on SQLite (file copies) or PostgreSQL (TEMPLATE)."""

    def __init__(self):
        self.prefix = f"st_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        self.created: list[str] = []
        if ON_POSTGRES:
            self.admin = make_engine(SERVER_URL, isolation_level="AUTOCOMMIT", poolclass=None)
            with self.admin.connect() as conn:  # parallel runs may race to create it: both fine
                conn.execute(text(
                    f"DO $$ BEGIN CREATE ROLE {APP_ROLE} LOGIN; EXCEPTION "
                    "WHEN duplicate_object OR unique_violation THEN NULL; END $$"))

    def url_for(self, name: str, *, owner: bool = False) -> str:
        """The URL of database ``name``: as the app role on PostgreSQL unless ``owner``."""
        if ON_POSTGRES:
            url = make_url(SERVER_URL).set(database=name)
            if not owner:
                url = url.set(username=APP_ROLE, password=None)
            return url.render_as_string(hide_password=False)
        return f"sqlite:///{_TMP / (name + '.db')}"

    def database(self, name: str) -> TestDatabase:
        return TestDatabase(self.url_for(name), self.url_for(name, owner=True))

    def create_empty(self, name: str) -> str:
        """Create database ``name``; returns the owner's URL."""
        if ON_POSTGRES:
            with self.admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        self.created.append(name)
        return self.url_for(name, owner=True)

    def clone(self, template: str, name: str) -> str:
        """Copy ``template`` (privileges included) to ``name``; returns the app role's URL."""
        if ON_POSTGRES:
            with self.admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}" STRATEGY FILE_COPY'))
        else:
            shutil.copyfile(_TMP / f"{template}.db", _TMP / f"{name}.db")
        self.created.append(name)
        return self.url_for(name)

    def clone_database(self, template: str, name: str) -> TestDatabase:
        """Like ``clone``, as a TestDatabase knowing both URLs."""
        self.clone(template, name)
        return self.database(name)

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
    if ON_POSTGRES:  # what `sealtrail db-grants --app-role APP_ROLE --apply` runs
        owner = make_engine(url)
        with owner.begin() as conn:
            dbroles.apply_grants(conn, APP_ROLE)
        owner.dispose()
    return name


@pytest.fixture()
def fresh_db(db_server, template_db):
    """A new migrated database for this test alone."""
    name = f"{db_server.prefix}_{uuid.uuid4().hex[:8]}"
    db = db_server.clone_database(template_db, name)
    yield db
    db.dispose()
    db_server.drop(name)


@pytest.fixture(scope="session")
def shared_db(db_server, template_db) -> TestDatabase:
    """One migrated database shared by the ``session`` fixture across the run."""
    db = db_server.clone_database(template_db, f"{db_server.prefix}_shared")
    yield db
    db.dispose()


@pytest.fixture()
def session(shared_db, request) -> Session:
    """A session inside an outer transaction that is rolled back after the test.

    As the app role; a test marked ``as_owner`` (it sets up data by statements the app never
    runs, e.g. deleting rows of an insert-only table) gets the schema owner's connection.
    """
    engine = shared_db.owner_engine if request.node.get_closest_marker("as_owner") else shared_db.engine
    connection = engine.connect()
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
    db = db_server.clone_database(template_db, name)
    with db.sessions.begin() as session:
        result = load_demo(session, db.settings())
    db.dispose()  # SQLite: closing the last connection folds the WAL into the file we copy
    return name, result


@pytest.fixture()
def demo_db(db_server, demo_template):
    """A new database with the demo plant loaded, for this test alone."""
    template, result = demo_template
    name = f"{db_server.prefix}_{uuid.uuid4().hex[:8]}"
    db = db_server.clone_database(template, name)
    db.demo = result
    yield db
    db.dispose()
    db_server.drop(name)
