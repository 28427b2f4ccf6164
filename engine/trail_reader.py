"""Reading the audit trail (for the JSON API and reports); writing goes through audit.chain."""
from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from audit.checkpoints import load_signing_key
from audit.models import AuditEntry
from audit.verify import verify_chain
from engine.workflows.models import WorkflowTask


def list_entries(session: Session, *, object_type: str | None = None, object_id: str | None = None,
                 action: str | None = None, actor_id: str | None = None, after_seq: int = 0,
                 limit: int = 100) -> list[AuditEntry]:
    """Entries in chain order after ``after_seq`` (keyset paging), filtered."""
    query = select(AuditEntry).where(AuditEntry.seq > after_seq).order_by(AuditEntry.seq).limit(limit)
    if object_type:
        query = query.where(AuditEntry.object_type == object_type)
    if object_id:
        query = query.where(AuditEntry.object_id == object_id)
    if action:
        query = query.where(AuditEntry.action == action)
    if actor_id:
        query = query.where(AuditEntry.actor_id == actor_id)
    return list(session.scalars(query))


def entry_view(entry: AuditEntry) -> dict:
    """An entry as plain data, its JSON columns decoded."""
    def decoded(text):
        return json.loads(text) if text is not None else None

    return {"seq": entry.seq, "event_id": entry.event_id, "recorded_at": entry.recorded_at,
            "actor": {"kind": entry.actor_kind, "id": entry.actor_id, "name": entry.actor_name},
            "action": entry.action, "object_type": entry.object_type, "object_id": entry.object_id,
            "reason": entry.reason, "before": decoded(entry.before), "after": decoded(entry.after),
            "payload": decoded(entry.payload), "prev_hash": entry.prev_hash, "hash": entry.hash}


def verify(session: Session, *, key_path=None) -> dict:
    """Verify the chain (signatures too when the checkpoint key is at ``key_path``) as plain data."""

    key = load_signing_key(key_path, create=False) if key_path and Path(key_path).exists() else None
    result = verify_chain(session, public_key=key)
    return {"ok": result.ok, "count": result.count, "first_seq": result.first_seq,
            "last_seq": result.last_seq, "head_hash": result.head_hash,
            "checkpoints_verified": result.checkpoints_verified,
            "last_checkpoint_seq": result.last_checkpoint_seq, "signatures_checked": result.signatures_checked,
            "problems": [{"seq": p.seq, "kind": p.kind, "detail": p.detail} for p in result.problems],
            "notes": [n if isinstance(n, (str, int, float, dict, list)) else str(n) for n in result.notes]}


def signed_record_titles(session: Session, signatures) -> dict[str, dict]:
    """What each signature signed, by signature id, in human terms: ``{"title", "key", "lane"}``.

    A task signature names the task (its title, bilingual as the diagram wrote it), the business key
    (lot, change or deviation number) and the lane (role) it was signed in; other records their id.
    """
    rows = list(signatures)
    task_ids = [s.signature_id for s in rows if s.record_type == "workflow_task"]
    tasks = {t.signature_id: t for t in session.scalars(
        select(WorkflowTask).where(WorkflowTask.signature_id.in_(task_ids)))} if task_ids else {}
    out = {}
    for s in rows:
        task = tasks.get(s.signature_id)
        if task is not None:
            out[s.signature_id] = {"title": task.title, "key": task.business_key or "", "lane": task.lane or ""}
        elif s.record_type == "process_version" and ":v" in s.record_id:
            process, version = s.record_id.rsplit(":v", 1)
            out[s.signature_id] = {"title": process, "key": f"v{version}", "lane": ""}
        else:
            out[s.signature_id] = {"title": s.record_id, "key": "", "lane": ""}
    return out
