"""PostgreSQL: ``pg_dump`` custom format from an exported snapshot; ``pg_restore`` in one transaction."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

from engine.backup.errors import BackupError, RestoreRefused
from engine.backup.state import database_state, table_names
from engine.db import make_engine

DATA_FILE = "database.pgdump"


def _tool(name: str) -> str:
    found = shutil.which(name)
    if not found:
        raise BackupError(f"{name} not found on PATH: install the PostgreSQL client "
                          "(Debian: apt-get install postgresql-client) matching the server version")
    return found


def _libpq(url: str) -> tuple[str, dict]:
    """A libpq connection URI without the password, and the environment carrying it."""
    parsed = make_url(url)
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = parsed.password  # never on the command line (visible in ps)
    dsn = parsed.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    return dsn, env


def _run(args: list[str], env: dict, what: str) -> str:
    result = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BackupError(f"{what} failed (exit {result.returncode}): {result.stderr.strip()}")
    return result.stdout


def dump(url: str, directory: Path) -> tuple[Path, dict, dict]:
    """Dump with ``pg_dump --snapshot``: the manifest state is read in that very snapshot."""
    pg_dump = _tool("pg_dump")
    data_file = directory / DATA_FILE
    dsn, env = _libpq(url)
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            conn = conn.execution_options(isolation_level="REPEATABLE READ",
                                          postgresql_readonly=True)
            # The first statement begins the read-only transaction (ended when the connection
            # closes). Exported snapshot: pg_dump sees exactly what this transaction sees, so row
            # counts and the audit head in the manifest describe the dump byte for byte.
            snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar_one()
            state = database_state(conn)
            server_version = conn.execute(text("SHOW server_version")).scalar_one()
            _run([pg_dump, "--format=custom", "--no-password", f"--snapshot={snapshot}",
                  f"--file={data_file}", f"--dbname={dsn}"], env, "pg_dump")
    finally:
        engine.dispose()
    version = _run([pg_dump, "--version"], env, "pg_dump --version").strip()
    return data_file, state, {"format": "pg_dump custom", "pg_dump_version": version,
                              "server_version": server_version}


def restore(data_file: Path, target_url: str) -> None:
    """``pg_restore`` into the empty target, all or nothing (``--single-transaction``)."""
    pg_restore = _tool("pg_restore")
    engine = make_engine(target_url)
    try:
        with engine.connect() as conn:
            present = table_names(conn)
    finally:
        engine.dispose()
    if present:
        raise RestoreRefused(f"the target database {make_url(target_url).database} is not empty "
                             f"({len(present)} tables, e.g. {', '.join(present[:3])}): restore "
                             "only into an empty database (createdb a new one)")
    dsn, env = _libpq(target_url)
    _run([pg_restore, "--no-password", "--exit-on-error", "--single-transaction", "--no-owner",
          f"--dbname={dsn}", str(data_file)], env, "pg_restore")
