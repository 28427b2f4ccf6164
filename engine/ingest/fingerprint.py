"""Payload fingerprints: SHA-256 over the RFC 8785 canonical JSON of a payload."""
from __future__ import annotations

import hashlib

import rfc8785


def fingerprint(payload) -> str:
    """Hex SHA-256 of ``payload``'s canonical JSON: equal for equal payloads, whatever the spacing or key order."""
    return hashlib.sha256(rfc8785.dumps(payload)).hexdigest()
