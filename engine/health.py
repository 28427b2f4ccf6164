"""Liveness and readiness checks, shared by ``/healthz``, ``/readyz`` and ``/api/v1/health``.

Readiness means the process can do useful work: the database answers and its schema is at the
migration heads shipped with this version (an app newer or older than its schema must not take
traffic: it would write rows the schema does not expect).
"""
from __future__ import annotations

import functools
import time
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version

from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from engine import migrate


@dataclass(frozen=True)
class Check:
    """The outcome of one readiness check."""

    name: str
    ok: bool
    detail: str
    duration_ms: float

    def as_dict(self) -> dict:
        return {"ok": self.ok, "detail": self.detail, "duration_ms": round(self.duration_ms, 1)}


@dataclass(frozen=True)
class Readiness:
    """All checks; ``ready`` only when every one passed."""

    checks: list[Check] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        return all(check.ok for check in self.checks)

    def as_dict(self) -> dict:
        return {
            "status": "ready" if self.ready else "unavailable",
            "checks": {check.name: check.as_dict() for check in self.checks},
        }


@functools.cache
def expected_heads() -> frozenset[str]:
    """The migration heads this version of the code expects (read once per process)."""
    return frozenset(migrate.alembic_script_heads())


def software_version() -> str:
    """The installed Sealtrail version."""
    try:
        return version("sealtrail")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "unknown"


def liveness() -> dict:
    """The process is up and answering (no external dependency is consulted)."""
    return {"status": "alive", "version": software_version()}


def check_readiness(db_engine: Engine) -> Readiness:
    """Is the database reachable, and is its schema at the heads this code expects?"""
    started = time.perf_counter()
    try:
        with db_engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            reachable = Check("database", True, f"{db_engine.dialect.name} reachable",
                              _ms(started))
            started = time.perf_counter()
            current = frozenset(MigrationContext.configure(conn).get_current_heads())
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        return Readiness([Check("database", False, f"unreachable: {reason}", _ms(started)),
                          Check("migrations", False, "not checked: database unreachable", 0.0)])
    expected = expected_heads()
    if current == expected:
        schema = Check("migrations", True, f"at head ({', '.join(sorted(current))})", _ms(started))
    elif not current:
        schema = Check("migrations", False, "database not initialised: run `sealtrail init`",
                       _ms(started))
    else:
        schema = Check("migrations", False,
                       f"schema at {', '.join(sorted(current))} but this version expects "
                       f"{', '.join(sorted(expected))}: run `sealtrail init` (or deploy the "
                       f"matching version)", _ms(started))
    return Readiness([reachable, schema])


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000
