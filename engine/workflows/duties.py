"""Segregation of duties on review and approval tasks: author ≠ reviewer ≠ approver.

A diagram declares the rule on the task (``spiffworkflow:property separationOfDuties``: a comma
list of ``initiator`` and the ids of earlier user tasks whose completer may not complete this
one); ``engine.workflows.tasks.complete_task`` enforces it. Which tasks are reviews or approvals
is decided here, once: their signature says so (reviewed, approved, rejected, released,
verified), or the meaning follows from the entries (``signatureMeaningExpression``: an
approve/reject decision). The linter warns when such a task declares no rule; a task where no
segregation applies (the requester acknowledging an outcome) says so with ``none``.
"""
from __future__ import annotations

REVIEW_MEANINGS = frozenset({"reviewed", "approved", "rejected", "released", "verified"})


NO_SEGREGATION = "none"


def separation_rules(props: dict) -> list[str]:
    """The task's declared rule: ``initiator`` and/or earlier task ids (empty when none)."""
    return [r.strip() for r in (props.get("separationOfDuties") or "").split(",")
            if r.strip() and r.strip() != NO_SEGREGATION]


def declares_separation(props: dict) -> bool:
    """True when the task declares its rule (``none`` included)."""
    return bool((props.get("separationOfDuties") or "").strip())


def is_review_task(props: dict) -> bool:
    """True when a task with these BPMN properties reviews or approves someone else's work."""
    return props.get("signatureMeaning") in REVIEW_MEANINGS or bool(props.get("signatureMeaningExpression"))
