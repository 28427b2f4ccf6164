"""Backup and verified restore (Annex 11 §7, 21 CFR 11.10(c), ISO 13485 §4.2.5).

A backup is a directory holding the data file (SQLite: a copy made with SQLite's online backup
API; PostgreSQL: ``pg_dump`` custom format) and ``manifest.json``: row counts per table, the
migration heads, the audit chain head (sequence and hash) and a signed checkpoint, all taken
from the same snapshot as the data file, and an Ed25519 signature over the manifest.

A restore goes into an EMPTY database only, then verifies automatically: the chain verifies,
its head equals the manifest's, the checkpoint matches, every table has the recorded row count.
"""
from engine.backup.errors import BackupError, RestoreRefused, RestoreVerificationFailed
from engine.backup.run import create_backup, restore_backup, verify_database

__all__ = ["BackupError", "RestoreRefused", "RestoreVerificationFailed", "create_backup",
           "restore_backup", "verify_database"]
