"""Errors of backup and restore: each says what was refused and what to do."""
from __future__ import annotations


class BackupError(Exception):
    """A backup or restore could not be carried out."""


class RestoreRefused(BackupError):
    """The restore was refused before anything was written (non-empty target, bad manifest…)."""


class RestoreVerificationFailed(BackupError):
    """The data was restored but does not match the manifest: do not use that database."""

    def __init__(self, problems: list[str], location: str):
        self.problems = problems
        self.location = location
        super().__init__(f"restored database at {location} FAILED verification: "
                         + "; ".join(problems))
