"""The declarative base, engine creation and the session factory.

SQLite: every transaction starts with ``BEGIN IMMEDIATE`` so that a transaction that reads
the audit head and then appends holds the write lock from its first read (Python's default
deferred transaction reads outside the lock and races). WAL mode lets readers proceed.

PostgreSQL: a pooled connection is pinged at checkout only when it sat idle in the pool for
``PING_AFTER_IDLE_SECONDS`` or more (SQLAlchemy's ``pool_pre_ping`` pings at every checkout: one
round trip more per transaction on a busy server). A connection that fails its ping is replaced
before use; one that died within the idle window fails its first statement, which invalidates the
whole pool (every connection made before the failure is replaced at its next checkout), and that
request answers 503 with nothing saved (web/ops.py).
"""
from __future__ import annotations

import time
from datetime import datetime, timezone

from sqlalchemy import DateTime, MetaData, TypeDecorator, create_engine, event, exc, insert
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from audit.models import clean_object

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Base of every engine table (audit/ keeps its own base: it depends on nothing of ours)."""

    metadata = MetaData(naming_convention=NAMING)


def _sqlite_pragmas(dbapi_conn, _record):
    dbapi_conn.isolation_level = None  # we emit BEGIN ourselves
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def _sqlite_begin(conn):
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str, **kwargs) -> Engine:
    """Create an Engine for ``url`` with the per-dialect settings Sealtrail relies on."""
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {"check_same_thread": False, "timeout": 30})
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    ping_after_idle = kwargs.pop("ping_after_idle", PING_AFTER_IDLE_SECONDS)
    clock = kwargs.pop("pool_clock", time.monotonic)
    engine = create_engine(url, **kwargs)
    if not kwargs.get("pool_pre_ping"):
        _ping_idle_connections(engine, ping_after_idle, clock)
    return engine


PING_AFTER_IDLE_SECONDS = 1.0
_RETURNED = "sealtrail.returned"  # connection record info: (DB-API connection id, monotonic time)


def _ping_idle_connections(engine: Engine, idle_seconds: float, clock) -> None:
    """Ping a pooled connection at checkout when it was idle ``idle_seconds`` or more."""
    dialect = engine.dialect

    @event.listens_for(engine, "checkin")
    def _returned(dbapi_conn, record):
        if dbapi_conn is not None:
            record.info[_RETURNED] = (id(dbapi_conn), clock())

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_conn, record, _proxy):
        returned = record.info.get(_RETURNED)
        if returned is None or returned[0] != id(dbapi_conn):
            return  # a connection just made: nothing to check
        if clock() - returned[1] < idle_seconds:
            return
        try:
            dialect.do_ping(dbapi_conn)
        except dialect.loaded_dbapi.Error as error:
            # The pool discards this connection and checks out a fresh one (SQLAlchemy's
            # pessimistic disconnect handling).
            raise exc.DisconnectionError(f"pooled connection failed its ping: {error}") from error


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """A session factory; the callers (web/ views, CLI commands, the worker) own the transactions."""
    return sessionmaker(bind=engine, expire_on_commit=False)


def insert_rows(session: Session, model: type, rows: list[dict]) -> list:
    """INSERT ``rows`` of ``model`` with one Core statement and return them as persistent, clean
    ORM objects (as if loaded), without the unit of work's flush machinery on a hot path.

    Every column must be given (the objects have no unloaded attributes); an autoincrement
    primary key left out is filled in from ``RETURNING``."""
    table = model.__table__
    (key,) = table.primary_key.columns
    if rows and key.name not in rows[0]:
        if len(rows) == 1:  # one row: a plain INSERT … RETURNING, not the executemany machinery
            rows[0][key.name] = session.connection().execute(_insert_of(table, returning=True), rows[0]).scalar_one()
        else:
            for row, new_id in zip(rows, session.connection().execute(_insert_of(table, returning=True), rows).scalars().all()):
                row[key.name] = new_id
    elif rows:
        session.connection().execute(_insert_of(table, returning=False), rows)
    return [clean_object(session, model, row) for row in rows]  # persistent and clean: nothing to flush


_INSERTS: dict[tuple, object] = {}


def _insert_of(table, *, returning: bool):
    """The INSERT of ``table`` (returning its key, in the order of the rows given), built once."""
    statement = _INSERTS.get((table, returning))
    if statement is None:
        statement = insert(table)
        if returning:
            (key,) = table.primary_key.columns
            statement = statement.returning(key, sort_by_parameter_order=True)
        _INSERTS[(table, returning)] = statement
    return statement


def is_postgres(session_or_engine) -> bool:
    """True when the bound database is PostgreSQL."""
    bind = session_or_engine.get_bind() if isinstance(session_or_engine, Session) else session_or_engine
    return bind.dialect.name == "postgresql"


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC timestamp on both dialects (SQLite keeps no zone: we add it back)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: pass an aware (UTC) datetime")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


def utcnow() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(timezone.utc)
