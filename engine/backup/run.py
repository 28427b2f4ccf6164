"""Taking a backup and restoring one: the dialect-independent flow."""
from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

from sqlalchemy.engine import make_url

from engine.backup import manifest as mf
from engine.backup import postgres, sqlite
from engine.backup.errors import BackupError, RestoreRefused, RestoreVerificationFailed
from engine.backup.state import compare, database_state
from engine.backup.verify import verify_audit
from engine.db import make_engine
from engine.health import software_version


def _dialect(url: str) -> str:
    name = make_url(url).get_backend_name()
    if name not in ("sqlite", "postgresql"):
        raise BackupError(f"unsupported database {name!r}: Sealtrail backs up SQLite and PostgreSQL")
    return name


def _software_version() -> str:
    return software_version()


def create_backup(url: str, output_dir: Path, private_key, *, checkpoint=None) -> Path:
    """Back up the database at ``url`` into a new directory below ``output_dir``; return it.

    ``checkpoint(url) -> dict | None`` (optional) commits a signed audit checkpoint at the head
    and returns it for the manifest.
    The directory appears under its final name only when the data file and the signed manifest
    are complete, so a crash never leaves something that looks like a usable backup.
    """
    dialect = _dialect(url)
    stamp = dt.datetime.now(dt.timezone.utc)
    parsed = make_url(url)
    db_name = Path(parsed.database or "memory").stem if dialect == "sqlite" else parsed.database
    final = Path(output_dir) / f"sealtrail-{db_name}-{stamp:%Y%m%dT%H%M%SZ}"
    if final.exists():
        raise BackupError(f"{final} already exists")
    partial = final.with_name(final.name + ".partial")
    partial.parent.mkdir(parents=True, exist_ok=True)
    partial.mkdir(mode=0o700)  # a backup holds password hashes and encrypted TOTP secrets
    try:
        # The checkpoint is committed first, so the snapshot below contains it.
        signed_checkpoint = checkpoint(url) if checkpoint else None
        if dialect == "sqlite":
            data_file, state, extra = sqlite.dump(url, partial)
        else:
            data_file, state, extra = postgres.dump(url, partial)
        manifest = {
            "format": mf.FORMAT,
            "created_at": stamp.isoformat(timespec="seconds").replace("+00:00", "Z"),
            "software_version": _software_version(),
            "dialect": dialect,
            "source": parsed.set(password=None, username=None).render_as_string(),
            "data_file": {"name": data_file.name, "bytes": data_file.stat().st_size,
                          "sha256": mf.file_sha256(data_file)} | extra,
            **state,
            "checkpoint": signed_checkpoint,
        }
        mf.write(partial, mf.sign(manifest, private_key))
        _fsync_dir(partial)
        os.replace(partial, final)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return final


def _fsync_dir(path: Path) -> None:
    for child in path.iterdir():
        child.chmod(0o600)
        with child.open("rb") as fh:
            os.fsync(fh.fileno())


def restore_backup(backup_dir: Path, target_url: str, trusted_public_key) -> dict:
    """Restore ``backup_dir`` into the EMPTY database at ``target_url`` and verify it.

    Refuses (RestoreRefused, nothing written) a non-empty target, another dialect, an altered
    manifest or data file. Raises RestoreVerificationFailed if the restored data does not match
    the manifest. Returns the verification report.
    """
    backup_dir = Path(backup_dir)
    manifest = mf.read(backup_dir)
    mf.check_signature(manifest, trusted_public_key)
    data_file = backup_dir / manifest["data_file"]["name"]
    if not data_file.is_file():
        raise RestoreRefused(f"data file {data_file.name} is missing from {backup_dir}")
    if mf.file_sha256(data_file) != manifest["data_file"]["sha256"]:
        raise RestoreRefused(f"{data_file.name} does not match the SHA-256 in the manifest: "
                             "the backup is damaged or was altered")
    dialect = _dialect(target_url)
    if dialect != manifest["dialect"]:
        raise RestoreRefused(f"this is a {manifest['dialect']} backup; the target is {dialect}")
    verified = {}

    def check(url: str) -> None:
        verified.update(_verify_or_raise(url, manifest, trusted_public_key))

    if dialect == "sqlite":
        sqlite.restore(data_file, target_url, check)
    else:
        postgres.restore(data_file, target_url)
        check(target_url)
    return verified


def _verify_or_raise(url: str, manifest: dict, public_key) -> dict:
    report = verify_database(url, manifest, public_key)
    if report["problems"]:
        raise RestoreVerificationFailed(report["problems"], make_url(url).render_as_string())
    return report


def verify_database(url: str, manifest: dict, public_key=None) -> dict:
    """Compare the database at ``url`` with ``manifest`` and verify its audit chain (checkpoint
    signatures too, with ``public_key``)."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            state = database_state(conn)
            problems = compare(manifest, state)
            audit = verify_audit(conn, manifest, public_key)
    finally:
        engine.dispose()
    problems += audit["problems"]
    return {
        "ok": not problems,
        "problems": problems,
        "tables": len(state["row_counts"]),
        "rows": sum(state["row_counts"].values()),
        "audit_head": state["audit_head"],
        "chain": audit["chain"],
        "checkpoint": audit["checkpoint"],
    }
