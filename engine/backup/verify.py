"""The audit side of restore verification: the chain verifies and matches the signed checkpoint."""
from __future__ import annotations

from sqlalchemy.engine import Connection


def verify_audit(conn: Connection, manifest: dict) -> dict:
    """Verify the restored chain with audit.verify and check the manifest's checkpoint on it."""
    from audit.verify import verify_chain

    problems: list[str] = []
    result = verify_chain(conn)
    chain = {"ok": bool(result.ok), "summary": str(result)}
    if not result.ok:
        problems.append(f"audit chain does not verify: {result}")
    checkpoint = manifest.get("checkpoint")
    checked = None
    if checkpoint:
        from sqlalchemy import select

        from audit.models import AuditEntry

        stored = conn.execute(select(AuditEntry.hash).where(AuditEntry.seq == checkpoint["seq"])
                              ).scalar_one_or_none()
        checked = {"seq": checkpoint["seq"], "matches": stored == checkpoint["head_hash"]}
        if stored != checkpoint["head_hash"]:
            problems.append(f"checkpoint at seq {checkpoint['seq']} does not match the restored "
                            "chain")
    return {"problems": problems, "chain": chain, "checkpoint": checked}
