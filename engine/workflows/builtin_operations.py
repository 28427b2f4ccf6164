"""The operations every diagram may call, whatever the domain: business key, time, sub-process."""
from __future__ import annotations

from datetime import datetime, timezone

from engine.workflows.instances import start_instance
from engine.workflows.operations import OperationContext, OperationError, operation


@operation("set_business_key")
def set_business_key(ctx: OperationContext, *, key: str) -> dict:
    """Set the instance's business key (CAPA number, lot number…) shown in the inbox."""
    if not key or len(key) > 120:
        raise OperationError("business key must be 1–120 characters", field="key")
    inst = ctx.instance
    before = inst.business_key
    inst.business_key = key
    ctx.audit("workflow.business_key_set", "process_instance", inst.id,
              reason=f"set by service task {ctx.task_name}",
              before={"business_key": before}, after={"business_key": key})
    return {"business_key": key}


@operation("utc_now")
def utc_now(ctx: OperationContext) -> dict:
    """The current UTC time (server clock), e.g. to stamp a decision date into task data."""
    return {"utc": datetime.now(timezone.utc).isoformat()}


@operation("start_process")
def start_process_operation(ctx: OperationContext, *, process_id: str, data: dict | None = None,
                            business_key: str | None = None) -> dict:
    """Start another process (latest version) as the current actor, e.g. raise a CAPA."""
    child = start_instance(ctx.session, ctx.actor, process_id, data=data or {}, business_key=business_key)
    return {"instance_id": child.id, "process_id": process_id}
