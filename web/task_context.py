"""Designed task context: what a kind of context offers the form (choices, first rows).

The panels themselves are Jinja macros in ``templates/tasks/_context.html``, one per context kind;
a context key without a macro falls back to the generic value table.
"""
from __future__ import annotations


def _review(context: dict) -> dict | None:
    review = context.get("release_review")
    return review if isinstance(review, dict) else None


def choices(context: dict) -> dict[str, list[tuple[str, str]]]:
    """Form paths whose values are picked from the context, with ``(value, label)`` options."""
    review = _review(context)
    if review is None:
        return {}
    # Labelled by the message (what tells exceptions apart; a select shows its start), not the key.
    return {"exception_dispositions.key": [(e["key"], e.get("message") or e["key"])
                                           for e in review.get("exceptions") or [] if e.get("key")]}


def first_rows(context: dict) -> dict:
    """Initial form values drawn from the context: one disposition row per review exception."""
    review = _review(context)
    if review is None or not review.get("exceptions"):
        return {}
    return {"exception_dispositions": [{"key": e["key"]} for e in review["exceptions"] if e.get("key")]}
