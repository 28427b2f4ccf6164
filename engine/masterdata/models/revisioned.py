"""The revision life cycle shared by every versioned master-data object.

Each versioned object is a master row (a stable ``code``) plus revision rows carrying the
content. States: ``draft → in_review → released → obsolete`` (``in_review → draft`` returns a
revision for rework). A released revision is the effective one; at most one per object (a
partial unique index), and its content never changes again: the guard below refuses it in the
model layer, and on PostgreSQL triggers of migration 0001 refuse it for raw SQL too.

Child rows (BOM lines, operations, parameters…) belong to one revision and are editable only
while that revision is a draft.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, event, inspect
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.db import UTCDateTime, utcnow
from engine.errors import RevisionRuleViolation

STATES = ("draft", "in_review", "released", "obsolete")
STATE_CHECK = "state IN ('draft', 'in_review', 'released', 'obsolete')"
RELEASED_WHERE = "state = 'released'"

# Columns a life-cycle transition may change; everything else is content.
_TRANSITIONS: dict[str, dict[str, frozenset[str]]] = {
    "draft": {"in_review": frozenset({"state", "submitted_at", "submitted_by_id"})},
    "in_review": {
        "draft": frozenset({"state", "submitted_at", "submitted_by_id"}),
        "released": frozenset({"state", "effective_from", "released_at", "released_by_id"}),
    },
    "released": {"obsolete": frozenset({"state", "obsoleted_at", "obsoleted_by_id"})},
    "obsolete": {},
}


class RevisionMixin:
    """Columns of every ``*_revisions`` table. ``master`` is the object the revision belongs to."""

    revision_kind: str  # "product", "bom", "routing", "document"

    label: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), default="draft")
    change_summary: Mapped[str] = mapped_column(Text, default="")
    change_ref: Mapped[str | None] = mapped_column(String(64))  # e.g. the ECO number
    effective_from: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    released_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    obsoleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    obsoleted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    @property
    def is_effective(self) -> bool:
        return self.state == "released"

    @property
    def is_editable(self) -> bool:
        return self.state == "draft"

    def describe(self) -> str:
        """``bom PUMP-SET rev B`` — how errors and the audit trail name this revision."""
        master = getattr(self, "master", None)
        code = master.code if master is not None else "?"
        return f"{self.revision_kind} {code} rev {self.label}"


class RevisionChild:
    """A row that belongs to one revision; editable only while that revision is a draft."""

    def owning_revision(self) -> RevisionMixin | None:  # pragma: no cover - overridden
        raise NotImplementedError


def committed_state(revision: RevisionMixin) -> str | None:
    """The state as last flushed (None for a revision not yet in the database)."""
    insp = inspect(revision)
    if insp.pending or insp.transient:
        return None
    hist = insp.attrs.state.history
    if hist.deleted:
        return hist.deleted[0]
    return revision.state


def _changed_columns(obj) -> set[str]:
    insp = inspect(obj)
    changed = set()
    for attr in insp.mapper.column_attrs:
        hist = insp.attrs[attr.key].history
        if hist.added or hist.deleted:
            if hist.deleted and hist.added and hist.deleted[0] == hist.added[0]:
                continue
            changed.add(attr.key)
    return changed


def _check_revision_update(rev: RevisionMixin) -> None:
    before = committed_state(rev)
    changed = _changed_columns(rev)
    if before == "draft" and "state" not in changed:
        return
    if not changed:
        return
    after = rev.state
    if after == before:
        content = sorted(changed)
        raise RevisionRuleViolation(
            f"{rev.describe()} is {before}: its content cannot be edited "
            f"(changed: {', '.join(content)}); create a new draft revision instead",
            field=content[0], obj=rev.describe(),
        )
    allowed = _TRANSITIONS.get(before or "draft", {}).get(after)
    if allowed is None:
        raise RevisionRuleViolation(
            f"{rev.describe()}: state {before} → {after} is not allowed", field="state", obj=rev.describe()
        )
    extra = changed - allowed
    if before != "draft" and extra:
        raise RevisionRuleViolation(
            f"{rev.describe()} is {before}: its content cannot be edited "
            f"(changed: {', '.join(sorted(extra))})",
            field=sorted(extra)[0], obj=rev.describe(),
        )


def _check_child(child: RevisionChild, verb: str) -> None:
    rev = child.owning_revision()
    if rev is None:
        return
    state = committed_state(rev)
    if state is None:
        state = rev.state or "draft"
    if state != "draft":
        raise RevisionRuleViolation(
            f"{rev.describe()} is {state}: cannot {verb} its {type(child).__name__} rows; "
            "create a new draft revision instead",
            field=type(child).__tablename__, obj=rev.describe(),
        )


@event.listens_for(Session, "before_flush")
def _guard_revisions(session: Session, _ctx, _instances) -> None:
    """Refuse edits of non-draft revisions and their rows before anything reaches the database."""
    with session.no_autoflush:
        for obj in session.new:
            if isinstance(obj, RevisionMixin) and obj.state not in (None, "draft"):
                raise RevisionRuleViolation(
                    f"{obj.describe()}: a new revision starts as draft, not {obj.state}",
                    field="state", obj=obj.describe(),
                )
            if isinstance(obj, RevisionChild):
                _check_child(obj, "add")
        for obj in session.dirty:
            if isinstance(obj, RevisionMixin) and session.is_modified(obj, include_collections=False):
                _check_revision_update(obj)
            elif isinstance(obj, RevisionChild) and session.is_modified(obj, include_collections=False):
                _check_child(obj, "edit")
        for obj in session.deleted:
            if isinstance(obj, RevisionMixin):
                state = committed_state(obj)
                if state not in (None, "draft"):
                    raise RevisionRuleViolation(
                        f"{obj.describe()} is {state}: only drafts can be deleted",
                        field="state", obj=obj.describe(),
                    )
            elif isinstance(obj, RevisionChild):
                _check_child(obj, "delete")


def audit_id(revision: RevisionMixin) -> str:
    """How the audit trail names a revision: ``<code>/<label>``."""
    return f"{revision.master.code}/{revision.label}"


def object_type(revision: RevisionMixin) -> str:
    """The audit trail's object type of a revision: ``<kind>_revision``."""
    return f"{revision.revision_kind}_revision"
