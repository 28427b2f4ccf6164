"""SQLite: copies made with SQLite's online backup API (consistent while the app writes)."""
from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

from engine.backup.errors import BackupError, RestoreRefused
from engine.backup.state import database_state

DATA_FILE = "database.sqlite3"


def _path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up or restored")
    return Path(database)


def _copy(source: Path, target: Path) -> None:
    """Page-by-page copy under a read transaction: a consistent snapshot of ``source``."""
    with contextlib.closing(sqlite3.connect(source, timeout=30)) as src, \
            contextlib.closing(sqlite3.connect(target)) as dst:
        src.backup(dst)
        # A self-contained file: no -wal beside it (the app switches WAL back on when it opens it).
        dst.execute("PRAGMA journal_mode=DELETE")


def dump(url: str, directory: Path) -> tuple[Path, dict, dict]:
    """Copy the database into ``directory``; the manifest state is read from the copy itself."""
    source = _path(url)
    if not source.is_file():
        raise BackupError(f"no SQLite database at {source}")
    data_file = directory / DATA_FILE
    _copy(source, data_file)
    reader = create_engine(f"sqlite:///{data_file}")
    try:
        with reader.connect() as conn:
            state = database_state(conn)
            version = conn.exec_driver_sql("SELECT sqlite_version()").scalar_one()
    finally:
        reader.dispose()
    return data_file, state, {"format": "sqlite3 database (online backup API)",
                              "sqlite_version": version}


def existing_tables(path: Path) -> list[str]:
    """Tables in the SQLite file at ``path`` (none when it does not exist)."""
    if not path.exists() or path.stat().st_size == 0:
        return []
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return [row[0] for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]


def restore(data_file: Path, target_url: str, verify: Callable[[str], dict]) -> None:
    """Copy ``data_file`` to the target, verify the copy, then move it into place atomically.

    A copy that fails verification never replaces the (empty) target.
    """
    target = _path(target_url)
    present = existing_tables(target)
    if present:
        raise RestoreRefused(f"the target database {target} is not empty ({len(present)} tables, "
                             f"e.g. {', '.join(sorted(present)[:3])}): restore only into an "
                             "empty database")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(target.name + ".restoring")
    for leftover in (staging, Path(f"{staging}-wal"), Path(f"{staging}-shm")):
        leftover.unlink(missing_ok=True)
    try:
        _copy(data_file, staging)
        verify(f"sqlite:///{staging}")
        for leftover in (Path(f"{target}-wal"), Path(f"{target}-shm")):
            leftover.unlink(missing_ok=True)
        os.replace(staging, target)
    finally:
        for leftover in (staging, Path(f"{staging}-wal"), Path(f"{staging}-shm")):
            leftover.unlink(missing_ok=True)
