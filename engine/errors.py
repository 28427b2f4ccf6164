"""Typed domain errors. web/ maps them to HTTP in one place (pages and RFC 9457 problems)."""
from __future__ import annotations


class SealtrailError(Exception):
    """Base of every domain error; ``status`` is the HTTP status web/ answers with."""

    status = 400
    title = "Request refused"

    def __init__(self, message: str, *, field: str | None = None, obj: str | None = None,
                 details: list[dict] | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        self.obj = obj
        self.details = details or ([{"field": field, "message": message}] if field else [])


class NotFound(SealtrailError):
    status = 404
    title = "Not found"


class Forbidden(SealtrailError):
    status = 403
    title = "Forbidden"


class Conflict(SealtrailError):
    """The object changed underneath the caller (raced completion, stale version)."""

    status = 409
    title = "Conflict"


class ValidationFailed(SealtrailError):
    """Input is wrong; ``details`` lists ``{"field": ..., "message": ...}`` per problem."""

    status = 422
    title = "Validation failed"


class RuleViolation(SealtrailError):
    """A business rule refuses the action as the records stand now (a held lot cannot be released,
    an open exception blocks release). Not a conflict: reloading changes nothing; ``details`` lists
    every blocking reason as ``{"field": ..., "message": ...}``."""

    status = 422
    title = "Refused by a rule"


class InterlockRefused(RuleViolation):
    """A shop-floor interlock blocks the action; ``blocking`` lists every reason at once.

    Each reason is ``{"code", "field", "record", "message"}``: ``record`` names what blocks
    (``LT-01``, ``SOP-001 rev B``, a component lot) so the operator knows what to fix.
    """

    title = "Interlock refused"

    def __init__(self, message: str, *, blocking: list[dict], obj: str | None = None):
        super().__init__(message, field=blocking[0]["field"] if blocking else None, obj=obj,
                         details=[{"field": b["field"], "message": b["message"]} for b in blocking])
        self.blocking = blocking


class RevisionRuleViolation(ValidationFailed):
    """A master-data revision rule was broken (edit of a released revision, second effective…)."""


class UnitError(ValidationFailed):
    """A quantity's unit is unknown or not convertible to the item's unit."""


class UnitSyntaxError(UnitError):
    """A unit string is not a plain unit expression (numbers, brackets, operators, huge powers)."""


class CycleError(ValidationFailed):
    """A BOM would contain itself."""


class Unauthenticated(SealtrailError):
    """No valid credentials (missing, unknown, revoked or expired API token)."""

    status = 401
    title = "Unauthenticated"


class PayloadMismatch(SealtrailError):
    """An idempotency key or event id was reused with a different payload."""

    status = 422
    title = "Idempotency key reused with a different payload"


class BadRequest(SealtrailError):
    """The request cannot be processed as sent (e.g. neither Idempotency-Key nor event id)."""

    status = 400
    title = "Bad request"


class TaskNotReady(Conflict):
    """The task was completed, cancelled or moved on by someone else: reload and retry."""


class WorkflowFailed(SealtrailError):
    """Running the workflow forward failed (script, condition, service operation); nothing was saved."""

    status = 422
    title = "Workflow step failed"


class DeploymentRefused(ValidationFailed):
    """A BPMN file failed validation; ``details`` lists file, element id, line and reason."""
