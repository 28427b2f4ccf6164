"""The audit side of restore verification: the chain verifies and matches the signed checkpoint."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.engine import Connection

from audit.models import AuditCheckpoint, AuditEntry
from audit.verify import verify_chain


def verify_audit(conn: Connection, manifest: dict, public_key=None) -> dict:
    """Verify the restored chain (checkpoint signatures with ``public_key``) and the manifest's
    checkpoint against it."""
    problems: list[str] = []
    result = verify_chain(conn, public_key=public_key)
    chain = {"ok": result.ok, "summary": result.summary(), "entries": result.count,
             "checkpoints_verified": result.checkpoints_verified, "notes": list(result.notes)}
    if not result.ok:
        problems.append(f"audit chain does not verify: {result.summary()}")
    checkpoint = manifest.get("checkpoint")
    checked = None
    if checkpoint:
        stored = conn.execute(select(AuditEntry.hash).where(AuditEntry.seq == checkpoint["seq"])
                              ).scalar_one_or_none()
        row = conn.execute(select(AuditCheckpoint.head_hash, AuditCheckpoint.signature).where(
            AuditCheckpoint.seq == checkpoint["seq"])).first()
        matches = (stored == checkpoint["head_hash"] and row is not None
                   and tuple(row) == (checkpoint["head_hash"], checkpoint["signature"]))
        checked = {"seq": checkpoint["seq"], "matches": matches}
        if not matches:
            problems.append(f"the signed checkpoint at seq {checkpoint['seq']} in the manifest does "
                            "not match the restored chain and checkpoints")
    return {"problems": problems, "chain": chain, "checkpoint": checked}
