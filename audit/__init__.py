"""Sealtrail audit: hash chain, signed checkpoints, Part 11 e-signatures, verification.

Depends on nothing else of Sealtrail: it takes a SQLAlchemy session and plain data.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    """Who did something: a signed-in user, an API client or the system itself."""

    kind: str  # "user" | "api" | "system"
    id: str
    name: str  # printed name (Part 11 §11.50) or client name

    def as_dict(self) -> dict:
        return {"kind": self.kind, "id": self.id, "name": self.name}


SYSTEM = Actor(kind="system", id="system", name="Sealtrail")

__all__ = ["Actor", "SYSTEM"]
