"""A private, throw-away PostgreSQL server for tests that stop and start the database.

The shared server other test runs use is never touched: this one lives in a temporary
directory, listens on a free port and belongs to the test. Needs the server binaries
(``/usr/lib/postgresql/*/bin``) and, when run as root, the ``postgres`` OS user (initdb refuses
root). ``PrivatePostgres.available()`` says why not when it cannot run.
"""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path


def _bin_dir() -> Path | None:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    for candidate in candidates:
        if (Path(candidate) / "initdb").exists() and (Path(candidate) / "pg_ctl").exists():
            return Path(candidate)
    found = shutil.which("initdb")
    return Path(found).parent if found and shutil.which("pg_ctl") else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PrivatePostgres:
    """initdb + pg_ctl on a free port; ``stop()`` really stops the server, ``start()`` restarts it."""

    def __init__(self):
        self.bin = _bin_dir()
        self.port = _free_port()
        self.root = Path(tempfile.mkdtemp(prefix="sealtrail-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.as_postgres = os.geteuid() == 0

    @staticmethod
    def available() -> str | None:
        """None when a private server can be run here, else the reason it cannot."""
        if _bin_dir() is None:
            return "PostgreSQL server binaries (initdb, pg_ctl) not installed"
        if os.geteuid() == 0:
            try:
                pwd.getpwnam("postgres")
            except KeyError:
                return "running as root without a 'postgres' OS user (initdb refuses root)"
            if not shutil.which("runuser"):
                return "runuser not available to drop root privileges for initdb"
        return None

    def _cmd(self, *args: str) -> list[str]:
        return (["runuser", "-u", "postgres", "--"] if self.as_postgres else []) + list(args)

    def _run(self, *args: str, timeout: int = 60) -> None:
        result = subprocess.run(self._cmd(*args), capture_output=True, text=True, timeout=timeout,
                                check=False)
        if result.returncode != 0:
            log = self.log.read_text() if self.log.exists() else ""
            raise RuntimeError(f"{args[0]} failed: {result.stderr.strip()} {log[-2000:]}")

    def init(self) -> PrivatePostgres:
        if self.as_postgres:
            shutil.chown(self.root, "postgres", "postgres")
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres",
                  "--no-sync", "-E", "UTF8", "--locale=C")
        return self.start()

    def start(self) -> PrivatePostgres:
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} -c fsync=off "
                   "-c max_connections=100")
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o",
                  options, "-w", "-t", "30", "start")
        return self

    def stop(self, mode: str = "immediate") -> None:
        """Stop the server (``immediate``: like a crash, no shutdown checkpoint)."""
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def destroy(self) -> None:
        if (self.data / "postmaster.pid").exists():
            try:
                self.stop()
            except (RuntimeError, subprocess.TimeoutExpired):
                pass
        shutil.rmtree(self.root, ignore_errors=True)
